# Caller authentication: no token, unknown token, revoked, expired and
# disabled keys are refused before any upstream call; Bearer and
# x-api-key both work.
use strict;
use warnings;
use Test::More;
use Sluice::Test;

start_stack();
my $demo = seed_demo();
my $unknown = 'sk-sluice-' . random_hex(6) . '-' . random_hex(32);

my $revoked = create_key();
revoke_key($revoked->{id});
my $expired = create_key(expires_at => '2020-01-01T00:00:00Z');
my $disabled = create_key();
my ($st) = admin(PATCH => "/admin/v1/keys/$disabled->{id}",
                 { status => 'disabled' });
is($st, 200, 'PATCH status=disabled accepted');

# the table catches up with revoke/disable asynchronously
for my $k ([$revoked, 'key-revoked'], [$disabled, 'key-disabled']) {
    wait_until(sub {
        my $r = chat($k->[0]{token});
        ($r->{json}{error}{type} // $r->{json}{error}{code} // '') eq $k->[1];
    }, 5) or diag("$k->[1] never seen");
}

my $before = mock_requests();
for my $round (1, 2) {
    my $r = http('POST', '/v1/chat/completions', {},
                 { model => 'demo-chat',
                   messages => [{ role => 'user', content => 'hi' }] });
    error_is($r, 401, 'unauthorized', "no token ($round)");

    error_is(chat($unknown), 401, 'unauthorized', "unknown token ($round)");
    error_is(chat('not-a-sluice-token'), 401, 'unauthorized',
             "malformed token ($round)");
    $r = chat(undef, headers => { authorization => "Basic $demo->{token}" });
    error_is($r, 401, 'unauthorized', "Basic scheme ($round)");
    $r = chat(undef, headers => { 'x-api-key' => $unknown });
    error_is($r, 401, 'unauthorized', "unknown x-api-key ($round)");

    error_is(chat($revoked->{token}), 403, 'key-revoked',
             "revoked key ($round)");
    error_is(chat($expired->{token}), 403, 'key-expired',
             "expired key ($round)");
    error_is(chat($disabled->{token}), 403, 'key-disabled',
             "disabled key ($round)");
    $r = chat(undef, headers => { 'x-api-key' => $revoked->{token} });
    error_is($r, 403, 'key-revoked', "revoked key as x-api-key ($round)");

    $r = http('GET', '/v1/models', {});
    error_is($r, 401, 'unauthorized', "GET /v1/models without token ($round)");
    $r = http('GET', '/v1/models', { authorization => "Bearer $unknown" });
    error_is($r, 401, 'unauthorized', "GET /v1/models unknown ($round)");

}
is(mock_requests(), $before, 'no refused request reached the provider');

for my $round (1, 2) {
    my $r = chat($demo->{token}, content => "bearer $round");
    is($r->{status}, 200, "Bearer token works ($round)")
        or diag($r->{content});
    is($r->{json}{choices}[0]{message}{content}, "echo: bearer $round",
       "Bearer: answer from the provider ($round)");
    request_id_ok($r, "Bearer ($round)");

    $r = chat(undef, content => "x-api-key $round",
              headers => { 'x-api-key' => $demo->{token} });
    is($r->{status}, 200, "x-api-key works ($round)") or diag($r->{content});
    is($r->{json}{choices}[0]{message}{content}, "echo: x-api-key $round",
       "x-api-key: answer from the provider ($round)");
}
is(mock_requests(), $before + 4, 'each accepted request reached the provider');

stop_stack();
done_testing;
