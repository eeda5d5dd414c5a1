# The official OpenAI SDK (t/sdk/package.json pins the version) through
# the gateway: a chat call, a stream with usage, the model list and a
# refused call, each as the SDK reports it.
use strict;
use warnings;
use Test::More;
use Sluice::Test;
use Sluice::Test::Clients;

sdk_install('openai');
my $dir = "$Sluice::Test::REPO/t/sdk";

start_stack();
my $demo = seed_demo();

for my $round (1, 2) {
    local $ENV{SLUICE_URL} = gw_url();
    local $ENV{SLUICE_TOKEN} = $demo->{token};
    local $ENV{SLUICE_MODEL} = 'demo-chat';
    my $out = `node '$dir/chat.mjs' $round 2>&1`;
    is($?, 0, "chat.mjs ran ($round)") or diag($out);
    my ($line) = grep { /^\{/ } split /\n/, $out;
    my $j = json_decode($line // '') or do { fail("JSON output ($round)");
                                               diag($out); next };
    note("openai SDK $j->{sdk}");
    is($j->{chat}{content}, "echo: hello from the sdk $round",
       "chat: content ($round)");
    is($j->{chat}{finish_reason}, 'stop', "chat: finish_reason ($round)");
    is($j->{chat}{usage}{completion_tokens}, 6, "chat: usage ($round)");
    like($j->{chat}{request_id} // '', qr/^[0-9a-f]{32}$/,
         "chat: the SDK sees the request id ($round)");
    is($j->{stream}{content}, "echo: stream from the sdk $round",
       "stream: content ($round)");
    is($j->{stream}{role}, 'assistant', "stream: role ($round)");
    is($j->{stream}{finish_reason}, 'stop', "stream: finish_reason ($round)");
    is($j->{stream}{usage} && $j->{stream}{usage}{completion_tokens}, 6,
       "stream: usage chunk ($round)");
    is_deeply([sort @{ $j->{models} || [] }],
              ['demo-chat', 'demo-messages', 'demo-responses'],
              "models.list ($round)");
    is($j->{refused}{status}, 403, "refused call: APIError 403 ($round)");
    ok(($j->{refused}{type} // '') eq 'model-not-allowed'
       || ($j->{refused}{code} // '') eq 'model-not-allowed',
       "refused call: model-not-allowed ($round)")
        or diag(json_encode($j->{refused}));
}

stop_stack();
done_testing;
