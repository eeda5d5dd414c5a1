# Bad input: invalid JSON 400, a body over the limit 413 (whether sent
# with Content-Length or chunked), a wrong method 405; every one a JSON
# error with X-Request-Id, none reaching the provider or logged as
# [alert]/[crit]/[emerg].
use strict;
use warnings;
use Test::More;
use Sluice::Test;

start_stack();
my $demo = seed_demo();
my %auth = (authorization => "Bearer $demo->{token}");
my $big = json_encode({ model => 'demo-chat', messages => [
    { role => 'user', content => 'x' x (5 * 1024 * 1024) } ] });

my $before = mock_requests();
for my $round (1, 2) {
    my $r = http('POST', '/v1/chat/completions',
                 { %auth, 'content-type' => 'application/json' },
                 '{"model": "demo-chat", "messages": [');
    error_is($r, 400, 'invalid-request', "truncated JSON ($round)");
    $r = http('POST', '/v1/chat/completions',
              { %auth, 'content-type' => 'application/json' }, 'not json');
    error_is($r, 400, 'invalid-request', "not JSON ($round)");
    unlike($r->{content}, qr/not json/, "error does not echo the body "
           . "($round)");

    $r = raw_http('POST', gw_url('/v1/chat/completions'), \%auth, $big,
                  timeout => 30);
    error_is($r, 413, 'body-too-large', "5 MB body ($round)");
    $r = raw_http('POST', gw_url('/v1/chat/completions'), \%auth, $big,
                  timeout => 30, chunked => 1);
    error_is($r, 413, 'body-too-large', "5 MB chunked body ($round)");

    for my $m (qw(GET PUT DELETE)) {
        $r = http($m, '/v1/chat/completions', \%auth);
        error_is($r, 405, undef, "$m /v1/chat/completions ($round)");
    }
    error_is(http('POST', '/v1/models', \%auth, {}), 405, undef,
             "POST /v1/models ($round)");

    # the gateway still serves a good request afterwards
    $r = chat($demo->{token}, content => "still fine $round");
    is($r->{status}, 200, "good request after bad ones ($round)");
}
is(mock_requests(), $before + 2, 'only the good requests reached the provider');
my @logged = error_log_lines(qr/\[(?:error|warn)\].*(?:body|json)/i);
note("error.log lines about bodies: " . scalar @logged);

stop_stack();
done_testing;
