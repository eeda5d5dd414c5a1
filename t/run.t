# `make run` as a new user meets it: scripts/run.sh brings the whole
# stack up under its own state directory (SLUICE_VAR, free ports), seeds
# demo-chat, demo-responses and demo-messages on the mock provider and,
# with ANTHROPIC_API_KEY set, the group `anthropic` (registered only: no
# call leaves the machine); the demo token reaches every demo group from
# every dialect; a second run reuses what runs; `make stop`
# (scripts/stop.sh) stops every process it started.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use Sluice::Test;

my $REPO = $Sluice::Test::REPO;
my $var = tempdir('sluice-test-run-XXXXXX', DIR => '/tmp', CLEANUP => 0);
chmod 0755, $var;

local $ENV{SLUICE_VAR} = $var;
local $ENV{SLUICE_GATEWAY_PORT} = Sluice::Test::free_port();
local $ENV{SLUICE_ADMIN_PORT} = Sluice::Test::free_port();
local $ENV{SLUICE_PG_PORT} = Sluice::Test::free_port();
local $ENV{SLUICE_REDIS_PORT} = Sluice::Test::free_port();
local $ENV{SLUICE_MOCK_PORT} = Sluice::Test::free_port();
local $ENV{ANTHROPIC_API_KEY} = 'sk-ant-run-test-not-a-real-key';
delete local $ENV{OPENAI_API_KEY};

my $stopped = 0;
sub stop_all {
    return if $stopped++;
    my $out = `'$REPO/scripts/stop.sh' 2>&1`;
    return ($? >> 8, $out);
}
END { stop_all(); system('rm', '-rf', $var) if $var && -d $var }

my $out = `'$REPO/scripts/run.sh' 2>&1`;
is($? >> 8, 0, 'run.sh: exit 0') or diag($out);
like($out, qr/Sluice is running/, 'run.sh: says the stack runs');
unlike($out, qr/warning/, 'run.sh: no warning (all three dialects '
       . 'answered)') or diag($out);

# what make run wrote to demo.env, as a hash
sub demo_env {
    my %e;
    for (split /\n/, Sluice::Test::_slurp("$var/demo.env") // '') {
        $e{$1} = $2 if /^export (\w+)=(.*)$/;
    }
    return %e;
}

my %env = demo_env();
ok($env{SLUICE_URL} && $env{SLUICE_DEMO_TOKEN} && $env{SLUICE_ADMIN_TOKEN},
   'demo.env: gateway URL, demo token, admin token');

my $ua = HTTP::Tiny->new(timeout => 15);

sub post {
    my ($path, $body, %h) = @_;
    my $r = $ua->post("$env{SLUICE_URL}$path",
                      { headers => { 'content-type' => 'application/json',
                                     %h },
                        content => json_encode($body) });
    return ($r->{status}, json_decode($r->{content}) // {});
}

# every caller dialect to every demo group: the answer in the caller's
my %auth = (chat => [authorization => "Bearer $env{SLUICE_DEMO_TOKEN}"],
            responses => [authorization => "Bearer $env{SLUICE_DEMO_TOKEN}"],
            messages => ['x-api-key' => $env{SLUICE_DEMO_TOKEN},
                         'anthropic-version' => '2023-06-01']);
for my $caller (qw(chat responses messages)) {
    for my $group (qw(demo-chat demo-responses demo-messages)) {
        my $text = "hello from $caller to $group";
        my ($path, $body) = $caller eq 'chat'
            ? ('/v1/chat/completions',
               { model => $group,
                 messages => [{ role => 'user', content => $text }] })
            : $caller eq 'responses'
            ? ('/v1/responses', { model => $group, input => $text })
            : ('/v1/messages',
               { model => $group, max_tokens => 64,
                 messages => [{ role => 'user', content => $text }] });
        my ($st, $j) = post($path, $body, @{ $auth{$caller} });
        is($st, 200, "$caller -> $group: 200") or diag(json_encode($j));
        my $shape = $caller eq 'chat' ? $j->{object} // ''
                  : $caller eq 'responses' ? $j->{object} // ''
                  : $j->{type} // '';
        is($shape, { chat => 'chat.completion', responses => 'response',
                     messages => 'message' }->{$caller},
           "$caller -> $group: an answer of the caller's dialect");
    }
}

# the Anthropic group is registered, its key kept write-only
my $admin = sub {
    my $r = $ua->get("$env{SLUICE_ADMIN_URL}$_[0]",
                     { headers => { authorization =>
                                    "Bearer $env{SLUICE_ADMIN_TOKEN}" } });
    return json_decode($r->{content}) // {};
};
my @groups = map { $_->{name} } @{ $admin->('/admin/v1/groups')->{data} // [] };
for my $g (qw(demo-chat demo-responses demo-messages anthropic)) {
    ok(scalar(grep { $_ eq $g } @groups), "group $g exists") or diag("@groups");
}
my ($anth) = grep { $_->{name} eq 'anthropic' }
    @{ $admin->('/admin/v1/providers')->{data} // [] };
is($anth && $anth->{dialect}, 'messages', 'provider anthropic speaks messages');
like($anth && $anth->{base_url} // '', qr{^https://api\.anthropic\.com},
     'provider anthropic: the Anthropic API');
unlike(json_encode($anth // {}), qr/sk-ant-run-test/,
       'provider anthropic: its key is not shown');
my $models = $ua->get("$env{SLUICE_URL}/v1/models",
                      { headers => { authorization =>
                                     "Bearer $env{SLUICE_DEMO_TOKEN}" } });
like($models->{content}, qr/"anthropic"/, 'the demo key may use anthropic');

# safe to re-run: what runs is reused, the demo key kept
$out = `'$REPO/scripts/run.sh' 2>&1`;
is($? >> 8, 0, 'run.sh again: exit 0') or diag($out);
like($out, qr/reusing the demo key/, 'run.sh again: the demo key reused');
my %again = demo_env();
is($again{SLUICE_DEMO_TOKEN}, $env{SLUICE_DEMO_TOKEN},
   'run.sh again: the same demo token');

# make stop: every process named in the pid files ends
my %pids;
for my $f (glob "$var/run/*.pid") {
    my ($name) = $f =~ m{/([^/]+)\.pid$};
    my $pid = (split /\n/, Sluice::Test::_slurp($f) // '')[0];
    $pids{$name} = $pid if $pid && $pid =~ /^\d+$/;
}
is_deeply([sort keys %pids], [qw(controld mock nginx postgres redis)],
          'pid files for every part');
my ($rc, $stop_out) = stop_all();
is($rc, 0, 'stop.sh: exit 0') or diag($stop_out);
for my $name (sort keys %pids) {
    ok(!kill(0, $pids{$name}), "stop.sh: $name (pid $pids{$name}) ended");
}

done_testing;
