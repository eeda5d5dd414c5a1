# GET /v1/models lists exactly the caller's allowed groups.
use strict;
use warnings;
use Test::More;
use Sluice::Test;

start_stack();
my $demo = seed_demo();
create_group('other-chat');
create_group('demo-extra');
my $two = create_key(groups => ['demo-chat', 'other-chat']);
my $all = create_key(groups => ['*']);
my $prefix = eval { create_key(groups => ['demo-*']) };
ok($prefix, 'the admin API accepts a demo-* allow list') or diag($@);
# still test the gateway's side of prefixes with a key written by psql
$prefix //= create_key(groups => ['demo-*'], via => 'sql');

sub ids {
    my ($token, $name) = @_;
    my $r = http('GET', '/v1/models', { authorization => "Bearer $token" });
    is($r->{status}, 200, "$name: 200") or diag($r->{content});
    like($r->{headers}{'content-type'} // '', qr{^application/json},
         "$name: JSON");
    request_id_ok($r, $name);
    my $j = $r->{json} || {};
    is($j->{object}, 'list', "$name: object list");
    my @data = @{ $j->{data} || [] };
    is(scalar(grep { ($_->{object} // '') eq 'model' } @data), scalar @data,
       "$name: every entry is a model object");
    return [sort map { $_->{id} } @data];
}

my $before = mock_requests();
for my $round (1, 2) {
    is_deeply(ids($demo->{token}, "demo key ($round)"),
              ['demo-chat', 'demo-messages', 'demo-responses'],
              "demo key sees exactly its three groups ($round)");
    is_deeply(ids($two->{token}, "two groups ($round)"),
              ['demo-chat', 'other-chat'], "two-group key ($round)");
    is_deeply(ids($all->{token}, "* key ($round)"),
              ['demo-chat', 'demo-extra', 'demo-messages', 'demo-responses',
               'other-chat'], "* key sees every group ($round)");
    is_deeply(ids($prefix->{token}, "demo-* key ($round)"),
              ['demo-chat', 'demo-extra', 'demo-messages', 'demo-responses'],
              "demo-* key ($round)") if $prefix;
    my $r = http('GET', '/v1/models', { 'x-api-key' => $demo->{token} });
    is($r->{status}, 200, "x-api-key works for /v1/models ($round)");
    error_is(http('GET', '/v1/models'), 401, 'unauthorized',
             "no token ($round)");
}
is(mock_requests(), $before, '/v1/models never calls the provider');

stop_stack();
done_testing;
