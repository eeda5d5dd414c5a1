# controld's admin REST API: bearer auth, validation errors that name the
# field, 404s, keys as the contract says (token format, only its sha256
# stored), and a provider credential that never appears in a response.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_hex);
use Sluice::Test;

start_stack(nginx => 0);
my $secret = 'sk-provider-secret-' . random_hex(16);
my @seen;               # every admin response body, to look for leaks

sub call {
    my ($m, $p, $b, %o) = @_;
    my ($st, $j, $r) = admin($m, $p, $b, %o);
    push @seen, [$m, $p, $r->{content} // '', $r->{headers}];
    return ($st, $j, $r);
}

sub names_field {
    my ($j, $field) = @_;
    my $e = ref $j eq 'HASH' && ref $j->{error} eq 'HASH' ? $j->{error} : {};
    return grep { defined && /\b$field\b/ }
        ($e->{message}, $e->{param}, $e->{field});
}

for my $round (1, 2) {
    my $r = http('GET', admin_url('/healthz'));
    is($r->{status}, 200, "/healthz ($round)");
    $r = http('GET', admin_url('/version'));
    is($r->{status}, 200, "/version ($round)");
    like($r->{content}, qr/\b\d+\.\d+\.\d+\b/, "/version names a version "
         . "($round)");

    my ($st, $j) = call(GET => '/admin/v1/users', undef, token => undef);
    is($st, 401, "no token: 401 ($round)");
    ok(ref $j eq 'HASH' && $j->{error}, "no token: JSON error ($round)");
    ($st) = call(POST => '/admin/v1/users', { name => 'x' }, token => undef);
    is($st, 401, "POST without token: 401 ($round)");
    ($st) = call(GET => '/admin/v1/users', undef, token => 'wrong-token');
    is($st, 401, "wrong token: 401 ($round)");
    ($st) = call(GET => '/admin/v1/users', undef,
                 headers => { authorization => 'Basic eDp5' }, token => undef);
    is($st, 401, "Basic auth: 401 ($round)");

    ($st) = call(GET => '/admin/v1/no-such-thing');
    is($st, 404, "unknown route: 404 ($round)");
    ($st) = call(POST => '/admin/v1/keys/000000000000/revoke', {});
    is($st, 404, "revoke unknown key: 404 ($round)");
    ($st) = call(PATCH => '/admin/v1/keys/000000000000',
                 { status => 'disabled' });
    is($st, 404, "patch unknown key: 404 ($round)");
}
my @created = psql("SELECT 1 FROM users WHERE name = 'x'");
is(scalar @created, 0, 'nothing was created without a token');

# validation: 400 naming the field
my @bad = (
    ['/admin/v1/users', {}, 'name', 'user without name'],
    ['/admin/v1/users', { name => "bad\tname" }, 'name', 'name with a TAB'],
    ['/admin/v1/users', { name => 'has space' }, 'name', 'name with a space'],
    ['/admin/v1/projects', { name => '' }, 'name', 'empty project name'],
    ['/admin/v1/providers', { name => 'p1', dialect => 'chat',
        auth_kind => 'bearer' }, 'base_url', 'provider without base_url'],
    ['/admin/v1/providers', { name => 'p1', base_url => 'ftp://x/',
        dialect => 'chat', auth_kind => 'bearer' }, 'base_url',
        'provider with an ftp base_url'],
    ['/admin/v1/providers', { name => 'p1', base_url => 'http://a/',
        dialect => 'klingon', auth_kind => 'bearer' }, 'dialect',
        'provider with an unknown dialect'],
    ['/admin/v1/providers', { name => 'p1', base_url => 'http://a/',
        dialect => 'chat', auth_kind => 'magic' }, 'auth_kind',
        'provider with an unknown auth_kind'],
    ['/admin/v1/targets', { name => 't1', model => 'm', weight => 1 },
        'provider', 'target without provider'],
    ['/admin/v1/keys', { project => 'demo', environment => 'dev',
        groups => ['g'] }, 'user', 'key without user'],
);
for my $round (1, 2) {
    for my $b (@bad) {
        my ($path, $body, $field, $what) = @$b;
        my ($st, $j, $r) = call(POST => $path, $body);
        is($st, 400, "$what: 400 ($round)") or diag($r->{content});
        ok(names_field($j, $field), "$what: the error names '$field' "
           . "($round)") or diag($r->{content});
    }
    my $r = http('POST', admin_url('/admin/v1/users'),
                 { authorization => "Bearer " . stack()->{admin_token},
                   'content-type' => 'application/json' }, '{"name": ');
    push @seen, ['POST', 'users (bad json)', $r->{content} // ''];
    is($r->{status}, 400, "invalid JSON: 400 ($round)");
}

# a working set of objects; the credential never comes back
my ($s, $j);
($s) = call(POST => '/admin/v1/users', { name => 'alice',
                                         email => 'alice@example.com' });
is($s, 201, 'create user: 201');
($s) = call(POST => '/admin/v1/projects', { name => 'proj' });
is($s, 201, 'create project: 201');
($s, $j) = call(POST => '/admin/v1/providers',
                { name => 'up', base_url => 'http://127.0.0.1:9/v1',
                  dialect => 'chat', auth_kind => 'bearer',
                  credential => $secret });
is($s, 201, 'create provider: 201');
($s) = call(POST => '/admin/v1/targets', { name => 'up-m', provider => 'up',
                                           model => 'm-1', weight => 1 });
is($s, 201, 'create target: 201');
($s) = call(POST => '/admin/v1/groups', { name => 'g1',
    strategy => 'weighted', targets => ['up-m'] });
is($s, 201, 'create group: 201');
($s, $j) = call(POST => '/admin/v1/targets', { name => 't-neg',
    provider => 'up', model => 'm', weight => -1 });
ok($s == 400 && names_field($j, 'weight'),
   "target with a negative weight: 400 naming weight ($s)");
($s, $j) = call(POST => '/admin/v1/groups', { name => 'g-bad',
    strategy => 'weighted', targets => ['no-such-target'] });
ok(($s == 400 || $s == 404) && names_field($j, 'targets?'),
   "group with an unknown target: 400/404 naming targets ($s)");
($s) = call(POST => '/admin/v1/users', { name => 'alice' });
ok($s == 409 || $s == 400, "duplicate user refused ($s)");
($s, $j) = call(POST => '/admin/v1/keys', { user => 'nobody-here',
    project => 'proj', environment => 'dev', groups => ['g1'] });
ok(($s == 400 || $s == 404) && names_field($j, 'user'),
   "key for an unknown user: 400/404 naming user ($s)");

for my $round (1, 2) {
    my ($st, $k) = call(POST => '/admin/v1/keys',
                        { user => 'alice', project => 'proj',
                          environment => 'prod', groups => ['g1'] });
    is($st, 201, "create key: 201 ($round)");
    like($k->{id} // '', qr/^[0-9a-f]{12}$/, "key id: 12 hex ($round)");
    like($k->{token} // '', qr/^sk-sluice-\Q$k->{id}\E-[0-9a-f]{64}$/,
         "token: sk-sluice-<id>-<64 hex> ($round)");
    my @row = psql("SELECT token_sha256 FROM keys WHERE id = '$k->{id}'");
    is($row[0][0], sha256_hex($k->{token} // ''),
       "only sha256(token) is stored ($round)");
    my @leak = psql("SELECT 1 FROM keys WHERE id = '$k->{id}' AND "
                    . "row_to_json(keys)::text LIKE '%$k->{token}%'");
    is(scalar @leak, 0, "the token itself is not in the keys row ($round)");
    ($st) = call(POST => "/admin/v1/keys/$k->{id}/revoke", {});
    is($st, 200, "revoke: 200 ($round)");
    is((psql("SELECT status FROM keys WHERE id = '$k->{id}'"))[0][0],
       'revoked', "revoked in PostgreSQL ($round)");

    call(GET => '/admin/v1/providers');
    call(GET => '/admin/v1/providers/up');
    call(GET => '/admin/v1/targets');
    call(GET => '/admin/v1/groups');
    call(GET => '/admin/v1/keys');
    call(GET => "/admin/v1/keys/$k->{id}");
}

my @leaks = grep { index($_->[2], $secret) >= 0
                   || index(json_encode($_->[3] // {}), $secret) >= 0 } @seen;
is_deeply([map { "$_->[0] $_->[1]" } @leaks], [],
          'the provider credential is in no admin response ('
          . scalar(@seen) . ' checked)');
ok(!grep({ index($_, $secret) >= 0 }
         split /\n/, do { local (@ARGV, $/) = stack()->{dir}
                            . '/log/controld.log'; <> // '' }),
   'the provider credential is not in controld\'s log');

stop_stack();
done_testing;
