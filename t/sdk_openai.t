# The official OpenAI SDK (t/sdk/package.json pins it) through the gateway
# against groups of every target dialect: demo-chat and demo-responses
# (its own dialects) and demo-messages (translated).  Chat, a chat stream
# with a tool through finalChatCompletion and the tool result sent back,
# Responses, Responses streams through finalResponse (plain and with a
# tool), each as the SDK reports it, and the usage rows they left.
use strict;
use warnings;
use Test::More;
use Sluice::Test;
use Sluice::Test::Clients;

sdk_install('openai');

start_stack();
my $demo = seed_demo();

my %dialect = map { $_->{group} => $_->{dialect} }
    values %{ $demo->{dialects} };
my $key = $demo->{key_id};

for my $group (qw(demo-chat demo-responses demo-messages)) {
  for my $round (1, 2) {
    my $t = "$group $round";
    mock_reset();
    my $j = sdk_script($t, 'openai_dialects.mjs', $round,
                       SLUICE_URL => gw_url(), SLUICE_TOKEN => $demo->{token},
                       SLUICE_MODEL => $group) or next;
    note("openai SDK $j->{sdk}");

    # every upstream call went to the dialect of the group's target
    my @up = upstream_ok($t, $dialect{$group}, $demo->{token});

    # chat, JSON
    my $c = $j->{chat};
    if (sdk_case_ok($c, 1, "$t chat")) {
        is($c->{object}, 'chat.completion', "$t chat: object");
        is($c->{role}, 'assistant', "$t chat: role");
        is($c->{content}, "echo: hello from the sdk $round",
           "$t chat: content");
        is($c->{finish_reason}, 'stop', "$t chat: finish_reason");
        ok($c->{usage}{prompt_tokens} > 0 && $c->{usage}{completion_tokens} > 0,
           "$t chat: usage") or diag(json_encode($c->{usage}));
        like($c->{request_id} // '', qr/^[0-9a-f]{32}$/,
             "$t chat: _request_id");
        my $row = sdk_usage_ok($c->{calls}[0], $group, $key, 0, "$t chat");
        is($row->{output_tokens}, $c->{usage}{completion_tokens},
           "$t chat: the usage row counts what the SDK saw") if $row;
    }

    # chat stream with a tool, through the helper, then the tool result
    $c = $j->{chat_stream_tools};
    if (sdk_case_ok($c, 2, "$t chat stream tools")) {
        cmp_ok($c->{chunks}, '>=', 2, "$t chat stream tools: chunks");
        is($c->{finish_reason}, 'tool_calls',
           "$t chat stream tools: finish_reason");
        is($c->{tool_calls}, 1, "$t chat stream tools: one tool call");
        is($c->{tool}{type}, 'function', "$t chat stream tools: type");
        is($c->{tool}{name}, 'run_shell', "$t chat stream tools: name");
        like($c->{tool}{id} // '', qr/\S/, "$t chat stream tools: id");
        is_deeply($c->{tool}{parsed}, { command => 'echo MOCK_TOOL_OK' },
                  "$t chat stream tools: parsed arguments")
            or diag(json_encode($c->{tool}));
        is_deeply(json_decode($c->{tool}{arguments} // ''),
                  { command => 'echo MOCK_TOOL_OK' },
                  "$t chat stream tools: arguments are that JSON");
        cmp_ok($c->{tool_args_deltas}, '>=', 1,
               "$t chat stream tools: argument deltas");
        ok($c->{usage} && $c->{usage}{completion_tokens} > 0,
           "$t chat stream tools: usage chunk")
            or diag(json_encode($c->{usage}));
        is($c->{after_tool}{content}, 'tool result: MOCK_TOOL_OK from chat',
           "$t chat stream tools: the answer saw the tool result");
        is($c->{after_tool}{finish_reason}, 'stop',
           "$t chat stream tools: finish_reason after the tool");
        ok((grep { $_ eq 'MOCK_TOOL_OK from chat' }
            map { tool_results($_->{body}) } @up),
           "$t chat stream tools: the tool result reached the provider");
        sdk_usage_ok($c->{calls}[0], $group, $key, 1, "$t chat stream tools");
        sdk_usage_ok($c->{calls}[1], $group, $key, 0,
                     "$t chat stream tools, result");
    }

    # Responses, JSON
    $c = $j->{responses};
    if (sdk_case_ok($c, 1, "$t responses")) {
        is($c->{object}, 'response', "$t responses: object");
        is($c->{status}, 'completed', "$t responses: status");
        is($c->{output_text}, "echo: hello from the sdk $round",
           "$t responses: output_text");
        is_deeply($c->{output_types}, ['message'],
                  "$t responses: one message item");
        ok($c->{usage}{input_tokens} > 0 && $c->{usage}{output_tokens} > 0,
           "$t responses: usage") or diag(json_encode($c->{usage}));
        like($c->{request_id} // '', qr/^[0-9a-f]{32}$/,
             "$t responses: _request_id");
        my $row = sdk_usage_ok($c->{calls}[0], $group, $key, 0,
                               "$t responses");
        is($row->{output_tokens}, $c->{usage}{output_tokens},
           "$t responses: the usage row counts what the SDK saw") if $row;
    }

    # Responses stream through the helper
    $c = $j->{responses_stream};
    if (sdk_case_ok($c, 1, "$t responses stream")) {
        like($c->{calls}[0]{content_type} // '', qr{^text/event-stream},
             "$t responses stream: SSE");
        is($c->{status}, 'completed', "$t responses stream: status");
        is($c->{output_text}, "echo: stream from the sdk $round",
           "$t responses stream: finalResponse output_text");
        is($c->{deltas}, $c->{output_text},
           "$t responses stream: deltas add up to the text");
        is($c->{first_event}, 'response.created',
           "$t responses stream: first event");
        is($c->{last_event}, 'response.completed',
           "$t responses stream: last event");
        ok((grep { $_ eq 'response.output_item.done' }
            @{ $c->{event_types} || [] }),
           "$t responses stream: output_item.done");
        ok($c->{usage} && $c->{usage}{output_tokens} > 0,
           "$t responses stream: usage") or diag(json_encode($c->{usage}));
        sdk_usage_ok($c->{calls}[0], $group, $key, 1, "$t responses stream");
    }

    # Responses stream with a tool, then the tool result
    $c = $j->{responses_stream_tools};
    if (sdk_case_ok($c, 2, "$t responses stream tools")) {
        is($c->{status}, 'completed', "$t responses stream tools: status");
        ok((grep { $_ eq 'function_call' } @{ $c->{output_types} || [] }),
           "$t responses stream tools: a function_call item")
            or diag(json_encode($c->{output_types}));
        is($c->{tool}{name}, 'run_shell',
           "$t responses stream tools: name");
        like($c->{tool}{call_id} // '', qr/\S/,
             "$t responses stream tools: call_id");
        is_deeply(json_decode($c->{tool}{arguments} // ''),
                  { command => 'echo MOCK_TOOL_OK' },
                  "$t responses stream tools: arguments");
        is($c->{after_tool}{output_text},
           'tool result: MOCK_TOOL_OK from responses',
           "$t responses stream tools: the answer saw the tool result");
        ok((grep { $_ eq 'MOCK_TOOL_OK from responses' }
            map { tool_results($_->{body}) } @up),
           "$t responses stream tools: the tool result reached the provider");
    }
  }
}

stop_stack();
done_testing;
