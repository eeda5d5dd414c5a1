# Codex (`codex exec`, pinned in t/clients/package.json, installed into
# var/cache/clients/ on first use) through the gateway, offline, with a
# fresh HOME and CODEX_HOME per run: a plain prompt and a shell tool round
# trip (the mock calls exec_command with `echo MOCK_TOOL_OK`, Codex runs
# it and sends the function_call_output back), against demo-responses
# (its own dialect), demo-chat and demo-messages (translated), and
# against a Chat group named like one of Codex's own models (gpt-5.5).
# The tools Codex offers depend on the model name: for a name it does not
# know, functions, a `namespace` (multi_agent_v1) and web_search; for
# gpt-5.5, functions, a `custom` apply_patch (Lark grammar), tool_search
# and web_search.  Toward Chat and Messages targets the gateway must map
# or drop what those dialects cannot carry.  Checks Codex's JSONL events,
# what reached the provider and the usage rows.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use Sluice::Test;
use Sluice::Test::Clients;

my $bin = cli_install();
my $v = run_client(["$bin/codex", '--version'], timeout => 60);
like($v->{stdout}, qr/^codex-cli 0\.169\.0$/m, 'codex --version')
    or diag("$v->{stdout}$v->{stderr}");

start_stack();
my $demo = seed_demo();
# a group named like a model Codex knows, on the Chat target
create_group('gpt-5.5', 'mock-chat');
my $key = create_key(groups => [@{ $demo->{groups} }, 'gpt-5.5']);
wait_until(sub {
    my $r = http('GET', '/v1/models',
                 { authorization => "Bearer $key->{token}" });
    return grep { $_->{id} eq 'gpt-5.5' } @{ $r->{json}{data} || [] };
}, 10) or BAIL_OUT('group gpt-5.5 did not reach the gateway');

my %dialect = ((map { $_->{group} => $_->{dialect} }
                   values %{ $demo->{dialects} }), 'gpt-5.5' => 'chat');

# Runs codex exec --json with the offline configuration of
# /work/shared/clients/README.md; returns (run result, [events]).
sub codex {
    my ($name, $group, $prompt) = @_;
    my $d = client_dir("codex-$name");
    mkdir $_ for "$d/home", "$d/codex", "$d/project", "$d/tmp";
    open my $fh, '>', "$d/codex/config.toml" or die "config.toml: $!";
    print $fh <<"EOF";
model = "$group"
model_provider = "sluice"
check_for_update_on_startup = false
[analytics]
enabled = false
[feedback]
enabled = false
[features]
plugins = false
[model_providers.sluice]
name = "Sluice"
base_url = "${\ gw_url('/v1')}"
env_key = "SLUICE_TOKEN"
wire_api = "responses"
# a gateway error shows at once instead of after dozens of retries
request_max_retries = 0
stream_max_retries = 0
EOF
    close $fh;
    my %env = map { $_ => undef } grep { /^(?:OPENAI|CODEX|ANTHROPIC)_/ }
        keys %ENV;
    %env = (%env, HOME => "$d/home", CODEX_HOME => "$d/codex",
            XDG_CONFIG_HOME => "$d/home/.config",
            XDG_CACHE_HOME => "$d/home/.cache", TMPDIR => "$d/tmp",
            SLUICE_TOKEN => $key->{token});
    my $r = run_client(["$bin/codex", 'exec', '--skip-git-repo-check',
                        '--json', $prompt],
                       cwd => "$d/project", env => \%env, timeout => 120);
    ok(!$r->{timed_out}, "$name: codex finished within 120 s");
    is($r->{exit}, 0, "$name: codex exit status 0")
        or diag("stdout: $r->{stdout}\nstderr: $r->{stderr}");
    note(sprintf "%s: codex ran %.1f s", $name, $r->{secs});
    my @ev = grep { ref $_ eq 'HASH' } map { json_decode($_) }
        grep { /^\{/ } split /\n/, $r->{stdout};
    my @types = map { $_->{type} // '' } @ev;
    is($types[-1], 'turn.completed', "$name: the turn completed")
        or diag("events: @types\nstderr: $r->{stderr}");
    return ($r, \@ev);
}

# the items of one type Codex completed, in order
sub items {
    my ($ev, $type) = @_;
    return map { $_->{item} } grep { ($_->{type} // '') eq 'item.completed'
        && ($_->{item}{type} // '') eq $type } @$ev;
}

for my $group (qw(demo-responses demo-chat demo-messages gpt-5.5)) {
    my $name = "$group plain";
    mock_reset();
    my $t0 = time;
    my ($r, $ev) = codex("$group-plain", $group,
                         'Say hello to the gateway test. mock:notools');
    my ($msg) = reverse items($ev, 'agent_message');
    # toward Messages the two user turns Codex sends in a row (its
    # environment context, then the prompt) become one user message,
    # whose whole text the mock echoes
    like($msg->{text} // '',
         qr/^echo: (?:.* )?Say hello to the gateway test\.$/s,
         "$name: the mock's answer came back") or diag(json_encode($ev));
    my ($done) = grep { ($_->{type} // '') eq 'turn.completed' } @$ev;
    ok($done && ($done->{usage}{output_tokens} // 0) > 0,
       "$name: usage reported") or diag(json_encode($done));
    my @up = upstream_ok($name, $dialect{$group}, $key->{token});
    is(scalar @up, 1, "$name: one model call");
    usage_rows_ok($name, $group, $t0, scalar @up, $key->{id}, 1);

    $name = "$group shell";
    mock_reset();
    $t0 = time;
    ($r, $ev) = codex("$group-shell", $group,
                      "Please run the command 'echo MOCK_TOOL_OK' in the "
                      . 'shell.');
    my ($cmd) = items($ev, 'command_execution');
    like($cmd->{command} // '', qr/echo MOCK_TOOL_OK/,
         "$name: Codex ran the command the mock asked for")
        or diag(json_encode($ev));
    like($cmd->{aggregated_output} // '', qr/MOCK_TOOL_OK/,
         "$name: the command's output");
    ($msg) = reverse items($ev, 'agent_message');
    like($msg->{text} // '', qr/tool result: .*MOCK_TOOL_OK/s,
         "$name: the final answer saw the command's output")
        or diag(json_encode($ev));
    @up = upstream_ok($name, $dialect{$group}, $key->{token});
    is(scalar @up, 2, "$name: two model calls");
    # the tools Codex offered, as the provider got them
    my @tools = map { ($_->{type} // '') . ':'
                      . ($_->{function}{name} // $_->{name} // '') }
        @{ $up[0]{body}{tools} || [] };
    note("$name: tools upstream: @tools");
    ok((grep { /:exec_command$/ } @tools), "$name: exec_command offered")
        or diag("tools: @tools");
    my @calls = map { tool_calls($_->{body}) } @up;
    is_deeply([map { [$_->{name}, $_->{input}{cmd}] } @calls],
              [['exec_command', 'echo MOCK_TOOL_OK']],
              "$name: the exec_command call came back in the history")
        or diag(json_encode(\@calls));
    my @results = map { tool_results($_->{body}) } @up;
    ok((grep { /^MOCK_TOOL_OK$/m } @results),
       "$name: the function_call_output reached the provider")
        or diag(json_encode(\@results));
    usage_rows_ok($name, $group, $t0, scalar @up, $key->{id}, 1);
}

stop_stack();
done_testing;
