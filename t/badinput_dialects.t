# Bad input on the dialect routes (/v1/responses, /v1/messages,
# /anthropic/v1/messages and count_tokens under both), each against a
# group of another dialect and one of its own: broken and non-object JSON,
# wrong types for the fields the translators read, unknown fields, bodies
# over and just under the 4m limit, hostile headers, wrong methods, chunked
# and empty bodies, bodies that are not labelled JSON.  As a caller sees
# it: a 4xx (never a 5xx for a caller's mistake, never a hang) in the
# envelope of the caller's dialect with a message that says what is wrong
# and X-Request-Id; the provider not called for what is refused before
# routing; a usage row with the status sent; a gateway that keeps serving;
# no [alert]/[crit]/[emerg] in error.log.
use strict;
use warnings;
use Test::More;
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);
use Sluice::Test;

start_stack();
my $demo = seed_demo();
my $tok = $demo->{token};

my @GROUPS = qw(demo-chat demo-responses demo-messages);
my %GROUP_DIALECT = ('demo-chat' => 'chat', 'demo-responses' => 'responses',
                     'demo-messages' => 'messages');
my $LIMIT = 4 * 1024 * 1024;            # client_max_body_size in gateway.conf

# kind: gen (a provider call) or count (count_tokens, never a provider call)
my @ROUTES = (
    { path => '/v1/responses', dialect => 'responses', kind => 'gen' },
    { path => '/v1/messages', dialect => 'messages', kind => 'gen' },
    { path => '/anthropic/v1/messages', dialect => 'messages',
      kind => 'gen' },
    { path => '/v1/messages/count_tokens', dialect => 'messages',
      kind => 'count' },
    { path => '/anthropic/v1/messages/count_tokens', dialect => 'messages',
      kind => 'count' },
);
my %ROUTE = map { $_->{path} => $_ } @ROUTES;

my %ANTHROPIC_TYPE = (400 => 'invalid_request_error',
                      401 => 'authentication_error',
                      403 => 'permission_error', 404 => 'not_found_error',
                      405 => 'invalid_request_error',
                      413 => 'request_too_large', 429 => 'rate_limit_error');

# ---------------------------------------------------------------------------
# helpers

sub anthropic_route { return $_[0] =~ m{/messages} }

sub auth_headers {
    my ($path) = @_;
    return anthropic_route($path)
        ? { 'x-api-key' => $tok, 'anthropic-version' => '2023-06-01' }
        : { authorization => "Bearer $tok" };
}

# post($path, $raw_body, headers => {...}, chunked => 1) -> response; a
# header given as undef is left out; raw_http, so a hang shows as 599
sub post {
    my ($path, $body, %o) = @_;
    my %h = (%{ auth_headers($path) }, 'content-type' => 'application/json',
             %{ $o{headers} || {} });
    delete $h{$_} for grep { !defined $h{$_} } keys %h;
    if ($o{keepalive}) {
        # HTTP::Tiny on a kept-alive connection: errors must not spoil it
        my $r = http('POST', $path, \%h, $body);
        $r->{body} = $r->{content};
        return $r;
    }
    my $r = raw_http('POST', gw_url($path), \%h, $body,
                     timeout => $o{timeout} // 30,
                     $o{chunked} ? (chunked => 1) : ());
    $r->{content} = $r->{body};
    return $r;
}

# A request body in the route's dialect (a plain user turn) for model
# $group; $extra fields are merged in (a field given as undef is removed).
sub body_for {
    my ($path, $group, %extra) = @_;
    my %b = (model => $group);
    if ($path =~ m{/responses$}) {
        $b{input} = 'hello mock:notools';
    } else {
        $b{messages} = [{ role => 'user', content => 'hello mock:notools' }];
        $b{max_tokens} = 16 unless $path =~ /count_tokens/;
    }
    %b = (%b, %extra);
    delete $b{$_} for grep { !defined $b{$_} } keys %b;
    return json_encode(\%b);
}

# what the mock saw since the last mock_reset(): (count, last request
# without its body)
sub mock_seen {
    my $r = HTTP::Tiny->new(timeout => 5)
        ->get(stack()->{mock_url} . '/__mock/requests?full=0');
    my $j = json_decode($r->{content} // '') // {};
    return ($j->{count} // 0, ($j->{requests} || [])->[-1]);
}

sub body_of { return substr($_[0]{body} // $_[0]{content} // '', 0, 400) }

# refused($res, $path, $status, $codes, $name, $msg_re): the status, a
# JSON body in the envelope of the route's dialect, error.code one of
# $codes (a string or a list), a message (matching $msg_re) and
# X-Request-Id.
sub refused {
    my ($res, $path, $status, $codes, $name, $msg_re) = @_;
    # a wrong status makes the envelope checks moot: one failure is enough
    if (!is($res->{status}, $status, "$name: status $status")) {
        diag("body: " . body_of($res));
        return;
    }
    like($res->{headers}{'content-type'} // '', qr{^application/json},
         "$name: a JSON body");
    my $j = ref $res->{json} eq 'HASH' ? $res->{json} : {};
    my $e = ref $j->{error} eq 'HASH' ? $j->{error} : {};
    if (anthropic_route($path)) {
        ok(($j->{type} // '') eq 'error' && defined $e->{type},
           "$name: Anthropic envelope")
            or diag("body: " . body_of($res));
        is($e->{type}, $ANTHROPIC_TYPE{$status}
                       // ($status >= 500 ? 'api_error'
                                          : 'invalid_request_error'),
           "$name: Anthropic error.type");
    } else {
        ok(%$e && !exists $j->{type}, "$name: OpenAI envelope")
            or diag("body: " . body_of($res));
    }
    if (defined $codes) {
        my @c = ref $codes ? @$codes : ($codes);
        ok((grep { ($e->{code} // '') eq $_ } @c),
           "$name: error code " . join('|', @c))
            or diag("code: " . ($e->{code} // 'undef'));
    }
    ok(defined $e->{message} && !ref $e->{message} && length $e->{message},
       "$name: a message");
    like($e->{message} // '', $msg_re, "$name: the message says what is wrong")
        if $msg_re;
    return request_id_ok($res, $name);
}

# usage rows to look for at the end: request id => expected fields
my %ROWS;
sub expect_row {
    my ($res, $name, %want) = @_;
    my $rid = $res->{headers}{'x-request-id'};
    return unless defined $rid && $rid =~ /^[0-9a-f]{32}$/;
    $ROWS{$rid} = { name => $name, %want };
}

# the gateway still answers a good request on every route
sub still_serving {
    my ($when) = @_;
    for my $rt (@ROUTES) {
        my $r = post($rt->{path}, body_for($rt->{path}, 'demo-chat'));
        is($r->{status}, 200, "$rt->{path} still serves ($when)")
            or diag("body: " . body_of($r));
    }
}

# one refusal made before routing: envelope, provider not called, a row
sub refused_before_provider {
    my ($rt, $body, $status, $codes, $name, $msg_re, %o) = @_;
    mock_reset();
    my $t0 = time;
    my $r = post($rt->{path}, $body, %o);
    refused($r, $rt->{path}, $status, $codes, $name, $msg_re);
    ok(time - $t0 < 10, "$name: answered at once");
    my ($n) = mock_seen();
    is($n, 0, "$name: the provider was not called");
    expect_row($r, $name, status => $r->{status}, dialect => $rt->{dialect},
               endpoint => $rt->{path}, key => 1)
        if $rt->{kind} eq 'gen' && !$o{no_row};
    return $r;
}

# a raw request over its own socket (for what raw_http cannot send)
sub raw_socket {
    my ($text, $timeout) = @_;
    my ($port) = gw_url() =~ /:(\d+)$/;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 5) or die "connect: $!";
    print $s $text;
    my $sel = IO::Select->new($s);
    my $got = '';
    my $end = time + ($timeout // 10);
    while (time < $end) {
        last unless $sel->can_read($end - time);
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $got .= $buf;
    }
    close $s;
    my %res = (status => 599, headers => {}, body => '');
    if ($got =~ m{^HTTP/1\.\d (\d+)[^\r\n]*\r\n(.*?)\r\n\r\n(.*)\z}s) {
        $res{status} = $1;
        my ($head, $body) = ($2, $3);
        for (split /\r\n/, $head) {
            $res{headers}{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
        }
        $res{body} = $res{content} = $body;
        $res{json} = json_decode($body)
            if ($res{headers}{'content-type'} // '') =~ /json/;
    }
    return \%res;
}

# ---------------------------------------------------------------------------
# 1. bodies refused before routing, on every route, against every group

my $deep = ('[' x 300) . (']' x 300);
my @SYNTAX = (
    # name, body for group $_[0], codes, message
    ['malformed JSON', sub { qq({"model":"$_[0]","max_tokens":16,)
                             . qq("messages":[}) },
     'invalid-request', qr/not a valid JSON object/],
    ['truncated JSON', sub { qq({"model":"$_[0]","max_tokens":16,)
                             . qq("messages":[{"role":"user","content":"hi") },
     'invalid-request', qr/not a valid JSON object.*end/],
    ['a JSON array', sub { qq([{"model":"$_[0]"}]) },
     'invalid-request', qr/not a valid JSON object/],
    ['a JSON string', sub { qq("$_[0]") },
     'invalid-request', qr/not a valid JSON object/],
    ['a JSON number', sub { '42' },
     'invalid-request', qr/not a valid JSON object/],
    ['JSON null', sub { 'null' },
     'invalid-request', qr/not a valid JSON object/],
    ['two objects', sub { qq({"model":"$_[0]"}{"model":"$_[0]"}) },
     'invalid-request', qr/not a valid JSON object.*trailing/],
    ['deeply nested JSON', sub { qq({"model":"$_[0]","x":$deep}) },
     'invalid-request', qr/nest|deep/],
    ['invalid UTF-8', sub { qq({"model":"$_[0]","max_tokens":16,)
                            . qq("messages":[{"role":"user",)
                            . qq("content":"bad \xff\xfe bytes"}],)
                            . qq("input":"x"}) },
     'invalid-request', qr/UTF-8/],
    ['overlong UTF-8', sub { qq({"model":"$_[0]","input":"\xc0\xaf"}) },
     'invalid-request', qr/UTF-8/],
    ['duplicate model key', sub { qq({"model":"$_[0]","model":"$_[0]"}) },
     'invalid-request', qr/duplicate/],
    ['stream "yes"', sub { qq({"model":"$_[0]","stream":"yes","input":"x"}) },
     'invalid-request', qr/"stream"/],
    ['stream 1', sub { qq({"model":"$_[0]","stream":1,"input":"x"}) },
     'invalid-request', qr/"stream"/],
    ['model a number', sub { '{"model":42,"input":"x"}' },
     'invalid-request', qr/"model"/],
    ['model null', sub { '{"model":null,"input":"x"}' },
     'invalid-request', qr/"model"/],
    ['model an object', sub { qq({"model":{"name":"$_[0]"},"input":"x"}) },
     'invalid-request', qr/"model"/],
    ['model missing', sub { '{"input":"x","max_tokens":16}' },
     'missing-model', qr/"model"/],
    ['model empty', sub { '{"model":"","input":"x"}' },
     ['missing-model', 'invalid-request'], qr/"model"/],
    ['model of 300 chars', sub { '{"model":"' . ('m' x 300) . '"}' },
     ['missing-model', 'invalid-request'], qr/"model"/],
    ['model with a NUL escape', sub { qq({"model":"$_[0]\\u0000x"}) },
     ['missing-model', 'invalid-request'], qr/"model"/],
    ['empty body', sub { '' },
     'invalid-request', qr/empty/],
);

for my $round (1, 2) {
    for my $rt (@ROUTES) {
        for my $g (@GROUPS) {
            for my $c (@SYNTAX) {
                my ($what, $mk, $codes, $re) = @$c;
                refused_before_provider($rt, $mk->($g), 400, $codes,
                                        "$rt->{path} $g: $what ($round)",
                                        $re, keepalive => $round == 2);
            }
        }
    }
    # the same refusals while asking for a stream: still a JSON answer
    for my $rt (grep { $_->{kind} eq 'gen' } @ROUTES) {
        refused_before_provider($rt, qq({"model":"demo-chat","stream":true,)
                                     . qq("messages":[}),
                                400, 'invalid-request',
                                "$rt->{path}: broken stream request "
                                . "($round)", qr/not a valid JSON object/);
    }
    still_serving("after broken bodies, round $round");
}

# duplicate keys other than model, stream and stream_options: refused in
# a body the gateway translates or estimates (it reads every field); a
# body passed to a provider of its own dialect goes as it is (the
# provider's rules apply)
for my $rt (@ROUTES) {
    for my $g (@GROUPS) {
        my $field = $rt->{path} =~ /responses/ ? 'input' : 'messages';
        my $v = $field eq 'input' ? '"hello"'
                                  : '[{"role":"user","content":"hello"}]';
        my $body = qq({"model":"$g","max_tokens":16,"$field":$v,)
                 . qq("$field":$v});
        mock_reset();
        my $r = post($rt->{path}, $body);
        my ($n) = mock_seen();
        my $name = "$rt->{path} $g: duplicate \"$field\" keys";
        my $own = ($rt->{path} =~ /responses/ ? 'demo-responses'
                                               : 'demo-messages') eq $g;
        if ($own && $rt->{path} !~ /count_tokens/) {
            is($r->{status}, 200, "$name: passed on as it is");
            next;
        }
        ok($r->{status} == 400 && $n == 0,
           "$name: refused with 400 before the provider")
            or diag("status $r->{status}, provider called $n time(s): "
                    . body_of($r));
        refused($r, $rt->{path}, 400, 'invalid-request', $name,
                qr/duplicate/)
            if $r->{status} == 400;
    }
}

# a body whose JSON is valid but whose group is not the caller's
for my $rt (@ROUTES) {
    refused_before_provider($rt, body_for($rt->{path}, 'no-such-group'), 403,
                            'model-not-allowed',
                            "$rt->{path}: a group that does not exist",
                            qr/model/);
}

# ---------------------------------------------------------------------------
# 2. wrong types for the fields the translators read

# name, extra fields (undef removes one), message
my @MESSAGES_TYPES = (
    ['messages a string', { messages => 'hello' }, qr/messages/],
    ['messages an object', { messages => { role => 'user' } }, qr/messages/],
    ['messages [5]', { messages => [5] }, qr/message|role/],
    ['content a number', { messages => [{ role => 'user', content => 5 }] },
     qr/content/],
    ['content an object', { messages => [{ role => 'user',
                                           content => { text => 'x' } }] },
     qr/content/],
    ['role a number', { messages => [{ role => 5, content => 'hi' }] },
     qr/role/],
    ['system a number', { system => 5 }, qr/system/],
    ['tools [5]', { tools => [5] }, qr/tool/],
    ['image source a number',
     { messages => [{ role => 'user', content => [{ type => 'image',
                                                     source => 5 }] }] },
     qr/image/],
    # the translators drop these today instead of refusing them
    ['tools a string', { tools => 'bash' }, qr/tools/],
    ['tools an object', { tools => { name => 'bash' } }, qr/tools/],
    ['tool_choice a string', { tool_choice => 'bash' }, qr/tool_choice/],
    ['max_tokens a string', { max_tokens => '16' }, qr/max_tokens/],
    ['max_tokens negative', { max_tokens => -1 }, qr/max_tokens/],
    ['temperature a string', { temperature => 'hot' }, qr/temperature/],
    ['stop_sequences a number', { stop_sequences => 5 }, qr/stop_sequences/],
    ['thinking a number', { thinking => 5 }, qr/thinking/],
    ['metadata a number', { metadata => 5 }, qr/metadata/],
);
my @RESPONSES_TYPES = (
    ['input an object', { input => { role => 'user' } }, qr/input/],
    ['input a number', { input => 5 }, qr/input/],
    ['input null', { input => undef, _null_input => 1 }, qr/input/],
    ['input [5]', { input => [5] }, qr/input|item/],
    ['input item content a number',
     { input => [{ role => 'user', content => 5 }] }, qr/content/],
    ['tools [5]', { tools => [5] }, qr/tool/],
    # the translators drop these today instead of refusing them
    ['tools a string', { tools => 'bash' }, qr/tools/],
    ['tool_choice a number', { tool_choice => 5 }, qr/tool_choice/],
    ['instructions a number', { instructions => 5 }, qr/instructions/],
    ['max_output_tokens a string', { max_output_tokens => '16' },
     qr/max_output_tokens/],
    ['reasoning a number', { reasoning => 5 }, qr/reasoning/],
    ['text a number', { text => 5 }, qr/text/],
    ['temperature a string', { temperature => 'hot' }, qr/temperature/],
    ['parallel_tool_calls a string', { parallel_tool_calls => 'yes' },
     qr/parallel_tool_calls/],
);

sub typed_body {
    my ($path, $g, $extra) = @_;
    my %x = %$extra;
    my $null_input = delete $x{_null_input};
    my $b = body_for($path, $g, %x);
    $b =~ s/^\{/{"input":null,/ if $null_input;
    return $b;
}

for my $set (['/v1/messages', \@MESSAGES_TYPES],
             ['/anthropic/v1/messages', [@MESSAGES_TYPES[0, 3]]],
             ['/v1/responses', \@RESPONSES_TYPES]) {
    my ($path, $cases) = @$set;
    my $rt = $ROUTE{$path};
    for my $g (@GROUPS) {
        my $same = $GROUP_DIALECT{$g} eq $rt->{dialect};
        for my $c (@$cases) {
            my ($what, $extra, $re) = @$c;
            my $name = "$path $g: $what";
            my $body = typed_body($path, $g, $extra);
            mock_reset();
            my $r = post($path, $body);
            my ($n, $last) = mock_seen();
            ok($r->{status} != 599 && $r->{status} < 500,
               "$name: no 5xx, no hang")
                or diag("status $r->{status}: " . body_of($r));
            if ($same) {
                # passed through: the provider judges, its status is kept
                is($n, 1, "$name: passed through to the provider");
                is($r->{status}, $last && $last->{status},
                   "$name: the provider's status");
                refused($r, $path, $r->{status}, undef, $name)
                    if $r->{status} >= 400;
                next;
            }
            ok($r->{status} == 400 && $n == 0,
               "$name: refused with 400 before the provider")
                or diag("status $r->{status}, provider called $n time(s): "
                        . body_of($r));
            next unless $r->{status} == 400;
            refused($r, $path, 400, 'invalid-request', $name, $re);
            expect_row($r, $name, status => 400, dialect => $rt->{dialect},
                       endpoint => $path, key => 1);
        }
    }
}

# a stream request with a wrong type: refused as JSON, not as a stream
for my $g (qw(demo-chat demo-responses)) {
    mock_reset();
    my $r = post('/v1/messages',
                 body_for('/v1/messages', $g, stream => JSON::PP::true,
                          messages => 'hello'),
                 headers => { accept => 'text/event-stream' });
    refused($r, '/v1/messages', 400, 'invalid-request',
            "/v1/messages $g: stream with messages a string", qr/messages/);
    is((mock_seen())[0], 0, "/v1/messages $g: stream refused before the "
       . "provider");
}

# duplicate keys below the top level: the gateway reads them when it
# translates (last one wins in jansson), so it must refuse them too
for my $g (qw(demo-chat demo-responses)) {
    my $body = qq({"model":"$g","max_tokens":16,"messages":[{"role":"user",)
             . qq("role":"assistant","content":"hi mock:notools"}]});
    mock_reset();
    my $r = post('/v1/messages', $body);
    ok($r->{status} == 400 && (mock_seen())[0] == 0,
       "/v1/messages $g: a duplicate key inside a message is refused")
        or diag("status $r->{status}: " . body_of($r));
}

# JSON the scanner accepts but the translator's parser does not: still a
# 400, and its message says what is wrong (not "not a JSON object")
for my $c (['a lone surrogate escape', qq("hi \\ud800 there")],
           ['an integer beyond 64 bits', '99999999999999999999999']) {
    my ($what, $val) = @$c;
    for my $g (qw(demo-chat demo-responses)) {
        my $body = qq({"model":"$g","max_tokens":16,"metadata":{"n":$val},)
                 . qq("messages":[{"role":"user","content":"hi"}]});
        mock_reset();
        my $r = post('/v1/messages', $body);
        my $name = "/v1/messages $g: $what";
        refused($r, '/v1/messages', 400, 'invalid-request', $name);
        unlike($r->{json} && ref $r->{json}{error} eq 'HASH'
               ? $r->{json}{error}{message} // '' : '',
               qr/not a JSON object/,
               "$name: the message names the problem");
        is((mock_seen())[0], 0, "$name: the provider was not called");
    }
}

# count_tokens reads messages too: an estimate of a malformed request is
# no answer
for my $c (['messages a string', { messages => 'hello' }],
           ['content a number', { messages => [{ role => 'user',
                                                 content => 5 }] }]) {
    my ($what, $extra) = @$c;
    my $r = post('/v1/messages/count_tokens',
                 body_for('/v1/messages/count_tokens', 'demo-chat', %$extra));
    is($r->{status}, 400, "count_tokens: $what is refused")
        or diag("body: " . body_of($r));
}
still_serving('after wrong types');

# ---------------------------------------------------------------------------
# 3. unknown fields pass (same dialect) or are dropped (translated)

for my $rt (@ROUTES) {
    for my $g (@GROUPS) {
        my %extra = (zz_unknown_field => { a => [1, undef, 'x'] },
                     zz_flag => JSON::PP::true);
        $extra{context_management} = { edits => [] }
            if $rt->{dialect} eq 'messages';
        if ($rt->{dialect} eq 'responses') {
            $extra{client_metadata} = { source => 'test' };
            $extra{prompt_cache_key} = 'k1';
        }
        for my $round (1, 2) {
            my $name = "$rt->{path} $g: unknown fields ($round)";
            mock_reset();
            my $r = post($rt->{path}, body_for($rt->{path}, $g, %extra));
            is($r->{status}, 200, "$name: 200") or diag(body_of($r));
            request_id_ok($r, $name);
            if ($rt->{kind} eq 'count') {
                ok(($r->{json} && $r->{json}{input_tokens} // 0) > 0,
                   "$name: an estimate");
                is((mock_seen())[0], 0, "$name: no provider call");
                next;
            }
            my $last = mock_last();
            my $b = $last && ref $last->{body} eq 'HASH' ? $last->{body} : {};
            if ($GROUP_DIALECT{$g} eq $rt->{dialect}) {
                ok(exists $b->{zz_unknown_field},
                   "$name: passed through to the provider");
            } else {
                ok(!exists $b->{zz_unknown_field} && !exists $b->{zz_flag},
                   "$name: dropped by the translation");
            }
            expect_row($r, $name, status => 200, dialect => $rt->{dialect},
                       endpoint => $rt->{path}, key => 1, group => $g);
        }
    }
}

# ---------------------------------------------------------------------------
# 4. sizes: over the limit 413 in the caller's envelope, just under passes

my $over = 'x' x ($LIMIT + 1024);
for my $rt (@ROUTES) {
    for my $chunked (0, 1) {
        my $how = $chunked ? 'chunked' : 'with Content-Length';
        my $body = body_for($rt->{path}, 'demo-chat',
                            ($rt->{path} =~ /responses/ ? 'input'
                                                        : 'system')
                            => $over);
        my $r = refused_before_provider($rt, $body, 413, 'body-too-large',
                                        "$rt->{path}: 5 MB body $how",
                                        qr/large/, chunked => $chunked,
                                        no_row => 1);
        expect_row($r, "$rt->{path}: 5 MB body $how", status => 413,
                   dialect => $rt->{dialect}, endpoint => $rt->{path})
            if $rt->{kind} eq 'gen';
    }
}

# just under the limit: through every translation, answered, recorded
for my $c (['/v1/messages', 'demo-chat'], ['/v1/messages', 'demo-messages'],
           ['/anthropic/v1/messages', 'demo-responses'],
           ['/v1/responses', 'demo-messages'],
           ['/v1/responses', 'demo-responses'],
           ['/v1/messages/count_tokens', 'demo-chat']) {
    my ($path, $g) = @$c;
    my $text = 'mock:words=3 ' . ('x' x ($LIMIT - 8192));
    my $field = $path =~ /responses/ ? 'input' : 'messages';
    my $body = body_for($path, $g, $field eq 'input' ? (input => $text)
                        : (messages => [{ role => 'user',
                                          content => $text }]));
    mock_reset();
    my $t0 = time;
    my $r = post($path, $body, timeout => 60);
    my $name = "$path $g: a body of " . length($body) . " bytes";
    is($r->{status}, 200, "$name: 200") or diag(body_of($r));
    note(sprintf "%s: %.2f s", $name, time - $t0);
    request_id_ok($r, $name);
    my ($n, $last) = mock_seen();
    if ($path =~ /count_tokens/) {
        ok(($r->{json} && $r->{json}{input_tokens} // 0) > 500_000,
           "$name: an estimate for the whole body");
        is($n, 0, "$name: no provider call");
        next;
    }
    ok($n == 1 && $last->{body_bytes} > $LIMIT - 16384,
       "$name: the provider got it whole")
        or diag("calls $n, bytes " . ($last ? $last->{body_bytes} : '-'));
    expect_row($r, $name, status => 200, dialect => $ROUTE{$path}{dialect},
               endpoint => $path, key => 1, group => $g);
}

# the limit itself: exactly 4m passes, one byte more is refused
{
    my $b = body_for('/v1/messages', 'demo-messages',
                     messages => [{ role => 'user',
                                    content => 'mock:words=2 ' }]);
    my $pad = $LIMIT - length $b;
    $b =~ s/mock:words=2 /'mock:words=2 ' . ('y' x $pad)/e;
    is(length $b, $LIMIT, 'a body of exactly 4m');
    my $r = post('/v1/messages', $b, timeout => 60);
    is($r->{status}, 200, 'a body of exactly 4m is accepted')
        or diag(body_of($r));
    (my $b1 = $b) =~ s/\}$/ }/;
    refused_before_provider($ROUTE{'/v1/messages'}, $b1, 413,
                            'body-too-large', 'a body of 4m + 1 byte',
                            qr/large/, no_row => 1);
}
still_serving('after big bodies');

# ---------------------------------------------------------------------------
# 5. hostile headers

{
    my $beta = join ',', map { "beta-feature-$_-2026-01-01" } 1 .. 250;
    $beta = substr($beta, 0, 7000);
    for my $g (qw(demo-messages demo-chat)) {
        mock_reset();
        my $r = post('/v1/messages', body_for('/v1/messages', $g),
                     headers => { 'anthropic-beta' => $beta });
        my $name = "anthropic-beta of 7000 bytes, $g";
        is($r->{status}, 200, "$name: 200") or diag(body_of($r));
        my (undef, $last) = mock_seen();
        my $seen = $last ? $last->{headers}{'anthropic-beta'} : undef;
        if ($g eq 'demo-messages') {
            is($seen, $beta, "$name: reaches the messages target whole");
        } else {
            ok(!defined $seen, "$name: not sent to a chat target");
        }
    }

    # over nginx's header line buffer (8k): refused, in the envelope
    mock_reset();
    my $r = post('/v1/messages', body_for('/v1/messages', 'demo-messages'),
                 headers => { 'anthropic-beta' => 'b' x 10000 });
    ok($r->{status} >= 400 && $r->{status} < 500,
       'anthropic-beta of 10000 bytes: a 4xx') or diag(body_of($r));
    refused($r, '/v1/messages', 400, undef, 'anthropic-beta of 10000 bytes',
            qr/header/i);
    is((mock_seen())[0], 0, 'anthropic-beta of 10000 bytes: provider not '
       . 'called');
}

# many headers: accepted, and none of them carries the caller's key on
for my $round (1, 2) {
    my %many = map { ("x-extra-$_" => "value-$_") } 1 .. 100;
    mock_reset();
    my $r = post('/v1/messages', body_for('/v1/messages', 'demo-messages'),
                 headers => { %many, authorization => "Bearer $tok" });
    is($r->{status}, 200, "100 extra headers ($round): 200")
        or diag(body_of($r));
    my (undef, $last) = mock_seen();
    my $h = $last ? $last->{headers} : {};
    ok(!grep({ index($_, $tok) >= 0 } values %$h),
       "100 extra headers ($round): the caller's key never reaches the "
       . "provider");
    like($h->{'x-api-key'} // '', qr/^sk-upstream-/,
         "100 extra headers ($round): the provider's own credential");
}

# CR, LF and NUL inside a header value: nginx refuses the request
for my $c (["a bare CR", "a\rX-Injected: 1"], ['a NUL', "a\0b"]) {
    my ($what, $val) = @$c;
    mock_reset();
    my $body = body_for('/v1/messages', 'demo-messages');
    my $r = raw_socket("POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
                       . "x-api-key: $tok\r\nanthropic-beta: $val\r\n"
                       . "Content-Type: application/json\r\n"
                       . "Content-Length: " . length($body) . "\r\n"
                       . "Connection: close\r\n\r\n$body");
    is($r->{status}, 400, "$what in a header value: 400");
    is((mock_seen())[0], 0, "$what in a header value: provider not called");
}
{
    # an LF ends the header: the "injected" one is just another header,
    # and it goes nowhere near the provider's credentials
    mock_reset();
    my $body = body_for('/v1/messages', 'demo-messages');
    my $r = raw_socket("POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
                       . "x-api-key: $tok\r\nanthropic-beta: a\n"
                       . "x-api-key: sk-injected\r\n"
                       . "Content-Type: application/json\r\n"
                       . "Content-Length: " . length($body) . "\r\n"
                       . "Connection: close\r\n\r\n$body");
    ok($r->{status} < 500, 'an LF in a header value: no 5xx');
    my (undef, $last) = mock_seen();
    my $k = $last ? $last->{headers}{'x-api-key'} // '' : '';
    unlike($k, qr/sk-injected|\Q$tok\E/,
           'an LF in a header value: no caller key reaches the provider');
}
# headers that pick what the provider's credential is used for stay with
# the caller: OpenAI bills the organization and project they name
for my $g (qw(demo-responses demo-chat)) {
    mock_reset();
    my $r = post('/v1/responses', body_for('/v1/responses', $g),
                 headers => { 'OpenAI-Organization' => 'org-caller-chosen',
                              'OpenAI-Project' => 'proj_caller_chosen' });
    is($r->{status}, 200, "OpenAI-Organization from the caller, $g: 200")
        or diag(body_of($r));
    my (undef, $last) = mock_seen();
    my $h = $last ? $last->{headers} : {};
    ok(!defined $h->{'openai-organization'} && !defined $h->{'openai-project'},
       "OpenAI-Organization/-Project from the caller, $g: not sent with "
       . "the provider's credential")
        or diag("provider got: " . json_encode({ map { $_ => $h->{$_} }
            grep { /^openai-/ } keys %$h }));
}

# a gzip body: not JSON the gateway can read, refused before the provider
{
    require IO::Compress::Gzip;
    my $plain = body_for('/v1/messages', 'demo-chat');
    IO::Compress::Gzip::gzip(\$plain => \my $gz) or die 'gzip';
    refused_before_provider($ROUTE{'/v1/messages'}, $gz, 400,
                            'invalid-request', '/v1/messages: a gzip body',
                            qr/not a valid JSON object/,
                            headers => { 'content-encoding' => 'gzip' });
}
still_serving('after hostile headers');

# ---------------------------------------------------------------------------
# 6. wrong methods: 405 in the caller's envelope with Allow, before auth

for my $round (1, 2) {
    for my $rt (@ROUTES) {
        for my $m (qw(GET PUT DELETE PATCH OPTIONS)) {
            my $name = "$m $rt->{path} ($round)";
            mock_reset();
            my $r = raw_http($m, gw_url($rt->{path}),
                             auth_headers($rt->{path}),
                             $m eq 'GET' ? '' : '{}');
            $r->{content} = $r->{body};
            refused($r, $rt->{path}, 405, 'method-not-allowed', $name,
                    qr/method/);
            is($r->{headers}{allow}, 'POST', "$name: Allow: POST");
            is((mock_seen())[0], 0, "$name: the provider was not called");
        }
        my $r = raw_http('HEAD', gw_url($rt->{path}),
                         auth_headers($rt->{path}), '');
        is($r->{status}, 405, "HEAD $rt->{path} ($round): 405");
        is($r->{headers}{allow}, 'POST', "HEAD $rt->{path} ($round): Allow");
        request_id_ok($r, "HEAD $rt->{path} ($round)");

        # the method is checked before the key
        $r = raw_http('GET', gw_url($rt->{path}), {}, '');
        $r->{content} = $r->{body};
        refused($r, $rt->{path}, 405, 'method-not-allowed',
                "GET $rt->{path} without a key ($round)");
    }
}
# a path next to the gateway's: a 404 a client can read, not nginx's page
for my $path ('/v1/messages/batches', '/anthropic/v1/complete',
              '/v1/responses/resp_123') {
    my $r = raw_http('POST', gw_url($path), auth_headers($path), '{}');
    $r->{content} = $r->{body};
    is($r->{status}, 404, "POST $path: 404");
    like($r->{headers}{'content-type'} // '', qr{^application/json},
         "POST $path: a JSON error") or diag(body_of($r));
    request_id_ok($r, "POST $path");
}
still_serving('after wrong methods');

# ---------------------------------------------------------------------------
# 7. chunked request bodies

for my $rt (@ROUTES) {
    for my $g (@GROUPS) {
        my $name = "$rt->{path} $g: a chunked body";
        mock_reset();
        my $r = post($rt->{path}, body_for($rt->{path}, $g), chunked => 1);
        is($r->{status}, 200, "$name: 200") or diag(body_of($r));
        my ($n) = mock_seen();
        is($n, $rt->{kind} eq 'gen' ? 1 : 0,
           "$name: the provider called as it should be");
        refused_before_provider($rt, qq({"model":"$g","messages":[),
                                400, 'invalid-request',
                                "$rt->{path} $g: chunked broken JSON",
                                qr/not a valid JSON object/, chunked => 1);
    }
}
for my $rt (grep { $_->{kind} eq 'gen' } @ROUTES) {
    # broken chunk framing: nginx's own 400, still the caller's envelope
    mock_reset();
    my $ah = auth_headers($rt->{path});
    my $r = raw_socket("POST $rt->{path} HTTP/1.1\r\nHost: x\r\n"
                       . join('', map { "$_: $ah->{$_}\r\n" } sort keys %$ah)
                       . "Content-Type: application/json\r\n"
                       . "Transfer-Encoding: chunked\r\nConnection: close"
                       . "\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
    refused($r, $rt->{path}, 400, undef,
            "$rt->{path}: broken chunk framing");
    is((mock_seen())[0], 0, "$rt->{path}: broken chunk framing: provider "
       . "not called");
}

# ---------------------------------------------------------------------------
# 8. empty bodies: Content-Length 0, and no length at all

for my $rt (@ROUTES) {
    refused_before_provider($rt, '', 400, 'invalid-request',
                            "$rt->{path}: Content-Length 0", qr/empty/);
    mock_reset();
    my $h = auth_headers($rt->{path});
    my $r = raw_socket("POST $rt->{path} HTTP/1.1\r\nHost: x\r\n"
                       . join('', map { "$_: $h->{$_}\r\n" } sort keys %$h)
                       . "Content-Type: application/json\r\n"
                       . "Connection: close\r\n\r\n");
    refused($r, $rt->{path}, 400, 'invalid-request',
            "$rt->{path}: no body at all", qr/empty/);
    is((mock_seen())[0], 0, "$rt->{path}: no body: provider not called");
}

# ---------------------------------------------------------------------------
# 9. bodies not labelled JSON

for my $rt (grep { $_->{kind} eq 'gen' } @ROUTES) {
    for my $g (@GROUPS) {
        for my $ct ('text/plain', 'application/x-www-form-urlencoded',
                    undef) {
            my $label = $ct // 'no content type';
            my $name = "$rt->{path} $g: JSON sent as $label";
            mock_reset();
            my $r;
            if (defined $ct) {
                $r = post($rt->{path}, body_for($rt->{path}, $g),
                          headers => { 'content-type' => $ct });
            } else {
                my $h = auth_headers($rt->{path});
                my $body = body_for($rt->{path}, $g);
                $r = raw_socket("POST $rt->{path} HTTP/1.1\r\nHost: x\r\n"
                                . join('', map { "$_: $h->{$_}\r\n" }
                                       sort keys %$h)
                                . "Content-Length: " . length($body)
                                . "\r\nConnection: close\r\n\r\n$body");
            }
            ok($r->{status} == 200, "$name: 200 (the body is JSON)")
                or diag("status $r->{status}: " . body_of($r));
            next if $GROUP_DIALECT{$g} eq $rt->{dialect};
            # the gateway wrote this body: it must say what it sends
            my (undef, $last) = mock_seen();
            like($last ? $last->{headers}{'content-type'} // '' : '',
                 qr{^application/json}, "$name: the translated body goes "
                 . "upstream as application/json");
        }
        refused_before_provider($rt, "model=$g&input=hello", 400,
                                'invalid-request',
                                "$rt->{path} $g: a form body",
                                qr/not a valid JSON object/,
                                headers => { 'content-type' =>
                                    'application/x-www-form-urlencoded' });
    }
}
still_serving('at the end');

# ---------------------------------------------------------------------------
# usage rows: one per request, with the status the caller got

my @rids = sort keys %ROWS;
my %row;
wait_until(sub {
    my $in = join ',', map { "'$_'" } @rids;
    %row = map { $_->{request_id} => $_ } psql_hashes(
        "SELECT request_id, key_id, status, dialect, endpoint, model_group
         FROM usage_events WHERE request_id IN ($in)");
    return keys %row == @rids;
}, 20, 0.25);
is(scalar keys %row, scalar @rids,
   'a usage row for every request that should have one');
my @wrong;
for my $rid (@rids) {
    my ($w, $got) = ($ROWS{$rid}, $row{$rid});
    if (!$got) { push @wrong, "$w->{name}: no row ($rid)"; next }
    for my $f (qw(status dialect endpoint)) {
        push @wrong, "$w->{name}: $f $got->{$f}, wanted $w->{$f}"
            if defined $w->{$f} && ($got->{$f} // '') ne $w->{$f};
    }
    push @wrong, "$w->{name}: key " . ($got->{key_id} // 'NULL')
        if $w->{key} && ($got->{key_id} // '') ne $demo->{key_id};
    push @wrong, "$w->{name}: group " . ($got->{model_group} // 'NULL')
        if defined $w->{group} && ($got->{model_group} // '') ne $w->{group};
}
ok(!@wrong, 'usage rows carry the status, dialect, endpoint, key and group')
    or diag(join "\n", @wrong[0 .. ($#wrong < 29 ? $#wrong : 29)]);

# count_tokens spends nothing: no row for an answered estimate
{
    my $r = post('/v1/messages/count_tokens',
                 body_for('/v1/messages/count_tokens', 'demo-messages'));
    is($r->{status}, 200, 'count_tokens answers');
    my $rid = $r->{headers}{'x-request-id'} // '';
    sleep 1.5;
    my ($n) = psql("SELECT count(*) FROM usage_events
                    WHERE request_id = '$rid'");
    is($n->[0], 0, 'count_tokens leaves no usage row');
}

error_log_check();
stop_stack();
done_testing;
