# Usage survives outages: while Redis, PostgreSQL or both sides of an
# nginx reload are away, the gateway keeps answering at once, and once
# the part is back every request has exactly one row in usage_events.
# The per-worker queue is kept tiny (queue=5) so that records overflow
# to the spool while Redis is down.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use Sluice::Test;

my $QUEUE = 5;
my $WAIT = 20;          # seconds for rows to land once the part is back

my $S = start_stack(usage_args => 'redis=127.0.0.1:{redis_port} '
                    . "stream=sluice:usage spool={spool} queue=$QUEUE");
my $demo = seed_demo();
my $spool = "$S->{dir}/spool";

# Sends $n chat requests; the gateway must answer each at once, whatever
# part is away.  Returns their request ids.
sub serve {
    my ($name, $n) = @_;
    my ($ok, $slowest, @rids) = (0, 0);
    for my $i (1 .. $n) {
        my $t = time;
        my $r = chat($demo->{token}, content => "$name: $i");
        $slowest = time - $t if time - $t > $slowest;
        $ok++ if $r->{status} == 200;
        push @rids, $r->{headers}{'x-request-id'} // '';
    }
    is($ok, $n, "$name: $n requests answered 200");
    cmp_ok($slowest, '<', 2, "$name: no request waited on the outage");
    return @rids;
}

# Waits for exactly one row per request id, then checks the rows.
sub rows_land {
    my ($name, @rids) = @_;
    my $n = @rids;
    my $in = join ',', map { "'$_'" } grep { /^[0-9a-f]{32}$/ } @rids;
    my $got = 0;
    wait_until(sub {
        my ($c) = eval { psql("SELECT count(*) FROM usage_events
                               WHERE request_id IN ($in)") };
        $got = $c ? $c->[0] : 0;
        return $got >= $n;
    }, $WAIT, 0.2);
    is($got, $n, "$name: a row for each of the $n requests within $WAIT s")
        or diag(`tail -n 20 $S->{dir}/log/controld.log`);
    my ($r) = psql("SELECT count(*), count(DISTINCT request_id),
                           count(*) FILTER (WHERE status = 200
                                  AND key_id = '$demo->{key_id}')
                    FROM usage_events WHERE request_id IN ($in)");
    is_deeply($r, [$n, $n, $n],
              "$name: one row per request id, status 200, the caller's key");
}

# the spool files in the directory: name => size
sub spool_files {
    opendir(my $d, $spool) or return ();
    my %f = map { $_ => -s "$spool/$_" } grep { /\.resp\z/ } readdir $d;
    return %f;
}

sub spooled_bytes {
    my %f = spool_files();
    my $n = 0;
    $n += $f{$_} for grep { /^usage-/ } keys %f;
    return $n;
}

sub spool_drained {
    my ($name) = @_;
    ok(wait_until(sub { !spool_files() }, 5), "$name: the spool is drained")
        or diag(join ' ', spool_files());
}

sub pending {
    my $p = eval { redis_cmd('XPENDING', 'sluice:usage', 'sluice-ingest') };
    return ref $p eq 'ARRAY' ? $p->[0] : 0;
}

my @base = serve('warm-up', 2);
rows_land('warm-up', @base);

# 1. Redis is down: records wait in the queue and the spool, and are sent
# once Redis is back (empty: it runs without persistence).
for my $round (1, 2) {
    my $name = "redis down ($round)";
    stop_part('redis');
    my @rids = serve($name, 20);
    cmp_ok(spooled_bytes(), '>', 0,
           "$name: what the queue could not hold is in the spool");
    sleep 3;            # long enough for both reconnect backoffs to grow
    start_part('redis');
    rows_land($name, @rids);
    spool_drained($name);
}

# 2. Redis loses the stream and the consumer group while controld runs:
# restarted empty, or flushed without a disconnect.  Records the gateway
# sends before ingest notices must not be skipped.
for my $round (1, 2) {
    my $name = "redis restarted empty ($round)";
    stop_part('redis');
    start_part('redis');
    my @rids = serve($name, 10);
    rows_land($name, @rids);

    $name = "redis flushed ($round)";
    redis_cmd('FLUSHALL');
    @rids = serve($name, 10);
    rows_land($name, @rids);
    @rids = serve("$name, later", 3);
    rows_land("$name, later", @rids);
}

# 3. PostgreSQL is down: ingest reads the records but acknowledges none
# before they are inserted; they land once PostgreSQL is back.
for my $round (1, 2) {
    my $name = "postgres down ($round)";
    stop_part('pg');
    my @rids = serve($name, 10);
    ok(wait_until(sub { pending() > 0 }, 10),
       "$name: ingest read records and holds them unacknowledged");
    start_part('pg');
    rows_land($name, @rids);
    is(pending(), 0, "$name: all acknowledged once inserted");
}

# 4. nginx reloads while Redis is down: the old workers spool what they
# hold as they exit, and the new workers replay it once Redis is back.
for my $round (1, 2) {
    my $name = "reload while redis is down ($round)";
    stop_part('redis');
    my @old = nginx_workers();
    my @rids = serve("$name, old workers", 12);
    reload_nginx();
    ok(wait_until(sub { !grep { kill 0, $_ } @old }, 15),
       "$name: the old workers exited");
    my %files = spool_files();
    ok((grep { my $p = $_; grep { $_ eq "usage-$p.resp" } keys %files }
        @old), "$name: an old worker left its records in the spool")
        or diag(join ' ', keys %files);
    push @rids, serve("$name, new workers", 6);
    start_part('redis');
    rows_land($name, @rids);
    spool_drained($name);
}

stop_stack();
done_testing;
