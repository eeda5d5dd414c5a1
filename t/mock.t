# The mock provider itself (t/mock/provider.js): deterministic answers,
# usage counts, SSE shape, controls and the recording endpoints the other
# tests rely on.  Needs no gateway.
use strict;
use warnings;
use Test::More;
use POSIX qw(ceil);
use Sluice::Test;

my $S = start_stack(only => 'mock');
my $url = "$S->{mock_url}/v1/chat/completions";

for my $round (1, 2) {
    my $msgs = [{ role => 'user', content => "hello mock $round" }];
    my $r = http('POST', $url, { authorization => 'Bearer up-cred' },
                 { model => 'm-1', messages => $msgs });
    is($r->{status}, 200, "json ($round)");
    my $j = $r->{json};
    is($j->{choices}[0]{message}{content}, "echo: hello mock $round",
       "json answer ($round)");
    is($j->{model}, 'm-1', "model echoed ($round)");
    is($j->{usage}{prompt_tokens}, ceil(length(json_encode($msgs)) / 4),
       "prompt_tokens = ceil(bytes/4) ($round)");
    is($j->{usage}{completion_tokens}, 4, "completion_tokens = words "
       . "($round)");
    my $last = mock_last();
    is($last->{headers}{authorization}, 'Bearer up-cred',
       "last: headers ($round)");
    is_deeply($last->{body}{messages}, $msgs, "last: body ($round)");
    is($last->{status}, 200, "last: status ($round)");

    my $s = raw_http('POST', $url, {}, json_encode(
        { model => 'm-1', stream => JSON::PP::true, messages => [
            { role => 'user', content => "a b c d e mock:events=2 "
              . "mock:delay=50" }] }), sse => 1);
    my @data = map { $_->{data} } @{ $s->{events} };
    is(scalar @data, 5, "stream: role, 2 chunks, finish, DONE ($round)");
    is($data[-1], '[DONE]', "stream ends with [DONE] ($round)");
    ok(!grep({ $_->{json} && exists $_->{json}{usage} } @{ $s->{events} }),
       "no usage field unless asked ($round)");
    cmp_ok($s->{events}[-1]{t} - $s->{events}[0]{t}, '>=', 0.15,
           "events spaced by mock:delay ($round)");

    $s = raw_http('POST', $url, {}, json_encode(
        { model => 'm-1', stream => JSON::PP::true,
          stream_options => { include_usage => JSON::PP::true },
          messages => [{ role => 'user', content => 'x' }] }), sse => 1);
    my @u = grep { $_->{json} && !@{ $_->{json}{choices} } } @{ $s->{events} };
    is(scalar @u, 1, "usage chunk when asked ($round)");
    is($u[0]{json}{usage}{completion_tokens}, 2, "usage chunk counts "
       . "($round)") if @u;

    $r = http('POST', $url, {}, { model => 'm', messages => [
        { role => 'user', content => 'mock:status=429' }] });
    is($r->{status}, 429, "mock:status ($round)");
    is($r->{headers}{'retry-after'}, 1, "429 has retry-after ($round)");
    ok($r->{json}{error}{message}, "error envelope ($round)");

    $r = http('POST', $url, {}, { model => 'm', messages => [
        { role => 'user', content => 'mock:words=7' }] });
    is($r->{json}{usage}{completion_tokens}, 7, "mock:words ($round)");
}
my $n = mock_requests();
is($n, 10, 'requests counted');
mock_reset();
is(mock_requests(), 0, 'reset');

stop_stack();
done_testing;
