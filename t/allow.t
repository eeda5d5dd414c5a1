# Model-group allow lists: a group the key may not use, or one that does
# not exist, is refused with 403 model-not-allowed; a body without a model
# is 400 missing-model; nothing refused reaches the provider.
use strict;
use warnings;
use Test::More;
use Sluice::Test;

start_stack();
my $demo = seed_demo();
create_group('other-chat');
create_group('demo-extra');
my $all = create_key(groups => ['*']);
# prefix patterns (docs/CONTRACTS.md: "prefix*" in a key's groups)
my $prefix = eval { create_key(groups => ['demo-*']) };
ok($prefix, 'the admin API accepts a demo-* allow list') or diag($@);
# still test the gateway's side of prefixes with a key written by psql
$prefix //= create_key(groups => ['demo-*'], via => 'sql');

my $before = mock_requests();
for my $round (1, 2) {
    error_is(chat($demo->{token}, model => 'other-chat'), 403,
             'model-not-allowed', "existing group not in allow list ($round)");
    error_is(chat($demo->{token}, model => 'no-such-group'), 403,
             'model-not-allowed', "unknown group ($round)");
    error_is(chat($demo->{token}, model => 'demo-extra'), 403,
             'model-not-allowed', "group sharing the allowed prefix ($round)");
    error_is(chat($demo->{token}, model => undef), 400, 'missing-model',
             "no model ($round)");
    error_is(chat($demo->{token}, model => ''), 400, 'missing-model',
             "empty model ($round)");
    error_is(chat($prefix->{token}, model => 'other-chat'), 403,
             'model-not-allowed', "demo-* key, other-chat ($round)")
        if $prefix;
    error_is(chat($all->{token}, model => 'no-such-group'), 403,
             'model-not-allowed', "* key, unknown group ($round)");
}
is(mock_requests(), $before, 'no refused request reached the provider');

for my $round (1, 2) {
    my @ok = ([$demo, 'demo-chat'], [$all, 'other-chat'],
              [$all, 'demo-chat']);
    push @ok, [$prefix, 'demo-chat'], [$prefix, 'demo-extra'] if $prefix;
    for my $c (@ok) {
        my ($k, $g) = @$c;
        my $r = chat($k->{token}, model => $g, content => "to $g");
        is($r->{status}, 200, "key $k->{id} may use $g ($round)")
            or diag($r->{content});
        is(mock_last()->{body}{model}, 'mock-model-1',
           "$g routed to its target ($round)");
    }
}
is(mock_requests(), $before + ($prefix ? 10 : 6),
   'each allowed request reached the provider');

stop_stack();
done_testing;
