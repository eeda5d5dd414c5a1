# The three dialects through the gateway: every caller dialect (chat,
# responses, messages) against a group of every upstream dialect, JSON and
# SSE, as the caller sees it (status, shape, text, usage, event order), as
# the provider sees it (path, model, auth, anthropic headers) and as the
# ledger records it; count_tokens, HEAD /, errors in each dialect's
# envelope, the per-group idle timeout and a provider that breaks off.
use strict;
use warnings;
use Test::More;
use Sluice::Test;
use IO::Socket::INET;
use IO::Select;
use Socket;

start_stack(nginx_http => $ENV{DIALECTS_ERRLOG} ? "error_log $ENV{DIALECTS_ERRLOG} info;" : '');
my $demo = seed_demo(groups => ['*']);
my $tok = $demo->{token};
my $mock = stack()->{mock_url} . '/v1';

# groups of our own, one per upstream dialect, with a short idle timeout
my %group;
for my $dl (qw(chat responses messages)) {
    my $p = "xp-$dl";
    my ($st) = admin(POST => '/admin/v1/providers',
                     { name => $p, base_url => $mock, dialect => $dl,
                       auth_kind => $dl eq 'messages' ? 'x-api-key'
                                                       : 'bearer',
                       credential => "sk-up-$dl-secret" });
    is($st, 201, "provider $p");
    ($st) = admin(POST => '/admin/v1/targets',
                  { name => "xt-$dl", provider => $p,
                    model => "up-$dl-model" });
    is($st, 201, "target xt-$dl");
    ($st) = admin(POST => '/admin/v1/groups',
                  { name => "x-$dl", targets => ["xt-$dl"],
                    idle_timeout_ms => 1500 });
    is($st, 201, "group x-$dl");
    $group{$dl} = "x-$dl";
}
my ($st, $g) = admin(GET => '/admin/v1/groups');
my ($xg) = grep { $_->{name} eq 'x-chat' } @{ $g->{data} // $g // [] };
is($xg && $xg->{idle_timeout_ms}, 1500, 'the admin API shows idle_timeout_ms');
($st) = admin(PATCH => '/admin/v1/groups/x-chat', { idle_timeout_ms => 5 });
is($st, 400, 'idle_timeout_ms under 1 s is refused');
($st) = admin(PATCH => '/admin/v1/groups/x-chat', { idle_timeout_ms => 'x' });
is($st, 400, 'idle_timeout_ms must be an integer');

wait_until(sub {
    my $r = http(GET => '/v1/models', { authorization => "Bearer $tok" });
    my %ids = map { $_->{id} => 1 } @{ ($r->{json} // {})->{data} // [] };
    return $ids{'x-chat'} && $ids{'x-responses'} && $ids{'x-messages'};
}, 10) or BAIL_OUT('groups did not reach the table');

my %path = (chat => '/v1/chat/completions', responses => '/v1/responses',
            messages => '/v1/messages');
my %upath = (chat => '/v1/chat/completions', responses => '/v1/responses',
             messages => '/v1/messages');

sub body_for {
    my ($caller, $group, $text, %o) = @_;
    my $b = { model => $group };
    if ($caller eq 'chat') {
        $b->{messages} = [{ role => 'user', content => $text }];
    } elsif ($caller eq 'responses') {
        $b->{input} = $text;
    } else {
        $b->{max_tokens} = 256;
        $b->{messages} = [{ role => 'user', content => $text }];
    }
    $b->{stream} = JSON::PP::true if $o{stream};
    return $b;
}

sub auth_for {
    my ($caller) = @_;
    return $caller eq 'messages'
        ? { 'x-api-key' => $tok, 'anthropic-version' => '2023-06-01' }
        : { authorization => "Bearer $tok" };
}

# the text of a JSON answer in the caller's dialect
sub json_text {
    my ($caller, $j) = @_;
    return undef unless ref $j eq 'HASH';
    if ($caller eq 'chat') {
        return $j->{object} eq 'chat.completion'
            ? $j->{choices}[0]{message}{content} : undef;
    }
    if ($caller eq 'responses') {
        return undef unless ($j->{object} // '') eq 'response';
        return join '', map { $_->{text} // '' }
                        map { @{ $_->{content} // [] } }
                        grep { $_->{type} eq 'message' } @{ $j->{output} };
    }
    return undef unless ($j->{type} // '') eq 'message';
    return join '', map { $_->{text} // '' }
                    grep { $_->{type} eq 'text' } @{ $j->{content} };
}

# checks a stream's shape in the caller's dialect; returns its text
sub sse_text {
    my ($caller, $res, $name) = @_;
    my @ev = grep { !defined $_->{comment} || defined $_->{data} }
             @{ $res->{events} };
    @ev = grep { defined $_->{data} } @ev;
    my $text = '';
    if ($caller eq 'chat') {
        is($ev[-1]{data}, '[DONE]', "$name: ends with [DONE]");
        my @chunks = map { $_->{json} } @ev[0 .. $#ev - 1];
        ok(!grep({ ($_->{object} // '') ne 'chat.completion.chunk' }
                 @chunks), "$name: every event is a chunk");
        is($chunks[0]{choices}[0]{delta}{role}, 'assistant',
           "$name: first delta has the role");
        ok(scalar(grep { @{ $_->{choices} }
                         && $_->{choices}[0]{finish_reason} } @chunks) == 1,
           "$name: one finish_reason");
        $text = join '', map { $_->{choices}[0]{delta}{content} // '' }
                         grep { @{ $_->{choices} } } @chunks;
    } elsif ($caller eq 'responses') {
        is($ev[0]{event}, 'response.created', "$name: starts created");
        is($ev[-1]{event}, 'response.completed', "$name: ends completed");
        ok($ev[-1]{json}{response}{id}, "$name: completed has the id");
        my @seq = map { $_->{json}{sequence_number} } @ev;
        ok(!grep({ !defined $seq[$_] || ($_ && $seq[$_] <= $seq[$_ - 1]) }
                 0 .. $#seq), "$name: sequence numbers increase");
        ok(scalar(grep { $_->{event} eq 'response.output_item.done' } @ev),
           "$name: output_item.done");
        $text = join '', map { $_->{json}{delta} }
                 grep { $_->{event} eq 'response.output_text.delta' } @ev;
    } else {
        ok(!grep({ !defined $_->{event} } @ev), "$name: every frame has event:");
        is($ev[0]{event}, 'message_start', "$name: starts message_start");
        is($ev[-1]{event}, 'message_stop', "$name: ends message_stop");
        my ($md) = grep { $_->{event} eq 'message_delta' } @ev;
        ok($md && defined $md->{json}{usage}{output_tokens},
           "$name: message_delta with usage.output_tokens");
        $text = join '', map { $_->{json}{delta}{text} // '' }
                 grep { $_->{event} eq 'content_block_delta' } @ev;
    }
    return $text;
}

# ---- every caller against every upstream dialect -------------------------
for my $caller (qw(chat responses messages)) {
    for my $up (qw(chat responses messages)) {
        my $name = "$caller -> $up";
        my $grp = $group{$up};

        mock_reset();
        my $r = http(POST => $path{$caller}, auth_for($caller),
                     body_for($caller, $grp, "hello $caller $up"));
        is($r->{status}, 200, "$name: 200");
        like($r->{headers}{'content-type'} // '', qr{^application/json},
             "$name: JSON");
        is(json_text($caller, $r->{json}), "echo: hello $caller $up",
           "$name: the answer in the caller's dialect")
            or diag(substr($r->{content}, 0, 400));
        request_id_ok($r, $name);

        my $m = mock_last();
        is($m->{path}, $upath{$up}, "$name: provider path");
        is($m->{body}{model}, "up-$up-model", "$name: provider model");
        my $h = $m->{headers};
        if ($up eq 'messages') {
            is($h->{'x-api-key'}, "sk-up-$up-secret",
               "$name: provider key as x-api-key");
            is($h->{'anthropic-version'}, '2023-06-01',
               "$name: anthropic-version");
            ok(!defined $h->{authorization}, "$name: no Authorization");
        } else {
            is($h->{authorization}, "Bearer sk-up-$up-secret",
               "$name: provider key as Bearer");
            ok(!defined $h->{'x-api-key'}, "$name: no x-api-key");
            ok(!defined $h->{'anthropic-version'},
               "$name: no anthropic-version to a non-Anthropic target");
        }
        ok(!grep({ index($_ // '', $tok) >= 0 } values %$h),
           "$name: the caller's token never reaches the provider");

        my $row = wait_usage($r->{headers}{'x-request-id'});
        ok($row, "$name: usage row") or next;
        is($row->{dialect}, $caller, "$name: row dialect is the caller's");
        is($row->{group_name} // $row->{model_group} // $row->{group},
           $grp, "$name: row group");
        ok(($row->{input_tokens} // 0) > 0, "$name: row input tokens");
        is($row->{output_tokens}, 4, "$name: row output tokens (4 words)");

        my $s = sse_request(undef, path => $path{$caller},
                            headers => auth_for($caller),
                            body => body_for($caller, $grp,
                                             "stream $caller $up",
                                             stream => 1));
        is($s->{status}, 200, "$name stream: 200");
        like($s->{headers}{'content-type'} // '', qr{^text/event-stream},
             "$name stream: event-stream");
        is(sse_text($caller, $s, "$name stream"), "echo: stream $caller $up",
           "$name stream: the text");
        $row = wait_usage($s->{headers}{'x-request-id'});
        ok($row && $row->{stream} && ($row->{output_tokens} // 0) == 4,
           "$name stream: usage row with tokens")
            or diag(explain($row));
    }
}

# ---- a pooled provider connection that turns out closed: nginx redials
# and sends the body again, whole (spliced or translated) ----------------
for my $case (['chat', 'chat'], ['messages', 'chat'], ['chat', 'messages']) {
    my ($caller, $up) = @$case;
    my $name = "$caller -> $up, pooled connection closed";
    my $id = "retry-$caller-$up-" . int(rand(1e9));
    http(POST => $path{$caller}, auth_for($caller),
         body_for($caller, $group{$up}, 'warm the pool'));
    mock_reset();
    my $r = http(POST => $path{$caller}, auth_for($caller),
                 body_for($caller, $group{$up}, "again mock:close_once=$id"));
    is($r->{status}, 200, "$name: answered after a redial");
    is(json_text($caller, $r->{json}), 'echo: again',
       "$name: the answer");
    my $reqs = (Sluice::Test::_mock_get("/__mock/requests") // {})
        ->{requests} // [];
    my @mine = grep { index(json_encode($_->{body} // {}), $id) >= 0 }
               @$reqs;
    is(scalar @mine, 2, "$name: the provider saw the request twice");
    is(json_encode($mine[1]{body} // {}), json_encode($mine[0]{body} // {}),
       "$name: the same body both times") if @mine == 2;
    is($mine[-1]{body_bytes}, $mine[0]{body_bytes},
       "$name: the same length both times") if @mine == 2;
    my $row = wait_usage($r->{headers}{'x-request-id'});
    is($row && $row->{attempts}, 2, "$name: recorded with 2 attempts");
}

# ---- Anthropic routes and headers -----------------------------------------
mock_reset();
my $r = http(POST => '/anthropic/v1/messages?beta=true',
             { 'x-api-key' => $tok, 'anthropic-version' => '2099-01-01',
               'anthropic-beta' => 'tools-2099,interleaved-thinking' },
             body_for('messages', $group{messages}, 'prefixed'));
is($r->{status}, 200, '/anthropic/v1/messages?beta=true: 200');
is(json_text('messages', $r->{json}), 'echo: prefixed', 'prefixed: answer');
my $m = mock_last();
is($m->{headers}{'anthropic-version'}, '2099-01-01',
   "a messages caller's anthropic-version passes to an Anthropic target");
is($m->{headers}{'anthropic-beta'}, 'tools-2099,interleaved-thinking',
   'anthropic-beta passes to an Anthropic target');

$r = http(POST => '/v1/messages', { authorization => "Bearer $tok",
                                    'anthropic-beta' => 'x' },
          body_for('messages', $group{chat}, 'bearer'));
is($r->{status}, 200, 'messages with Authorization: Bearer');
$m = mock_last();
ok(!defined $m->{headers}{'anthropic-beta'},
   'anthropic-beta is not sent to a chat target');

# ---- count_tokens, HEAD / -------------------------------------------------
$r = http(POST => '/v1/messages/count_tokens', { 'x-api-key' => $tok },
          { model => $group{messages},
            messages => [{ role => 'user', content => 'x' x 400 }] });
is($r->{status}, 200, 'count_tokens: 200');
ok(($r->{json}{input_tokens} // 0) >= 100, 'count_tokens: an estimate')
    or diag($r->{content});
$r = http(POST => '/anthropic/v1/messages/count_tokens',
          { 'x-api-key' => $tok },
          { model => $group{messages},
            messages => [{ role => 'user', content => 'short' }] });
ok($r->{status} == 200 && $r->{json}{input_tokens} < 100,
   'count_tokens under /anthropic: smaller text, smaller estimate');

my $narrow = create_key(groups => ['x-chat']);
$r = http(POST => '/v1/messages/count_tokens',
          { 'x-api-key' => $narrow->{token} },
          { model => 'x-messages',
            messages => [{ role => 'user', content => 'hi' }] });
is($r->{status}, 403, 'count_tokens: a group the key may not use is 403');
is($r->{json}{type}, 'error', 'count_tokens 403: Anthropic envelope');
is($r->{json}{error}{type}, 'permission_error',
   'count_tokens 403: permission_error');

$r = http(HEAD => '/', {});
is($r->{status}, 200, 'HEAD / is answered');

# ---- errors in each dialect's envelope ------------------------------------
$r = http(POST => '/v1/messages', { 'x-api-key' => 'sk-sluice-wrong' },
          body_for('messages', $group{chat}, 'x'));
is($r->{status}, 401, 'messages: bad key 401');
is($r->{json}{type}, 'error', '401: Anthropic envelope');
is($r->{json}{error}{type}, 'authentication_error', '401: error type');

$r = http(POST => '/v1/messages', auth_for('messages'), '{"model": ');
is($r->{status}, 400, 'messages: broken JSON 400');
is($r->{json}{error}{type}, 'invalid_request_error',
   '400: invalid_request_error');

for my $caller (qw(chat responses messages)) {
    for my $up (qw(chat messages responses)) {
        my $name = "$caller -> $up provider 429";
        $r = http(POST => $path{$caller}, auth_for($caller),
                  body_for($caller, $group{$up}, 'busy mock:status=429'));
        is($r->{status}, 429, "$name: the provider's status");
        is($r->{headers}{'retry-after'}, 1,
           "$name: the provider's retry-after reaches the caller");
        like($r->{headers}{'content-type'} // '', qr{^application/json},
             "$name: JSON");
        if ($caller eq 'messages') {
            is($r->{json}{type}, 'error', "$name: Anthropic envelope");
            is($r->{json}{error}{type}, 'rate_limit_error',
               "$name: rate_limit_error");
        } else {
            ok(ref $r->{json}{error} eq 'HASH'
               && length($r->{json}{error}{message} // ''),
               "$name: OpenAI envelope") or diag($r->{content});
        }
    }
}

# ---- a body of many tiny values is not translated (it would stall the
# worker building a tree of millions of nodes) ------------------------------
{
    my $b = body_for('messages', $group{chat}, 'many values');
    $b->{metadata} = { user_id => 'x' };
    my $json = json_encode($b);
    $json =~ s/^\{/{"zz":[@{[ join ',', (0) x 300000 ]}],/;
    my $t0 = time;
    my $r = http(POST => '/v1/messages', auth_for('messages'), $json);
    is($r->{status}, 413, 'many values: 413');
    is($r->{json}{type}, 'error', 'many values: Anthropic envelope');
    like($r->{json}{error}{message} // '', qr/too many JSON values/,
         'many values: says why');
}

# ---- the idle timeout and a provider that breaks off ----------------------
for my $caller (qw(chat responses messages)) {
    for my $up (qw(chat messages responses)) {
        my $name = "$caller -> $up silent provider";
        my $s = sse_request(undef, path => $path{$caller},
                            headers => auth_for($caller), timeout => 20,
                            body => body_for($caller, $group{$up},
                                             'wait mock:silent=5000',
                                             stream => 1));
        is($s->{status}, 200, "$name: the stream began");
        my @ev = grep { defined $_->{data} } @{ $s->{events} };
        my $last = $ev[-1] // {};
        if ($caller eq 'messages') {
            is($last->{event}, 'error', "$name: ends with event: error");
        } elsif ($caller eq 'responses') {
            like($last->{event} // '', qr/^(error|response\.failed)$/,
                 "$name: ends with an error event");
        } else {
            ok($last->{json} && $last->{json}{error},
               "$name: ends with an error chunk");
        }
        ok($s->{t_end} - $s->{t_start} < 4.5,
           "$name: ended by the 1.5 s idle timeout, not the provider");
        my $row = wait_usage($s->{headers}{'x-request-id'});
        is($row && $row->{status}, 504, "$name: recorded as 504");
    }
}

# a group naming no idle timeout waits the default (120 s): a provider
# silent for 3 s is waited for, the stream completes
{
    my $name = 'messages -> chat, no idle timeout named, 3 s of silence';
    my $s = sse_request(undef, path => $path{messages},
                        headers => auth_for('messages'), timeout => 20,
                        body => body_for('messages', 'demo-chat',
                                         'wait mock:silent=3000',
                                         stream => 1));
    is($s->{status}, 200, "$name: 200");
    is((sse_types($s))[-1], 'message_stop', "$name: the stream completed");
    my $row = wait_usage($s->{headers}{'x-request-id'});
    is($row && $row->{status}, 200, "$name: recorded as 200");
}

for my $pair ([qw(chat responses)], [qw(messages responses)],
              [qw(responses responses)], [qw(responses chat)],
              [qw(responses messages)]) {
    my ($caller, $up) = @$pair;
    my $name = "$caller -> $up provider drops";
    my $s = sse_request(undef, path => $path{$caller},
                        headers => auth_for($caller),
                        body => body_for($caller, $group{$up},
                                         'cut mock:drop=3', stream => 1));
    my @ev = grep { defined $_->{data} } @{ $s->{events} };
    my $last = $ev[-1] // {};
    ok(($caller eq 'messages' && ($last->{event} // '') eq 'error')
       || ($caller eq 'chat' && $last->{json} && $last->{json}{error})
       || ($caller eq 'responses'
           && ($last->{event} // '') =~ /^(error|response\.failed)$/),
       "$name: an in-band error event ends the stream")
        or diag(explain([map { $_->{data} } @ev]));
    ok(!grep({ ($_->{event} // '') eq 'response.completed'
               || ($_->{data} // '') eq '[DONE]'
               || ($_->{event} // '') eq 'message_stop' } @ev),
       "$name: no event says the answer completed");
    my $row = wait_usage($s->{headers}{'x-request-id'});
    is($row && $row->{status}, 502, "$name: recorded as 502");
}

# a caller that hangs up mid-way through a translated stream
{
    use IO::Socket::INET;
    use IO::Select;
    my ($port) = stack()->{gw_url} =~ /:(\d+)$/;
    my $key = create_key(groups => ['*']);
    my $body = json_encode(body_for('messages', $group{chat},
                                    'bye mock:words=200 mock:events=40 mock:delay=100',
                                    stream => 1));
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port, Timeout => 5)
        or die "connect: $!";
    print $s "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
        . "x-api-key: $key->{token}\r\nContent-Type: application/json\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body";
    my ($got, $sel) = ('', IO::Select->new($s));
    my $end = time + 5;
    while (time < $end && $got !~ /content_block_delta/) {
        next unless $sel->can_read(0.05);
        sysread($s, my $buf, 65536) or last;
        $got .= $buf;
    }
    like($got, qr/event: content_block_delta/,
         'vanishing caller: the translated stream began');
    close $s;
    my $row;
    wait_until(sub {
        ($row) = psql_hashes("SELECT * FROM usage_events
                              WHERE key_id = '$key->{id}'
                                AND endpoint = '/v1/messages'");
        $row;
    }, 10);
    is($row && $row->{status}, 499, 'vanishing caller: recorded as 499');
    my $ok = http(POST => '/v1/messages', auth_for('messages'),
                  body_for('messages', $group{chat}, 'still here'));
    is(json_text('messages', $ok->{json}), 'echo: still here',
       'the gateway serves on after the caller vanished');
}

# a caller that reads slowly (a small receive window, nothing read for
# 2 s): the translated stream waits for it and arrives whole
{
    my ($port) = stack()->{gw_url} =~ /:(\d+)$/;
    my $body = json_encode(body_for('messages', $group{chat},
                                    'big mock:words=60000 mock:events=3000',
                                    stream => 1));
    socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUF, 4096) or die "setsockopt: $!";
    connect($s, sockaddr_in($port, inet_aton('127.0.0.1')))
        or die "connect: $!";
    syswrite($s, "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
        . "x-api-key: $tok\r\nContent-Type: application/json\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body");
    sleep 2;                            # not reading
    my ($got, $sel) = ('', IO::Select->new($s));
    my $end = time + 30;
    while (time < $end && $got !~ /event: message_stop/) {
        next unless $sel->can_read(0.2);
        sysread($s, my $buf, 65536) or last;
        $got .= $buf;
    }
    close $s;
    my @words = $got =~ /\bw(\d+)\b/g;
    like($got, qr/event: message_stop/,
         'slow reader: the translated stream arrived whole');
    is(scalar @words, 60000, 'slow reader: every word');
    is($words[-1], 60000, 'slow reader: in order to the last');
}

$r = http(POST => '/v1/messages', auth_for('messages'),
          body_for('messages', $group{chat}, 'slow mock:ttfb=4000'));
is($r->{status}, 504, 'a provider silent before its header: 504');
is($r->{json}{type}, 'error', '504 in the Anthropic envelope');

error_log_check();
stop_stack();
done_testing;
