# JSON chat passthrough: the provider's answer reaches the caller; the
# provider sees the target's model, the provider credential and never
# the caller's token.
use strict;
use warnings;
use Test::More;
use Sluice::Test;

start_stack();
my $demo = seed_demo();

my %rids;
for my $round (1, 2) {
    for my $how ('bearer', 'x-api-key') {
        my $name = "$how ($round)";
        my @messages = ({ role => 'system', content => 'be brief' },
                        { role => 'user', content => "hello gateway $round" });
        my $auth = $how eq 'bearer'
            ? { authorization => "Bearer $demo->{token}" }
            : { 'x-api-key' => $demo->{token} };
        my $r = http('POST', '/v1/chat/completions', $auth,
                     { model => 'demo-chat', messages => \@messages,
                       temperature => 0.5, user => 'u-1' });
        is($r->{status}, 200, "$name: 200") or diag($r->{content});
        like($r->{headers}{'content-type'} // '', qr{^application/json},
             "$name: JSON");
        my $j = $r->{json} || {};
        is($j->{object}, 'chat.completion', "$name: chat.completion");
        is($j->{choices}[0]{message}{content}, "echo: hello gateway $round",
           "$name: the provider's answer");
        is($j->{usage}{completion_tokens}, 4, "$name: provider's usage");
        my $rid = request_id_ok($r, $name);
        ok(!$rids{$rid // ''}++, "$name: a new request id");
        unlike($r->{content}, qr/\Q$demo->{credential}\E/,
               "$name: credential not in the answer");

        my $up = mock_last();
        is($up->{method}, 'POST', "$name: upstream method");
        is($up->{path}, '/v1/chat/completions', "$name: upstream path");
        is($up->{body}{model}, 'mock-model-1', "$name: model rewritten");
        is_deeply($up->{body}{messages}, \@messages,
                  "$name: messages passed through");
        is($up->{body}{temperature}, 0.5, "$name: other fields kept");
        is($up->{body}{user}, 'u-1', "$name: user field kept");
        ok(!exists $up->{body}{stream} || !$up->{body}{stream},
           "$name: not turned into a stream");
        is($up->{headers}{authorization}, "Bearer $demo->{credential}",
           "$name: provider credential injected");
        ok(!exists $up->{headers}{'x-api-key'},
           "$name: caller's x-api-key not forwarded");
        my @leak = grep { index($up->{headers}{$_}, $demo->{token}) >= 0 }
            keys %{ $up->{headers} };
        is_deeply(\@leak, [], "$name: caller token in no upstream header");
        like($up->{headers}{'content-type'} // '', qr{application/json},
             "$name: upstream content type");
    }
}

stop_stack();
done_testing;
