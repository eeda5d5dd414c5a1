# The mock provider itself (t/mock/provider.js): deterministic answers,
# usage counts, SSE shape, controls and the recording endpoints the other
# tests rely on, in its three dialects (chat, responses, messages): JSON,
# SSE event sequences, tool calls and tool results, images, errors,
# drop and silent.  Needs no gateway.  With the SDKs installed in
# t/sdk/node_modules (t/sdk.t installs them), the official OpenAI and
# Anthropic SDKs read its Responses and Messages answers too.
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

# ---- the three dialects ----------------------------------------------------

my $M = $S->{mock_url};
my $T = JSON::PP::true;
my $F = JSON::PP::false;
my $SHELL_SCHEMA = { type => 'object', additionalProperties => $F,
                     properties => { command => { type => 'string' } },
                     required => ['command'] };
my $GENERIC_SCHEMA = {
    type => 'object',
    properties => {
        path => { type => 'string' }, n => { type => 'integer' },
        b => { type => 'boolean' }, opt => { type => 'string' },
        mode => { type => 'string', enum => ['fast', 'slow'] },
        nested => { type => 'object', required => ['x'],
                    properties => { x => { type => 'number' } } } },
    required => [qw(path n b mode nested)] };
my $GENERIC_ARGS = { path => 'mock', n => 1, b => $F, mode => 'fast',
                     nested => { x => 1 } };
my $SHELL_ARGS = { command => 'echo MOCK_TOOL_OK' };
my $PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8Bg'
        . 'AAAEAQEAZcq0ZAAAAABJRU5ErkJggg==';

sub post { my ($path, $body) = @_; return http('POST', "$M$path", {}, $body) }

sub stream {
    my ($path, $body) = @_;
    return raw_http('POST', "$M$path", {},
                    json_encode({ %$body, stream => $T }),
                    sse => 1, timeout => 20);
}

sub tokens { return ceil(length(json_encode(shift)) / 4) }

# every frame of a Responses / Messages stream has an event: line
# naming its JSON type
sub frames_named {
    my ($s, $name) = @_;
    my @bad = grep { !defined $_->{event} || !$_->{json}
                     || ($_->{json}{type} // '') ne $_->{event} }
              @{ $s->{events} };
    ok(!@bad && @{ $s->{events} }, "$name: every frame has event: = type")
        or diag(join "\n", map { "$_->{event}: $_->{data}" }
                @bad[0 .. ($#bad < 2 ? $#bad : 2)]);
}

# the events of one name, and one field of them joined
sub named { my ($s, $type) = @_;
            return grep { ($_->{event} // '') eq $type } @{ $s->{events} } }
sub joined {
    my ($s, $type, $get) = @_;
    return join '', map { $get->($_->{json}) // '' } named($s, $type);
}
sub by_name { my $s = shift;
              return map { $_->{event} => $_->{json} } @{ $s->{events} } }

# --- Responses

for my $round (1, 2) {
    my $input = "hello responses $round";
    my $r = post('/v1/responses', { model => 'r-1', input => $input,
                                    instructions => 'be brief',
                                    store => $F });
    is($r->{status}, 200, "responses json ($round)");
    my $j = $r->{json} || {};
    is($j->{object}, 'response', "responses: object ($round)");
    is($j->{status}, 'completed', "responses: status ($round)");
    like($j->{id} // '', qr/^resp_/, "responses: id ($round)");
    is($j->{model}, 'r-1', "responses: model echoed ($round)");
    is($j->{instructions}, 'be brief',
       "responses: instructions echoed ($round)");
    my $item = $j->{output}[0] || {};
    is($item->{type}, 'message', "responses: a message item ($round)");
    is($item->{role}, 'assistant', "responses: role ($round)");
    is($item->{content}[0]{type}, 'output_text',
       "responses: output_text ($round)");
    is($item->{content}[0]{text}, "echo: $input",
       "responses: answer ($round)");
    my $in = tokens($input);
    is_deeply($j->{usage}, {
        input_tokens => $in, output_tokens => 4, total_tokens => $in + 4,
        input_tokens_details => { cached_tokens => 0 },
        output_tokens_details => { reasoning_tokens => 0 } },
        "responses: usage ($round)");
    is(mock_last()->{path}, '/v1/responses', "responses: recorded ($round)");

    my $items = [{ role => 'user', content => [{ type => 'input_text',
        text => "a b c d e mock:events=2 mock:delay=50 $round" }] }];
    my $s = stream('/v1/responses', { model => 'r-1', input => $items });
    my $name = "responses stream ($round)";
    is($s->{status}, 200, "$name: 200");
    like($s->{headers}{'content-type'} // '', qr{^text/event-stream},
         "$name: SSE");
    is_deeply([sse_types($s)], [qw(
        response.created response.in_progress
        response.output_item.added response.content_part.added
        response.output_text.delta response.output_text.delta
        response.output_text.done response.content_part.done
        response.output_item.done response.completed)],
        "$name: event sequence");
    frames_named($s, $name);
    is_deeply([map { $_->{json}{sequence_number} } @{ $s->{events} }],
              [0 .. $#{ $s->{events} }], "$name: sequence_number 0, 1...");
    my $text = "echo: a b c d e $round";
    is(joined($s, 'response.output_text.delta', sub { $_[0]{delta} }),
       $text, "$name: deltas");
    my %ev = by_name($s);
    is($ev{'response.output_text.done'}{text}, $text, "$name: text done");
    is($ev{'response.created'}{response}{status}, 'in_progress',
       "$name: created in progress");
    my $item_id = $ev{'response.output_item.added'}{item}{id};
    ok($item_id && !grep({ exists $_->{json}{item_id}
                           && $_->{json}{item_id} ne $item_id }
                         @{ $s->{events} }), "$name: one item id");
    my $done = $ev{'response.completed'}{response} || {};
    is($done->{id}, $ev{'response.created'}{response}{id},
       "$name: one response id");
    is($done->{status}, 'completed', "$name: completed");
    is($done->{output}[0]{content}[0]{text}, $text,
       "$name: completed output");
    is($done->{usage}{output_tokens}, 7, "$name: usage output");
    is($done->{usage}{input_tokens}, tokens($items), "$name: usage input");
    cmp_ok($s->{events}[-1]{t} - $s->{events}[0]{t}, '>=', 0.4,
           "$name: events spaced by mock:delay");
}

# tools: one call of a function tool (Codex's other kinds are never
# called)
my @codex_tools = (
    { type => 'custom', name => 'apply_patch', description => 'patch',
      format => { type => 'grammar', syntax => 'lark',
                  definition => 'start: "x"' } },
    { type => 'web_search', external_web_access => $F },
    { type => 'namespace', name => 'ns', tools => [] },
    { type => 'function', name => 'exec_command', strict => $F,
      parameters => { type => 'object', required => ['cmd'],
                      properties => { cmd => { type => 'string' },
                                      login => { type => 'boolean' } } } },
);
for my $round (1, 2) {
    my $input = [{ type => 'message', role => 'user', content => [
        { type => 'input_text', text => "run it $round" }] }];
    my %req = (model => 'r', input => $input, tools => \@codex_tools);
    my $r = post('/v1/responses', \%req);
    my $o = $r->{json}{output} || [];
    is(scalar @$o, 1, "responses tool: one item ($round)");
    is($o->[0]{type}, 'function_call', "responses tool: function_call "
       . "($round)");
    is($o->[0]{name}, 'exec_command', "responses tool: the function tool "
       . "($round)");
    like($o->[0]{call_id} // '', qr/^call_/, "responses tool: call_id "
         . "($round)");
    is_deeply(json_decode($o->[0]{arguments} // ''),
              { cmd => 'echo MOCK_TOOL_OK' },
              "responses tool: shell arguments ($round)");

    my $s = stream('/v1/responses', \%req);
    my $name = "responses tool stream ($round)";
    is_deeply([sse_types($s)], [qw(
        response.created response.in_progress response.output_item.added
        response.function_call_arguments.delta
        response.function_call_arguments.delta
        response.function_call_arguments.delta
        response.function_call_arguments.done response.output_item.done
        response.completed)], "$name: event sequence");
    frames_named($s, $name);
    my %ev = by_name($s);
    my $args = $ev{'response.function_call_arguments.done'}{arguments};
    is(joined($s, 'response.function_call_arguments.delta',
              sub { $_[0]{delta} }), $args, "$name: deltas add up");
    is($ev{'response.function_call_arguments.done'}{name}, 'exec_command',
       "$name: done names the tool");
    is($ev{'response.output_item.added'}{item}{arguments}, '',
       "$name: added with no arguments");
    is($ev{'response.output_item.done'}{item}{arguments}, $args,
       "$name: item done");
    is($ev{'response.output_item.done'}{item}{status}, 'completed',
       "$name: item completed");
    is($ev{'response.completed'}{response}{output}[0]{call_id},
       $ev{'response.output_item.added'}{item}{call_id},
       "$name: call_id kept");

    # the tool result
    my $call = $o->[0];
    $r = post('/v1/responses', { model => 'r', tools => \@codex_tools,
        input => [@$input, $call, { type => 'function_call_output',
                                    call_id => $call->{call_id},
                                    output => "MOCK_TOOL_OK\n$round" }] });
    is($r->{json}{output}[0]{type}, 'message',
       "responses tool result: a message ($round)");
    is($r->{json}{output}[0]{content}[0]{text},
       "tool result: MOCK_TOOL_OK\n$round",
       "responses tool result: its text ($round)");

    # only other kinds of tools, mock:notools, tool_choice none: text
    $r = post('/v1/responses', { model => 'r', input => "x $round",
                                 tools => [@codex_tools[0 .. 2]] });
    is($r->{json}{output}[0]{content}[0]{text}, "echo: x $round",
       "responses: custom/web_search/namespace are not called ($round)");
    $r = post('/v1/responses', { %req, input => 'y mock:notools' });
    is($r->{json}{output}[0]{content}[0]{text}, 'echo: y',
       "responses: mock:notools ($round)");
    $r = post('/v1/responses', { %req, tool_choice => 'none' });
    is($r->{json}{output}[0]{type}, 'message',
       "responses: tool_choice none ($round)");

    # arguments from a schema; mock:tool= picks the tool
    $r = post('/v1/responses', { model => 'r', input => 'g mock:tool=gen',
        tools => [@codex_tools, { type => 'function', name => 'gen',
                                  parameters => $GENERIC_SCHEMA }] });
    is($r->{json}{output}[0]{name}, 'gen', "responses: mock:tool ($round)");
    is_deeply(json_decode($r->{json}{output}[0]{arguments} // ''),
              $GENERIC_ARGS, "responses: arguments from the schema "
              . "($round)");

    # images
    $r = post('/v1/responses', { model => 'r', input => [{ role => 'user',
        content => [
            { type => 'input_text', text => 'Describe this.' },
            { type => 'input_image',
              image_url => "data:image/png;base64,$PNG" },
            { type => 'input_image',
              image_url => 'https://example.com/a.png' }] }] });
    is($r->{json}{output}[0]{content}[0]{text},
       'echo: Describe this. [images: 2]',
       "responses: images counted ($round)");

    # errors, cached tokens
    $r = post('/v1/responses', { model => 'r', input => 'mock:status=429' });
    is($r->{status}, 429, "responses: mock:status ($round)");
    is($r->{headers}{'retry-after'}, 1, "responses: retry-after ($round)");
    is($r->{json}{error}{type}, 'rate_limit_error',
       "responses: OpenAI error envelope ($round)");
    $r = post('/v1/responses', { model => 'r',
                                 input => ('x' x 40) . ' mock:cached=3' });
    is($r->{json}{usage}{input_tokens_details}{cached_tokens}, 3,
       "responses: mock:cached ($round)");
}

# --- Messages

for my $round (1, 2) {
    my $msgs = [{ role => 'user', content => "hello messages $round" }];
    my $r = post('/v1/messages?beta=true',
                 { model => 'c-1', max_tokens => 64, messages => $msgs });
    is($r->{status}, 200, "messages json ($round)");
    my $j = $r->{json} || {};
    is($j->{type}, 'message', "messages: type ($round)");
    is($j->{role}, 'assistant', "messages: role ($round)");
    like($j->{id} // '', qr/^msg_/, "messages: id ($round)");
    is($j->{model}, 'c-1', "messages: model echoed ($round)");
    is_deeply($j->{content},
              [{ type => 'text', text => "echo: hello messages $round" }],
              "messages: content ($round)");
    is($j->{stop_reason}, 'end_turn', "messages: stop_reason ($round)");
    is_deeply($j->{usage}, { input_tokens => tokens($msgs),
        output_tokens => 4, cache_creation_input_tokens => 0,
        cache_read_input_tokens => 0, service_tier => 'standard' },
        "messages: usage ($round)");
    my $last = mock_last();
    is($last->{path}, '/v1/messages', "messages: recorded path ($round)");
    is_deeply($last->{query}, { beta => 'true' },
              "messages: recorded query ($round)");

    $msgs = [{ role => 'user', content => [{ type => 'text',
        text => "a b c d e mock:events=2 mock:delay=50 $round" }] }];
    my $s = stream('/v1/messages',
                   { model => 'c-1', max_tokens => 64, messages => $msgs });
    my $name = "messages stream ($round)";
    is($s->{status}, 200, "$name: 200");
    like($s->{headers}{'content-type'} // '', qr{^text/event-stream},
         "$name: SSE");
    is_deeply([sse_types($s)], [qw(message_start ping content_block_start
        content_block_delta content_block_delta content_block_stop
        message_delta message_stop)], "$name: event sequence");
    frames_named($s, $name);
    my %ev = by_name($s);
    is($ev{message_start}{message}{usage}{input_tokens}, tokens($msgs),
       "$name: input_tokens in message_start");
    is_deeply($ev{content_block_start}{content_block},
              { type => 'text', text => '' }, "$name: a text block");
    is(joined($s, 'content_block_delta', sub { $_[0]{delta}{text} }),
       "echo: a b c d e $round", "$name: text deltas");
    is($ev{message_delta}{delta}{stop_reason}, 'end_turn',
       "$name: stop_reason");
    is($ev{message_delta}{usage}{output_tokens}, 7, "$name: output_tokens");
    cmp_ok($s->{events}[-1]{t} - $s->{events}[0]{t}, '>=', 0.3,
           "$name: events spaced by mock:delay");
}

# as Claude Code sends it: reminders, a system message, many tools (the
# shell tool not first, a server tool)
my @cc_tools = (
    { name => 'Agent', description => 'agent', input_schema => {
        type => 'object', required => [qw(description prompt)],
        properties => { description => { type => 'string' },
                        prompt => { type => 'string' } } } },
    { type => 'web_search_20250305', name => 'web_search', max_uses => 1 },
    { name => 'Bash', description => 'shell', input_schema => {
        '$schema' => 'http://json-schema.org/draft-07/schema#',
        type => 'object', additionalProperties => $F,
        required => ['command'],
        properties => { command => { type => 'string' },
                        timeout => { type => 'number' } } } },
);
for my $round (1, 2) {
    my $user = { role => 'user', content => [
        { type => 'text', text => "<system-reminder>\nmock:status=500 "
          . "ignore me\n</system-reminder>" },
        { type => 'text', text => "do it $round",
          cache_control => { type => 'ephemeral' } }] };
    my $msgs = [$user, { role => 'system', content => 'agent types' }];
    my %req = (model => 'c', max_tokens => 64, tools => \@cc_tools,
               messages => $msgs);
    my $r = post('/v1/messages', \%req);
    is($r->{status}, 200, "messages tool: controls in reminders do not "
       . "count ($round)");
    my $use = $r->{json}{content}[0] || {};
    is_deeply($r->{json}{content}, [{ type => 'tool_use', id => $use->{id},
        name => 'Bash', input => $SHELL_ARGS }],
        "messages tool: one tool_use of the shell tool ($round)");
    like($use->{id} // '', qr/^toolu_/, "messages tool: id ($round)");
    is($r->{json}{stop_reason}, 'tool_use',
       "messages tool: stop_reason ($round)");

    my $s = stream('/v1/messages', \%req);
    my $name = "messages tool stream ($round)";
    is_deeply([sse_types($s)], [qw(message_start ping content_block_start
        content_block_delta content_block_delta content_block_delta
        content_block_delta content_block_stop message_delta
        message_stop)], "$name: event sequence");
    frames_named($s, $name);
    my @d = map { $_->{json}{delta} } named($s, 'content_block_delta');
    ok(!grep({ $_->{type} ne 'input_json_delta' } @d),
       "$name: input_json_delta");
    is_deeply(json_decode(join '', map { $_->{partial_json} } @d),
              $SHELL_ARGS, "$name: the input");
    my %ev = by_name($s);
    is($ev{content_block_start}{content_block}{name}, 'Bash',
       "$name: block start");
    is_deeply($ev{content_block_start}{content_block}{input}, {},
              "$name: empty input at the start");
    is($ev{message_delta}{delta}{stop_reason}, 'tool_use',
       "$name: stop_reason");

    # the tool result (a reminder next to it); the prompt's controls
    my $result = { role => 'user', content => [
        { type => 'tool_result', tool_use_id => $use->{id},
          content => [{ type => 'text', text => "MOCK_TOOL_OK $round" }] },
        { type => 'text', text => '<system-reminder>x</system-reminder>' }] };
    $user->{content}[1]{text} = "do it mock:words=2 $round";
    my @turn = (@$msgs, { role => 'assistant', content => [$use] },
                $result);
    $r = post('/v1/messages', { %req, messages => \@turn });
    is_deeply($r->{json}{content},
              [{ type => 'text', text => "tool result: MOCK_TOOL_OK $round" }],
              "messages tool result: text ($round)");
    is($r->{json}{stop_reason}, 'end_turn',
       "messages tool result: end_turn ($round)");
    $result->{content}[0]{content} = 'x' x 300;
    $r = post('/v1/messages', { %req, messages => \@turn });
    is($r->{json}{content}[0]{text}, 'tool result: ' . ('x' x 200),
       "messages tool result: 200 characters ($round)");

    my $go = [{ role => 'user', content => 'go' }];
    $r = post('/v1/messages', { %req, messages => [
        { role => 'user', content => "plain mock:notools" }] });
    is_deeply($r->{json}{content}, [{ type => 'text', text => 'echo: plain' }],
              "messages: mock:notools ($round)");
    $r = post('/v1/messages', { %req, messages => $go,
        tool_choice => { type => 'tool', name => 'Agent' } });
    is_deeply($r->{json}{content}[0]{input},
              { description => 'mock', prompt => 'mock' },
              "messages: tool_choice forces a tool ($round)");
    $r = post('/v1/messages', { %req, messages => $go,
                                tool_choice => { type => 'none' } });
    is($r->{json}{content}[0]{type}, 'text',
       "messages: tool_choice none ($round)");
    $r = post('/v1/messages', { %req, messages => $go, tools => [
        { name => 'gen', input_schema => $GENERIC_SCHEMA }] });
    is_deeply($r->{json}{content}[0]{input}, $GENERIC_ARGS,
              "messages: arguments from the schema ($round)");

    # images: base64 and URL blocks
    $r = post('/v1/messages', { model => 'c', max_tokens => 64,
        messages => [{ role => 'user', content => [
            { type => 'image', source => { type => 'base64',
              media_type => 'image/png', data => $PNG } },
            { type => 'image', source => { type => 'url',
              url => 'https://example.com/a.png' } },
            { type => 'text', text => 'What is this?' }] }] });
    is($r->{json}{content}[0]{text}, 'echo: What is this? [images: 2]',
       "messages: images counted ($round)");

    # thinking, cached tokens, count_tokens
    my $tm = [{ role => 'user',
                content => ('x' x 40) . ' mock:thinking mock:cached=3' }];
    $r = post('/v1/messages', { model => 'c', max_tokens => 64,
                                messages => $tm });
    my $c = $r->{json}{content} || [];
    is($c->[0]{type}, 'thinking', "messages: mock:thinking ($round)");
    ok($c->[0]{signature}, "messages: thinking signature ($round)");
    is($c->[1]{text}, 'echo: ' . ('x' x 40),
       "messages: text after thinking ($round)");
    is($r->{json}{usage}{cache_read_input_tokens}, 3,
       "messages: cache_read_input_tokens ($round)");
    is($r->{json}{usage}{input_tokens}, tokens($tm) - 3,
       "messages: input_tokens leaves out the cached ($round)");
    $s = stream('/v1/messages', { model => 'c', max_tokens => 64,
        messages => [{ role => 'user', content => 'hm mock:thinking' }] });
    is_deeply([map { $_->{json}{delta}{type} }
               named($s, 'content_block_delta')],
              [qw(thinking_delta thinking_delta signature_delta
                  text_delta text_delta text_delta)],
              "messages stream: thinking then text ($round)");
    $r = post('/v1/messages/count_tokens', { model => 'c', messages => $go });
    is_deeply($r->{json}, { input_tokens => tokens($go) },
              "messages: count_tokens ($round)");

    # errors in the Anthropic envelope
    for my $e ([529, 'overloaded_error'], [429, 'rate_limit_error'],
               [400, 'invalid_request_error'], [500, 'api_error']) {
        my ($code, $type) = @$e;
        $r = post('/v1/messages', { model => 'c', max_tokens => 64,
            messages => [{ role => 'user', content => "mock:status=$code" }] });
        is($r->{status}, $code, "messages: mock:status=$code ($round)");
        is_deeply($r->{json}, { type => 'error', error => { type => $type,
            message => "mock provider error $code" } },
            "messages: $type envelope ($round)");
        is($r->{headers}{'retry-after'}, $code == 429 ? 1 : undef,
           "messages: retry-after only on 429 ($code, $round)");
    }
    $r = http('POST', "$M/v1/messages", {}, 'not json');
    is($r->{json}{type}, 'error',
       "messages: the mock's own 400 in the Anthropic envelope ($round)");
}

# --- Chat: tools, tool results, images

for my $round (1, 2) {
    my $tools = [{ type => 'function', function => {
        name => 'run_shell', strict => $T, parameters => $SHELL_SCHEMA } }];
    my $msgs = [{ role => 'user', content => "run it $round" }];
    my %req = (model => 'm', messages => $msgs, tools => $tools);
    my $r = post('/v1/chat/completions', \%req);
    my $c = $r->{json}{choices}[0] || {};
    is($c->{finish_reason}, 'tool_calls', "chat tool: finish_reason "
       . "($round)");
    is($c->{message}{content}, undef, "chat tool: content null ($round)");
    my $call = ($c->{message}{tool_calls} || [])->[0] || {};
    is($call->{type}, 'function', "chat tool: a function call ($round)");
    like($call->{id} // '', qr/^call_/, "chat tool: id ($round)");
    is($call->{function}{name}, 'run_shell', "chat tool: name ($round)");
    is_deeply(json_decode($call->{function}{arguments} // ''), $SHELL_ARGS,
              "chat tool: arguments ($round)");
    is($r->{json}{usage}{completion_tokens}, 2,
       "chat tool: completion_tokens = words of the arguments ($round)");

    my $s = stream('/v1/chat/completions', { %req,
        stream_options => { include_usage => $T } });
    my $name = "chat tool stream ($round)";
    my @ch = map { $_->{json} } grep { $_->{json} } @{ $s->{events} };
    is($s->{events}[-1]{data}, '[DONE]', "$name: [DONE]");
    my @tc = map { $_->{choices}[0]{delta}{tool_calls}[0] }
             grep { @{ $_->{choices} }
                    && $_->{choices}[0]{delta}{tool_calls} } @ch;
    is(scalar @tc, 4, "$name: 1 + 3 tool call deltas");
    ok($tc[0]{id} && $tc[0]{type} eq 'function'
       && $tc[0]{function}{name} eq 'run_shell',
       "$name: the first has id, type, name");
    ok(!grep({ exists $_->{id} || exists $_->{function}{name} }
             @tc[1 .. $#tc]), "$name: later ones only arguments");
    is(join('', map { $_->{function}{arguments} } @tc),
       json_encode($SHELL_ARGS), "$name: arguments add up");
    is(scalar(grep { @{ $_->{choices} } && ($_->{choices}[0]{finish_reason}
                                            // '') eq 'tool_calls' } @ch),
       1, "$name: finish_reason tool_calls once");
    is($ch[-1]{usage}{completion_tokens}, 2, "$name: usage");

    $r = post('/v1/chat/completions', { %req, messages => [@$msgs,
        { role => 'assistant', content => undef, tool_calls => [$call] },
        { role => 'tool', tool_call_id => $call->{id},
          content => "MOCK_TOOL_OK $round" }] });
    is($r->{json}{choices}[0]{message}{content},
       "tool result: MOCK_TOOL_OK $round", "chat tool result ($round)");
    is($r->{json}{choices}[0]{finish_reason}, 'stop',
       "chat tool result: stop ($round)");
    $r = post('/v1/chat/completions', { %req, tool_choice => 'none' });
    is($r->{json}{choices}[0]{message}{content}, "echo: run it $round",
       "chat: tool_choice none ($round)");

    $r = post('/v1/chat/completions', { model => 'm', messages => [
        { role => 'user', content => [
            { type => 'text', text => 'What is in this image?' },
            { type => 'image_url',
              image_url => { url => "data:image/png;base64,$PNG" } }] }] });
    is($r->{json}{choices}[0]{message}{content},
       'echo: What is in this image? [images: 1]',
       "chat: images counted ($round)");
}

# --- drop and silent, in every dialect

my %plain = (
    chat => ['/v1/chat/completions', '[DONE]', sub {
        +{ model => 'm', messages => [{ role => 'user', content => shift }] }
    }],
    responses => ['/v1/responses', 'response.completed', sub {
        +{ model => 'r', input => shift }
    }],
    messages => ['/v1/messages', 'message_stop', sub {
        +{ model => 'c', max_tokens => 64,
          messages => [{ role => 'user', content => shift }] }
    }],
);

# index of the first event carrying answer text
sub first_content {
    my @e = @_;
    for my $i (0 .. $#e) {
        my $j = $e[$i]{json} || {};
        return $i if ($e[$i]{event} // '')
            =~ /^(content_block_delta|response\.output_text\.delta)$/;
        return $i if $j->{choices} && @{ $j->{choices} }
            && length($j->{choices}[0]{delta}{content} // '');
    }
    return undef;
}

for my $round (1, 2) {
    for my $d (sort keys %plain) {
        my ($path, $end, $mk) = @{ $plain{$d} };
        my $s = stream($path, $mk->('a b c d mock:drop=3'));
        is($s->{status}, 200, "$d drop: 200 ($round)");
        is(scalar @{ $s->{events} }, 3, "$d drop: 3 events, then the cut "
           . "($round)");
        ok(!grep({ $_ eq $end } sse_types($s)), "$d drop: no end ($round)");

        $s = stream($path, $mk->('a b c d mock:silent=800'));
        my @e = @{ $s->{events} };
        my $i = first_content(@e);
        ok(defined $i && $i < $#e, "$d silent: a first content event "
           . "($round)") or next;
        cmp_ok($e[$i]{t} - $e[0]{t}, '<', 0.6, "$d silent: not before it "
               . "($round)");
        cmp_ok($e[$i + 1]{t} - $e[$i]{t}, '>=', 0.7,
               "$d silent: then nothing for 800 ms ($round)");
        is((sse_types($s))[-1], $end, "$d silent: then the rest ($round)");
    }
}

# --- the official SDKs read the Responses and Messages answers

SKIP: {
    my $sdk = "$Sluice::Test::REPO/t/sdk";
    skip 'SDKs not installed in t/sdk/node_modules (t/sdk.t installs them)',
        1 unless -d "$sdk/node_modules/openai"
                 && -d "$sdk/node_modules/\@anthropic-ai/sdk";
    local $ENV{SLUICE_URL} = $M;
    local $ENV{SLUICE_TOKEN} = 'sk-mock';
    my $out = `timeout 120 node '$sdk/mock_dialects.mjs' 7 2>&1`;
    is($?, 0, 'mock_dialects.mjs ran') or diag($out);
    my ($line) = grep { /^\{/ } split /\n/, $out;
    my $j = json_decode($line // '') || {};
    my ($rs, $ms) = ($j->{responses} || {}, $j->{messages} || {});
    ok(!$rs->{crashed} && !$ms->{crashed}, 'SDKs: no exception')
        or diag($out);
    is($rs->{json}{text}, 'echo: hello responses 7',
       'openai responses.create: output_text');
    is($rs->{stream}{text}, 'echo: stream responses 7',
       'openai responses.stream: finalResponse');
    is($rs->{stream}{deltas}, 'echo: stream responses 7',
       'openai responses.stream: deltas');
    is($rs->{stream}{usage}{output_tokens}, 4,
       'openai responses.stream: usage');
    is_deeply(json_decode($rs->{tool_call}{arguments} // ''), $SHELL_ARGS,
              'openai responses: function_call');
    is($rs->{tool_result}{text}, 'tool result: ran 7',
       'openai responses: the tool result answered');
    is($rs->{tool_stream}{arguments}, json_encode($SHELL_ARGS),
       'openai responses.stream: function_call');
    is($rs->{image}{text}, 'echo: Describe this. [images: 1]',
       'openai responses: image');
    is($rs->{error}{status}, 429, 'openai responses: RateLimitError');
    is($ms->{json}{text}, 'echo: hello messages 7',
       'anthropic messages.create: text');
    is($ms->{stream}{text}, 'echo: stream messages 7',
       'anthropic messages.stream: finalMessage');
    is($ms->{stream}{usage}{output_tokens}, 4,
       'anthropic messages.stream: usage');
    is_deeply($ms->{tool_call}{input}, $SHELL_ARGS,
              'anthropic messages: tool_use');
    is($ms->{tool_result}{text}, 'tool result: ran 7',
       'anthropic messages: the tool result answered');
    is_deeply($ms->{tool_stream}{input}, $SHELL_ARGS,
              'anthropic messages.stream: tool_use');
    is($ms->{image}{text}, 'echo: What is in this image? [images: 1]',
       'anthropic messages: image');
    ok($ms->{count_tokens}{input_tokens}, 'anthropic messages.countTokens');
    is($ms->{error}{status}, 529, 'anthropic messages: 529');
    is($ms->{error}{error_type}, 'overloaded_error',
       'anthropic messages: overloaded_error');
}

stop_stack();
done_testing;
