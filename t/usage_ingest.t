# Usage ingest, fed straight into the stream, in both entry formats
# (one record per entry, and the module's groups): every text reaches its
# usage_events column exactly as sent (quotes, backslashes, commas,
# braces, newlines, non-ASCII, the word NULL), empty, absent or invalid
# values are NULL, numbers, booleans, addresses and times are converted,
# a request id seen before keeps its first row, and a record PostgreSQL
# refuses is logged and acknowledged without holding back the others.
use strict;
use warnings;
use Test::More;
use Encode qw(encode_utf8);
use Sluice::Test;

my $S = start_stack(only => 'pg,redis,controld');
my $LOG = "$S->{dir}/log/controld.log";
my $WAIT = 20;

# stream field => usage_events column, for the text fields
my %TEXT = (key => 'key_id', user => 'user_name', project => 'project_name',
            env => 'environment', dialect => 'dialect', endpoint => 'endpoint',
            group => 'model_group', provider => 'provider', model => 'model',
            target => 'target');
my @ORDER = qw(v ts rid key user project env ip dialect group provider
               model target status stream in out latency_ms ttfb_ms attempts
               endpoint);

# (characters, as the admin API would store them)
my @NASTY = (
    'say "hi"', 'back\\slash', 'ends with \\', '\\', '"', '""', "it's",
    "''", "\\'", "E'\\\\'", 'a,b', ',', '{braces}', '{', '}', '{}',
    '{"x":[1,2],"y":null}', "line1\nline2\r\n", "tab\there", 'NULL', 'null',
    ' ', ' padded ', 'Zo' . chr(0xeb) . ' ' . chr(0x540d) . chr(0x524d)
    . ' ' . chr(0x1f680), '$1', '%s%n', "x'); DROP TABLE usage_events; --",
    '\\x41', '\\047', '\\N', '\\\\"\\"', 'mixed ,{"\\\'}\n' . chr(0xe9),
);

# a complete record, as the module sends it: characters are sent as
# UTF-8, a scalar ref's bytes as they are; undef drops a field
sub record {
    my (%over) = @_;
    my %f = (v => 1, ts => '1700000000123', key => 'a1b2c3d4e5f6',
             user => 'alice', project => 'apollo', env => 'dev',
             ip => '127.0.0.1', dialect => 'chat', group => 'fast',
             provider => 'mock', model => 'mock-model-1', target => '7',
             status => '200', stream => '1', in => '12', out => '6',
             latency_ms => '1.5', ttfb_ms => '0.25', attempts => '1',
             endpoint => '/v1/chat/completions', %over);
    return map { !defined $f{$_} ? ()
                 : ref $f{$_} ? ($_, ${ $f{$_} }) : ($_, encode_utf8($f{$_})) }
           @ORDER;
}

# format 1: one entry per record; format 2: records gathered three to
# an entry, "<length>:<bytes>" each value in CONTRACTS.md order (an
# absent value is empty); returns the entry's id when one was added
my $FORMAT = 1;
my @GROUP;

sub xadd {
    my (@fields) = @_;
    return redis_cmd('XADD', 'sluice:usage', '*', @fields) if $FORMAT == 1;
    push @GROUP, {@fields};
    return @GROUP >= 3 ? flush_group() : undef;
}

sub group_payload {
    return join '', map {
        my $f = $_;
        join '', map { my $v = $f->{$_} // ''; length($v) . ":$v" }
                 @ORDER[1 .. $#ORDER];
    } @_;
}

sub flush_group {
    return undef unless @GROUP;
    my $n = @GROUP;
    my $payload = group_payload(splice @GROUP);
    return redis_cmd('XADD', 'sluice:usage', '*', 'v', '2', 'n', $n,
                     'r', $payload);
}

sub rows {
    my (@rids) = @_;
    my %want = map { $_ => 1 } @rids;
    my %got;
    for my $r (psql_hashes("SELECT *, (extract(epoch FROM ts) * 1000)::bigint
                            AS ts_ms FROM usage_events")) {
        $got{ $r->{request_id} } = $r if $want{ $r->{request_id} };
    }
    return \%got;
}

sub land {
    my ($name, @rids) = @_;
    my $got = {};
    wait_until(sub { $got = rows(@rids); keys %$got == @rids }, $WAIT, 0.2);
    is(scalar keys %$got, scalar @rids,
       "$name: a row for each of the " . @rids . " records")
        or diag(`tail -n 20 $LOG`);
    return $got;
}

sub pending {
    my $p = eval { redis_cmd('XPENDING', 'sluice:usage', 'sluice-ingest') };
    return ref $p eq 'ARRAY' ? $p->[0] : -1;
}

# the largest batch ingest inserted at once, from its debug log
sub largest_batch {
    open(my $fh, '<', $LOG) or return 0;
    my $max = 0;
    for (<$fh>) {
        $max = $1 if /inserted \d+ of (\d+) rows/ && $1 > $max;
    }
    return $max;
}

my $n = 0;
sub rid { return sprintf('%s%08x', $_[0], ++$n) }

for my $round (1 .. 4) {
    $FORMAT = $round <= 2 ? 1 : 2;
    my $r = "round $round, format $FORMAT";
    my (%text, %rec, @rids);

    # rounds 1 and 3 queue everything while controld is away, so that it
    # comes back in one big batch; 2 and 4 send to a running controld
    stop_part('controld') if $round % 2;

    for my $i (0 .. $#NASTY) {
        my $id = rid('7e57');
        # every text column gets the value, each with its own prefix
        my %f = map { $_ => "$_=$NASTY[$i]" } keys %TEXT;
        $f{user} = $NASTY[$i];
        xadd(record(rid => $id, %f));
        $text{$id} = \%f;
        push @rids, $id;
        # filler between them: elements before and after each
        my $fill = rid('f111');
        xadd(record(rid => $fill, user => "filler $i"));
        push @rids, $fill;
    }

    # a request id that needs escaping too
    my $odd = "rid \"q\" \\ {a,b} ' " . chr(0xe9) . " $round";
    xadd(record(rid => $odd, user => 'odd rid'));
    push @rids, $odd;

    # NULL against empty and absent
    my %nul = (empty => rid('e0'), absent => rid('ab'), bad => rid('bad'),
               zero => rid('0'));
    xadd(record(rid => $nul{empty}, map { $_ => '' } keys %TEXT,
                qw(ip status in out latency_ms ttfb_ms attempts stream)));
    my $absent_id = xadd('v', 1, 'rid', $nul{absent}) // flush_group();
    my $bad_id = xadd(record(rid => $nul{bad}, user => \"\xff\xfe",
                project => \"a\xc0\xafb", env => \"\xed\xa0\x80",
                ip => 'not-an-ip', status => '99999999999', in => '1.5',
                out => 'abc', latency_ms => 'inf', ttfb_ms => '0x10',
                attempts => '-', ts => 'yesterday', stream => 'yes'))
                 // flush_group();
    xadd(record(rid => $nul{zero}, user => '0', ip => '::1', status => '0',
                in => '-5', out => '9000000000', latency_ms => '1e3',
                ttfb_ms => '0', attempts => '0', ts => '1700000000123.5',
                stream => '0'));
    push @rids, values %nul;
    flush_group();

    start_part('controld') if $round % 2;
    my $got = land($r, @rids);
    cmp_ok(largest_batch(), '>=', 2 * @NASTY, "$r: in one batch")
        if $round % 2;
    # the batch went in with COPY, the cheap way (its connection's last
    # statement), not through the INSERT kept for duplicates
    my @last = psql("SELECT left(query, 23) FROM pg_stat_activity
                     WHERE pid <> pg_backend_pid() AND query LIKE 'COPY%'");
    is($last[0][0] // '', 'COPY usage_events (requ', "$r: inserted with COPY")
        or diag(explain([psql("SELECT application_name, state, left(query, 60) FROM pg_stat_activity")]));

    my ($bad, $ok) = (0, 0);
    for my $id (keys %text) {
        my $row = $got->{$id} or next;
        for my $f (sort keys %TEXT) {
            my $want = $text{$id}{$f};
            if (defined $row->{ $TEXT{$f} } && $row->{ $TEXT{$f} } eq $want) {
                $ok++;
                next;
            }
            $bad++;
            diag("$r: $TEXT{$f} is "
                 . explain($row->{ $TEXT{$f} }) . ", sent " . explain($want));
        }
    }
    is($bad, 0, "$r: $ok text values arrived exactly as sent");
    is($got->{$odd}{user_name}, 'odd rid', "$r: a request id with quotes");
    ok((grep { /^filler \d+$/ } map { $got->{$_}{user_name} // '' } @rids)
       == @NASTY, "$r: the records between them too");

    my $e = $got->{ $nul{empty} } || {};
    is_deeply([grep { defined $e->{$_} } values %TEXT,
               qw(client_ip status input_tokens output_tokens latency_ms
                  ttfb_ms attempts)], [], "$r: empty values are NULL");
    is($e->{stream}, JSON::PP::false, "$r: stream empty is false");
    my $a = $got->{ $nul{absent} } || {};
    is_deeply([grep { defined $a->{$_} } values %TEXT,
               qw(client_ip status input_tokens latency_ms)], [],
              "$r: absent fields are NULL");
    my ($ms) = split /-/, $absent_id;
    is($a->{ts_ms}, $ms, "$r: no ts: the stream entry's time");

    my $b = $got->{ $nul{bad} } || {};
    ($ms) = split /-/, $bad_id;
    is_deeply([map { $b->{$_} } qw(user_name project_name environment
               client_ip status input_tokens output_tokens latency_ms ttfb_ms
               attempts)], [(undef) x 10], "$r: invalid UTF-8 and numbers are NULL");
    is($b->{stream}, JSON::PP::false, "$r: stream 'yes' is false");
    is($b->{ts_ms}, $ms, "$r: invalid ts: the entry's time");

    my $z = $got->{ $nul{zero} } || {};
    is_deeply({ map { $_ => $z->{$_} } qw(user_name client_ip status
                input_tokens output_tokens latency_ms ttfb_ms attempts
                ts_ms stream) },
              { user_name => '0', client_ip => '::1', status => 0,
                input_tokens => -5, output_tokens => 9000000000,
                latency_ms => 1000, ttfb_ms => 0, attempts => 0,
                ts_ms => 1700000000124, stream => JSON::PP::false },
              "$r: numbers, zero, an IPv6 address, a fractional ts");
    my $t = $got->{ $rids[0] } || {};
    is_deeply({ map { $_ => $t->{$_} } qw(ts_ms stream status input_tokens
                output_tokens latency_ms ttfb_ms attempts client_ip) },
              { ts_ms => 1700000000123, stream => JSON::PP::true,
                status => 200, input_tokens => 12, output_tokens => 6,
                latency_ms => 1.5, ttfb_ms => 0.25, attempts => 1,
                client_ip => '127.0.0.1' }, "$r: a whole record");

    # seen before: the first row stays, the entry is acknowledged
    xadd(record(rid => $rids[0], user => 'again', status => '500'));
    xadd(record(rid => $rids[0], user => 'and again'));
    my $late = rid('1a7e');
    xadd(record(rid => $late));
    flush_group();
    land("$r, after a duplicate", $late);
    my @dup = psql_hashes("SELECT user_name, status FROM usage_events
                           WHERE request_id = '$rids[0]'");
    is_deeply(\@dup, [{ user_name => $NASTY[0], status => 200 }],
              "$r: a request id sent again keeps its first row");
    ok(wait_until(sub { pending() == 0 }, 10), "$r: all acknowledged");
}

$FORMAT = 1;

# Damaged groups: the records before the damage land, the entry is
# acknowledged, the damage is logged and counted as malformed.
{
    my @ok = map { rid('9d') } 1 .. 7;
    my $rec = sub { group_payload({ record(rid => $_[0]) }) };
    my $cut = $rec->(rid('c07'));
    my @entries = (
        # the third record cut short
        [3, $rec->($ok[0]) . $rec->($ok[1]) . substr($cut, 0, 40)],
        # "n" says four, the bytes hold two
        [4, $rec->($ok[2]) . $rec->($ok[3])],
        # a length that is not one
        [2, $rec->($ok[4]) . 'x:' . substr($cut, 2)],
        # a length past the end
        [2, $rec->($ok[5]) . '99999:abc'],
        # a record without a request id, between two good ones
        [3, $rec->($ok[6]) . group_payload({ record(rid => '') })
            . $rec->(my $after = rid('af7'))],
    );
    push @ok, $after;
    redis_cmd('XADD', 'sluice:usage', '*', 'v', '2', 'n', $_->[0],
              'r', $_->[1]) for @entries;
    redis_cmd('XADD', 'sluice:usage', '*', 'v', '2', 'n', '1');
    land('damaged groups', @ok);
    ok(wait_until(sub { pending() == 0 }, 10),
       'damaged groups: all acknowledged');
    my $log = do { local (@ARGV, $/) = $LOG; <> };
    is(scalar(() = $log =~ /record \d+ of \d+ is malformed/g), 5,
       'damaged groups: each damaged entry logged once')
        or diag($log =~ /(.*malformed.*)/g);
    like($log, qr/a record without a rid/,
         'damaged groups: the record without a request id logged');
}

# Records PostgreSQL refuses (an index entry over its size limit) are
# rejected one by one: the others in their batch land, and nothing stays
# pending.  Sent twice: with controld away (one batch) and running.
for my $round (1, 2) {
    my $r = "refused ($round)";
    my @good;
    stop_part('controld') if $round == 1;
    push @good, rid('900d') for 1 .. 5;
    xadd(record(rid => $_)) for @good[0 .. 2];
    my $long_rid = 'r' . random_hex(1600);
    xadd(record(rid => $long_rid));
    xadd(record(rid => rid('10e9'), key => random_hex(1600)));
    xadd(record(rid => $_)) for @good[3 .. 4];
    start_part('controld') if $round == 1;
    land($r, @good);
    ok(wait_until(sub { pending() == 0 }, $WAIT), "$r: nothing pending")
        or diag(`tail -n 20 $LOG`);
    my $log = do { local (@ARGV, $/) = ($LOG); <> };
    is(scalar(() = $log =~ /usage record \S+ rejected: index row size/g),
       2 * $round, "$r: both refusals are in controld's log");
    my @later = (rid('1a7e'));
    xadd(record(rid => $later[0]));
    land("$r, later records", @later);
}

# PostgreSQL restarts: the statement is prepared again on the new
# connection, twice over
for my $round (1, 2) {
    my $r = "postgres restarted ($round)";
    stop_part('pg');
    start_part('pg');
    my @rids = map { rid('ba0c') } 0 .. 2;
    xadd(record(rid => $rids[$_], user => $NASTY[$_])) for 0 .. 2;
    land($r, @rids);
    ok(wait_until(sub { pending() == 0 }, 10), "$r: all acknowledged");
}

stop_stack();
done_testing;
