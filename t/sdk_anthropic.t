# The official Anthropic SDK (t/sdk/package.json pins it) through the
# gateway against groups of every target dialect: demo-messages (its own)
# and demo-chat, demo-responses (translated).  A Messages call, a stream
# through finalMessage, a tool_use with the tool result sent back (as a
# stream), a tool_use streamed, a base64 image and count_tokens, each as
# the SDK reports it, and the usage rows they left.
use strict;
use warnings;
use Test::More;
use Sluice::Test;
use Sluice::Test::Clients;

sdk_install('@anthropic-ai/sdk');

start_stack();
my $demo = seed_demo();

my %dialect = map { $_->{group} => $_->{dialect} }
    values %{ $demo->{dialects} };
my $key = $demo->{key_id};

sub usage_shape_ok {
    my ($u, $name) = @_;
    ok(ref $u eq 'HASH' && ($u->{input_tokens} // 0) > 0
       && ($u->{output_tokens} // 0) > 0, "$name: usage")
        or diag(json_encode($u));
}

for my $group (qw(demo-messages demo-chat demo-responses)) {
  for my $round (1, 2) {
    my $t = "$group $round";
    mock_reset();
    my $j = sdk_script($t, 'anthropic_dialects.mjs', $round,
                       SLUICE_URL => gw_url(), SLUICE_TOKEN => $demo->{token},
                       SLUICE_MODEL => $group) or next;
    note("anthropic SDK $j->{sdk}");

    # every upstream call went to the dialect of the group's target
    my @up = upstream_ok($t, $dialect{$group}, $demo->{token});

    my $c = $j->{messages};
    if (sdk_case_ok($c, 1, "$t messages")) {
        is($c->{type}, 'message', "$t messages: type");
        is($c->{role}, 'assistant', "$t messages: role");
        is_deeply($c->{block_types}, ['text'], "$t messages: one text block");
        is($c->{text}, "echo: hello from the sdk $round", "$t messages: text");
        is($c->{stop_reason}, 'end_turn', "$t messages: stop_reason");
        usage_shape_ok($c->{usage}, "$t messages");
        # the SDK's _request_id reads Anthropic's request-id header: the
        # gateway sends its own id there too
        like($c->{sdk_request_id} // '', qr/^[0-9a-f]{32}$/,
             "$t messages: the SDK's _request_id is the gateway's id");
        is($c->{sdk_request_id}, $c->{request_id},
           "$t messages: request-id and X-Request-Id agree")
            if defined $c->{request_id};
        sdk_usage_ok($c->{calls}[0], $group, $key, 0, "$t messages");
    }

    $c = $j->{stream};
    if (sdk_case_ok($c, 1, "$t stream")) {
        like($c->{calls}[0]{content_type} // '', qr{^text/event-stream},
             "$t stream: SSE");
        is($c->{text}, "echo: stream from the sdk $round",
           "$t stream: finalMessage text");
        is($c->{text_events}, $c->{text}, "$t stream: text events add up");
        is($c->{stop_reason}, 'end_turn', "$t stream: stop_reason");
        is($c->{first_event}, 'message_start', "$t stream: first event");
        is($c->{last_event}, 'message_stop', "$t stream: last event");
        ok((grep { $_ eq 'message_delta' } @{ $c->{event_types} || [] }),
           "$t stream: message_delta");
        usage_shape_ok($c->{usage}, "$t stream");
        sdk_usage_ok($c->{calls}[0], $group, $key, 1, "$t stream");
    }

    $c = $j->{tools};
    if (sdk_case_ok($c, 2, "$t tools")) {
        is($c->{stop_reason}, 'tool_use', "$t tools: stop_reason");
        ok((grep { $_ eq 'tool_use' } @{ $c->{block_types} || [] }),
           "$t tools: a tool_use block")
            or diag(json_encode($c->{block_types}));
        is($c->{tool}{name}, 'bash', "$t tools: name");
        like($c->{tool}{id} // '', qr/\S/, "$t tools: id");
        is_deeply($c->{tool}{input}, { command => 'echo MOCK_TOOL_OK' },
                  "$t tools: input") or diag(json_encode($c->{tool}));
        usage_shape_ok($c->{usage}, "$t tools");
        is($c->{after_tool}{text}, 'tool result: MOCK_TOOL_OK',
           "$t tools: the answer saw the tool result (stream)");
        is($c->{after_tool}{stop_reason}, 'end_turn',
           "$t tools: stop_reason after the tool");
        ok((grep { $_ eq 'MOCK_TOOL_OK' } map { tool_results($_->{body}) } @up),
           "$t tools: the tool result reached the provider");
        sdk_usage_ok($c->{calls}[0], $group, $key, 0, "$t tools");
        sdk_usage_ok($c->{calls}[1], $group, $key, 1, "$t tools, result");
    }

    $c = $j->{tools_stream};
    if (sdk_case_ok($c, 1, "$t tools stream")) {
        is($c->{stop_reason}, 'tool_use', "$t tools stream: stop_reason");
        is($c->{tool}{name}, 'bash', "$t tools stream: name");
        is_deeply($c->{tool}{input}, { command => 'echo MOCK_TOOL_OK' },
                  "$t tools stream: input") or diag(json_encode($c->{tool}));
        is_deeply(json_decode($c->{input_json_deltas} // ''),
                  { command => 'echo MOCK_TOOL_OK' },
                  "$t tools stream: input_json deltas add up");
        usage_shape_ok($c->{usage}, "$t tools stream");
    }

    $c = $j->{image};
    if (sdk_case_ok($c, 1, "$t image")) {
        like($c->{text} // '', qr/\[images: 1\]$/,
             "$t image: the mock saw 1 image");
        is($c->{stop_reason}, 'end_turn', "$t image: stop_reason");
    }

    $c = $j->{count_tokens};
    if (sdk_case_ok($c, 1, "$t count_tokens")) {
        like($c->{input_tokens} // '', qr/^[1-9]\d*$/,
             "$t count_tokens: input_tokens");
    }
  }
}

stop_stack();
done_testing;
