# Usage ledger: every request through the gateway becomes one row in
# usage_events (request_id = X-Request-Id) with the caller, the route and
# the tokens the provider reported; JSON and stream alike.
use strict;
use warnings;
use Test::More;
use POSIX qw(ceil);
use Time::HiRes qw(time);
use Sluice::Test;

start_stack();
my $demo = seed_demo();

# what the mock provider counts as prompt tokens for these messages
sub prompt_tokens {
    my ($messages) = @_;
    return ceil(length(json_encode($messages)) / 4);
}

sub check_row {
    my ($name, $rid, %want) = @_;
    my $row = wait_usage($rid, 10);
    ok($row, "$name: usage row for $rid within 10 s") or return;
    my @n = psql("SELECT count(*) FROM usage_events WHERE request_id = '$rid'");
    is($n[0][0], 1, "$name: exactly one row");
    my %exp = (key_id => $demo->{key_id}, user_name => 'demo',
               project_name => 'demo', environment => 'dev',
               client_ip => '127.0.0.1', model_group => 'demo-chat',
               provider => 'mock', model => 'mock-model-1', status => 200,
               dialect => 'chat', %want);
    for my $f (sort keys %exp) {
        is($row->{$f}, $exp{$f}, "$name: $f");
    }
    ok(defined $row->{latency_ms} && $row->{latency_ms} > 0,
       "$name: latency_ms > 0");
    ok(defined $row->{ttfb_ms} && $row->{ttfb_ms} > 0
       && $row->{ttfb_ms} <= $row->{latency_ms},
       "$name: 0 < ttfb_ms <= latency_ms")
        or diag("ttfb_ms=" . ($row->{ttfb_ms} // 'NULL') . " latency_ms="
                . ($row->{latency_ms} // 'NULL'));
    return $row;
}

for my $round (1, 2) {
    my $content = "count my tokens please $round";
    my $msgs = [{ role => 'user', content => $content }];
    my $r = chat($demo->{token}, content => $content);
    is($r->{status}, 200, "json ($round): 200");
    my $rid = request_id_ok($r, "json ($round)");
    my $u = $r->{json}{usage} || {};
    is($u->{prompt_tokens}, prompt_tokens($msgs),
       "json ($round): the mock's prompt count");
    check_row("json ($round)", $rid, stream => JSON::PP::false,
              input_tokens => $u->{prompt_tokens},
              output_tokens => $u->{completion_tokens});

    # a stream whose caller did not ask for usage: still accounted
    my $s = sse_request($demo->{token}, content => "$content mock:delay=100");
    is($s->{status}, 200, "stream ($round): 200");
    $rid = request_id_ok($s, "stream ($round)");
    my $row = check_row("stream ($round)", $rid, stream => JSON::PP::true,
        input_tokens => prompt_tokens(
            [{ role => 'user', content => "$content mock:delay=100" }]),
        output_tokens => 6);
    ok($row && $row->{ttfb_ms} < $row->{latency_ms} - 200,
       "stream ($round): first byte well before the end")
        if $row;

    # a stream that asked for usage
    $s = sse_request($demo->{token}, content => $content, include_usage => 1);
    $rid = request_id_ok($s, "stream+usage ($round)");
    my ($uc) = grep { $_->{json} && $_->{json}{usage} } @{ $s->{events} };
    check_row("stream+usage ($round)", $rid, stream => JSON::PP::true,
              input_tokens => $uc && $uc->{json}{usage}{prompt_tokens},
              output_tokens => $uc && $uc->{json}{usage}{completion_tokens});
}

# Records travel in groups: requests close together share one stream
# entry (format 2: v 2 n <records> r <bytes>), and each still gets its row.
{
    my $before = redis_cmd('XLEN', 'sluice:usage');
    my @rids;
    for my $i (1 .. 30) {
        my $r = chat($demo->{token}, content => "grouped $i");
        push @rids, $r->{headers}{'x-request-id'} if $r->{status} == 200;
    }
    is(scalar @rids, 30, 'grouped: 30 answers');
    # ids start with the request's start in ms: they sort by time
    my @ms = map { no warnings 'portable';
                   /^([0-9a-f]{12})[0-9a-f]{20}$/ ? hex($1) : 0 } @rids;
    my $now = int(time() * 1000);
    ok(!grep({ $_ < $now - 60_000 || $_ > $now + 1000 } @ms),
       'grouped: each id starts with its time in ms');
    is_deeply([sort { $a <=> $b } @ms], \@ms, 'grouped: ids sort by time');
    ok(wait_until(sub {
        my @n = psql("SELECT count(*) FROM usage_events WHERE request_id IN ("
                     . join(',', map { "'$_'" } @rids) . ")");
        $n[0][0] == 30 }, 10), 'grouped: a row for each request');
    my $entries = redis_cmd('XRANGE', 'sluice:usage', '-', '+') || [];
    my @new = @$entries[$before .. $#$entries];
    my ($records, $max, $v2) = (0, 0, 0);
    for my $e (@new) {
        my %f = @{ $e->[1] };
        $v2++ if ($f{v} // '') eq '2';
        $records += $f{n} // 0;
        $max = $f{n} if ($f{n} // 0) > $max;
    }
    is($v2, scalar @new, 'grouped: every new entry is a group');
    is($records, 30, 'grouped: the groups hold the 30 records');
    cmp_ok($max, '>', 1, "grouped: fewer entries than records ("
           . @new . ' entries)');
}

stop_stack();
done_testing;
