# Claude Code (`claude -p`, pinned in t/clients/package.json, installed
# into var/cache/clients/ on first use) through the gateway, offline, with
# a fresh HOME per run: a plain prompt and a Bash tool round trip (the mock
# asks for `echo MOCK_TOOL_OK`, Claude Code runs it and sends the
# tool_result back), against demo-messages (its own dialect), demo-chat
# and demo-responses (translated).  Checks what Claude Code printed, what
# reached the provider and the usage rows.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use Sluice::Test;
use Sluice::Test::Clients;

my $bin = cli_install();
my $v = run_client(["$bin/claude", '--version'], timeout => 60);
like($v->{stdout}, qr/^2\.1\.197 /, 'claude --version')
    or diag("$v->{stdout}$v->{stderr}");

start_stack();
my $demo = seed_demo();

my %dialect = map { $_->{group} => $_->{dialect} }
    values %{ $demo->{dialects} };

# Runs claude -p with a fresh HOME and the offline settings of
# /work/shared/clients/README.md; returns (run result, parsed JSON).
sub claude {
    my ($name, $group, $prompt, @extra) = @_;
    my $d = client_dir("claude-$name");
    mkdir $_ for "$d/project", "$d/tmp";
    my %env = map { $_ => undef } grep { /^(?:ANTHROPIC|CLAUDE|OPENAI)_/ }
        keys %ENV;
    %env = (%env,
        HOME => $d, XDG_CONFIG_HOME => "$d/.config",
        XDG_CACHE_HOME => "$d/.cache", XDG_DATA_HOME => "$d/.local/share",
        TMPDIR => "$d/tmp",
        ANTHROPIC_BASE_URL => gw_url(),
        ANTHROPIC_API_KEY => $demo->{token},
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC => 1,
        DISABLE_TELEMETRY => 1, DISABLE_ERROR_REPORTING => 1,
        DISABLE_AUTOUPDATER => 1,
        # a gateway error shows at once instead of after minutes of retries
        CLAUDE_CODE_MAX_RETRIES => 0,
    );
    my $r = run_client(["$bin/claude", '-p', $prompt, '--output-format',
                        'json', '--model', $group, @extra],
                       cwd => "$d/project", env => \%env, timeout => 120);
    ok(!$r->{timed_out}, "$name: claude finished within 120 s");
    is($r->{exit}, 0, "$name: claude exit status 0")
        or diag("stdout: $r->{stdout}\nstderr: $r->{stderr}");
    note(sprintf "%s: claude ran %.1f s", $name, $r->{secs});
    my $j = json_line($r->{stdout});
    ok($j && ($j->{type} // '') eq 'result', "$name: a JSON result")
        or diag("stdout: $r->{stdout}\nstderr: $r->{stderr}");
    $j ||= {};
    ok(!$j->{is_error} && ($j->{subtype} // '') eq 'success',
       "$name: success") or diag(json_encode($j));
    return ($r, $j);
}

for my $group (qw(demo-messages demo-chat demo-responses)) {
    # a plain prompt
    my $name = "$group plain";
    mock_reset();
    my $t0 = time;
    my ($r, $j) = claude("$group-plain", $group,
                         'Say hello to the gateway test. mock:notools');
    is($j->{result}, 'echo: Say hello to the gateway test.',
         "$name: the mock's answer came back");
    is($j->{num_turns}, 1, "$name: one turn");
    ok(($j->{usage}{output_tokens} // 0) > 0, "$name: usage reported")
        or diag(json_encode($j->{usage}));
    my @up = upstream_ok($name, $dialect{$group}, $demo->{token});
    is(scalar @up, 1, "$name: one model call");
    usage_rows_ok($name, $group, $t0, scalar @up, $demo->{key_id}, 1);

    # a Bash tool round trip
    $name = "$group bash";
    mock_reset();
    $t0 = time;
    ($r, $j) = claude("$group-bash", $group,
                      'Please run the shell command `echo MOCK_TOOL_OK`.',
                      '--allowedTools', 'Bash');
    like($j->{result} // '', qr/tool result: .*MOCK_TOOL_OK/s,
         "$name: the final answer saw the command's output")
        or diag(json_encode($j));
    is($j->{num_turns}, 2, "$name: two turns");
    @up = upstream_ok($name, $dialect{$group}, $demo->{token});
    is(scalar @up, 2, "$name: two model calls");
    ok(!tool_results($up[0]{body}), "$name: no tool result in the first call")
        if @up;
    my @calls = map { tool_calls($_->{body}) } @up;
    is_deeply([map { [$_->{name}, $_->{input}{command}] } @calls],
              [['Bash', 'echo MOCK_TOOL_OK']],
              "$name: the Bash call came back to the provider in the history")
        or diag(json_encode(\@calls));
    my @results = map { tool_results($_->{body}) } @up;
    ok((grep { /^MOCK_TOOL_OK$/m } @results),
       "$name: the tool result (the command's output) reached the provider")
        or diag(json_encode(\@results));
    usage_rows_ok($name, $group, $t0, scalar @up, $demo->{key_id}, 1);
}

stop_stack();
done_testing;
