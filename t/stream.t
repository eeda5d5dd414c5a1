# SSE passthrough: events reach the caller as the provider sends them
# (not buffered until the end); the usage chunk goes only to a caller
# that asked for it with stream_options.include_usage.
use strict;
use warnings;
use Test::More;
use Sluice::Test;

start_stack();
my $demo = seed_demo();
my $DELAY = 0.3;

sub check_stream {
    my ($name, %o) = @_;
    my $text = "stream me please $o{round}";
    my $r = sse_request($demo->{token}, content => "$text mock:delay=300",
                        include_usage => $o{usage});
    is($r->{status}, 200, "$name: 200") or diag($r->{body});
    like($r->{headers}{'content-type'} // '', qr{^text/event-stream},
         "$name: text/event-stream");
    ok(!defined $r->{headers}{'content-length'}, "$name: no Content-Length");
    request_id_ok($r, $name);
    my @ev = @{ $r->{events} };
    my @data = grep { defined $_->{data} } @ev;
    ok(@data >= 5, "$name: at least 5 events") or return;
    is($data[-1]{data}, '[DONE]', "$name: ends with [DONE]");
    my @chunks = grep { $_->{json} } @data;
    is(scalar(grep { ($_->{json}{object} // '') ne 'chat.completion.chunk' }
              @chunks), 0, "$name: every object is a chat.completion.chunk");
    is($chunks[0]{json}{choices}[0]{delta}{role}, 'assistant',
       "$name: first delta has the role");
    my $content = join '', map { $_->{json}{choices}[0]{delta}{content} // '' }
        grep { @{ $_->{json}{choices} || [] } } @chunks;
    is($content, "echo: $text", "$name: content reassembled");
    is(scalar(grep { ($_->{json}{choices}[0]{finish_reason} // '') eq 'stop' }
              grep { @{ $_->{json}{choices} || [] } } @chunks), 1,
       "$name: one chunk with finish_reason");
    my @usage = grep { !@{ $_->{json}{choices} || [] }
                       || defined $_->{json}{usage} } @chunks;
    if ($o{usage}) {
        is(scalar @usage, 1, "$name: one usage chunk");
        is($usage[0]{json}{usage}{completion_tokens}, 5,
           "$name: usage as the provider counted")
            if @usage;
        is_deeply($usage[0]{json}{choices}, [], "$name: usage chunk has "
                  . "choices: []") if @usage;
    } else {
        is(scalar @usage, 0, "$name: no usage chunk (not asked for)")
            or diag(json_encode($usage[0]{json}));
    }

    # timing: the stream was not held back until the provider finished
    my $first = $data[0]{t};
    my $last = $data[-1]{t};
    my $spread = $last - $first;
    cmp_ok($spread, '>=', 4 * $DELAY * 0.8,
           "$name: first and last event arrive >= 0.96 s apart")
        or diag(join ' ', map { sprintf '%.3f', $_->{t} - $r->{t_start} }
                @data);
    my @gaps = map { $data[$_]{t} - $data[$_ - 1]{t} } 1 .. $#data;
    my $spaced = grep { $_ >= $DELAY * 0.7 } @gaps;
    cmp_ok($spaced, '>=', 4, "$name: events arrive one by one, spaced by "
           . "the provider's delay");
    my $up = mock_last();
    ok(defined $up->{t_end} && $up->{t_end} / 1000 - $first > 0.9,
       "$name: first event reached the caller ~1 s before the provider "
       . "finished");
    is($up->{body}{model}, 'mock-model-1', "$name: model rewritten");
    ok($up->{body}{stream}, "$name: upstream asked to stream");
    is($up->{headers}{authorization}, "Bearer $demo->{credential}",
       "$name: credential injected");
    return $up;
}

for my $round (1, 2) {
    my $up = check_stream("without include_usage ($round)", round => $round);
    ok($up->{body}{stream_options}{include_usage},
       "without include_usage ($round): gateway asked the provider for "
       . "usage");
    check_stream("with include_usage ($round)", round => $round, usage => 1);
}

# A burst: many events in few reads (the gateway passes whole events
# before the usage chunk on unread); the answer is the same, the usage
# chunk still cut or kept as asked, the tokens still counted.
for my $usage (0, 1) {
    my $name = 'burst of 40 events' . ($usage ? ', include_usage' : '');
    my $r = sse_request($demo->{token}, include_usage => $usage,
                        content => 'burst mock:events=40 mock:words=120 '
                                   . 'mock:burst');
    is($r->{status}, 200, "$name: 200");
    my @data = grep { defined $_->{data} } @{ $r->{events} };
    is($data[-1]{data}, '[DONE]', "$name: ends with [DONE]");
    is(scalar(grep { ($_->{data} // '') eq '[DONE]' } @data), 1,
       "$name: one [DONE]");
    my @chunks = grep { $_->{json} } @data;
    is(scalar(@chunks), scalar(@data) - 1, "$name: every other event is "
       . "JSON");
    my $content = join '', map { $_->{json}{choices}[0]{delta}{content}
                                 // '' }
        grep { @{ $_->{json}{choices} || [] } } @chunks;
    is($content, join(' ', map { "w$_" } 1 .. 120),
       "$name: the 120 words, in order");
    my @u = grep { defined $_->{json}{usage} } @chunks;
    is(scalar @u, $usage ? 1 : 0, "$name: usage chunk "
       . ($usage ? 'kept' : 'cut'));
    my $row = wait_usage($r->{headers}{'x-request-id'});
    is($row && $row->{output_tokens}, 120, "$name: 120 output tokens "
       . "recorded");
}

# stream_options present but empty, whitespace inside: the gateway's
# include_usage must still make valid JSON
for my $so ('{}', '{ }', "{\n  }") {
    my $body = '{"model":"demo-chat","stream":true,"stream_options":' . $so
        . ',"messages":[{"role":"user","content":"empty options"}]}';
    my $r = sse_request($demo->{token}, body => $body);
    is($r->{status}, 200, "stream_options $so: 200");
    is(($r->{events}[-1] // {})->{data}, '[DONE]', "stream_options $so: "
       . "a whole stream");
    my $up = mock_last();
    is_deeply($up->{body}{stream_options}, { include_usage => JSON::PP::true },
              "stream_options $so: the provider got valid JSON with "
              . "include_usage");
    ok(!grep({ ($_->{data} // '') =~ /"choices":\[\]/ } @{ $r->{events} }),
       "stream_options $so: the usage chunk is not passed on");
}

# A provider slow to end its answer after the terminal event: the caller's
# answer ends with that event (the last chunk goes with it), not seconds
# later; the usage row is still written, once the provider is done.  The
# same when the stream is translated: the caller's end goes out with the
# provider's end translated.
sub linger_call {
    my ($dialect, $group, $content) = @_;
    return sse_request($demo->{token}, content => $content, model => $group)
        if $dialect eq 'chat';
    return messages($demo->{token}, $content, stream => 1, model => $group)
        if $dialect eq 'messages';
    return responses($demo->{token}, $content, stream => 1, model => $group);
}

my %LAST = (chat => '[DONE]', messages => 'message_stop',
            responses => 'response.completed');

# Translated streams are translated event by event: each caller event
# leaves as its provider event arrives, not when the provider finishes.
for my $d (['chat', 'demo-messages'], ['messages', 'demo-chat'],
           ['responses', 'demo-chat'], ['chat', 'demo-responses'],
           ['messages', 'demo-responses'], ['responses', 'demo-messages']) {
    my ($dialect, $group) = @$d;
    my $name = "$dialect via $group, spaced";
    my $r = linger_call($dialect, $group, "spaced out mock:delay=300");
    is($r->{status}, 200, "$name: 200");
    my @data = grep { defined $_->{data} } @{ $r->{events} };
    is((sse_types($r))[-1], $LAST{$dialect}, "$name: a whole stream");
    my @gaps = map { $data[$_]{t} - $data[$_ - 1]{t} } 1 .. $#data;
    my $spaced = grep { $_ >= $DELAY * 0.7 } @gaps;
    cmp_ok($spaced, '>=', 4, "$name: events arrive in steps, spaced by "
           . "the provider's delay")
        or diag(join ' ', map { sprintf '%.3f', $_->{t} - $r->{t_start} }
                @data);
    my $up = mock_last();
    ok(defined $up->{t_end} && @data
       && $up->{t_end} / 1000 - $data[0]{t} > 0.9,
       "$name: the first event reached the caller ~1 s before the "
       . "provider finished");
}

for my $d (['chat', 'demo-chat'], ['messages', 'demo-messages'],
           ['chat', 'demo-messages'], ['messages', 'demo-chat'],
           ['responses', 'demo-messages'], ['chat', 'demo-responses']) {
    my ($dialect, $group) = @$d;
    my $name = "$dialect via $group, linger";
    my $r = linger_call($dialect, $group,
                        "linger after the end mock:linger=3000");
    is($r->{status}, 200, "$name: 200");
    my @types = sse_types($r);
    is($types[-1], $LAST{$dialect},
       "$name: the stream's terminal event came last")
        or diag("@types");
    ok(!$r->{error}, "$name: the answer ended") or diag($r->{error});
    cmp_ok($r->{t_end} - $r->{t_start}, '<', 2.0,
           "$name: it ended with the terminal event, not when the "
           . "provider (3 s later) did");
    my $rid = $r->{headers}{'x-request-id'};
    my $row = wait_usage($rid, 10);
    ok($row && $row->{status} == 200 && ($row->{output_tokens} // 0) > 0,
       "$name: the usage row, status 200 with tokens")
        or diag(explain($row));
}

stop_stack();
done_testing;
