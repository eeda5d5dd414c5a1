package Sluice::Test::Clients;

# Real clients for the integration tests: installs the pinned npm packages
# on first use (the SDKs into t/sdk/node_modules, the coding-agent CLIs
# into a cache under var/cache/clients/), and runs one client with a time
# limit, its output captured, killed by its process group id when late.
#
#   use Sluice::Test::Clients;
#   sdk_install();                     # skips the test when npm cannot
#   my $bin = cli_install();           # .../node_modules/.bin
#   my $r = run_client(['node', 'x.mjs'], env => {...}, timeout => 120);
#   $r->{exit}, $r->{stdout}, $r->{stderr}, $r->{timed_out}, $r->{secs}
#
# and what the client tests assert with: the mock provider's recorded
# requests (upstream_ok, tool_calls, tool_results), usage rows
# (usage_rows_ok, sdk_usage_ok), the SDK scripts' output (sdk_script,
# sdk_case_ok).
#
# Only a failed npm install skips a test (no registry: offline CI); a
# package that installed but does not run is a failure.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Exporter qw(import);
use Fcntl qw(:flock);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use POSIX qw(:sys_wait_h);
use HTTP::Tiny;
use Sluice::Test qw(json_decode json_encode stack psql_hashes wait_until
                    wait_usage);
use Test::More;
use Time::HiRes qw(time sleep);

our @EXPORT = qw(sdk_install cli_install run_client client_dir
                 json_line mock_request_list tool_results tool_calls usage_since
                 upstream_ok usage_rows_ok sdk_script sdk_case_ok sdk_usage_ok
                 UPSTREAM_PATH);

my $REPO = $Sluice::Test::REPO;

sub _slurp {
    my $path = shift;
    open my $fh, '<', $path or return '';
    local $/;
    return scalar <$fh>;
}

# run_client(\@argv, env => {NAME => value}, cwd => dir, timeout => secs,
#            stdin => text) -> {exit, signal, stdout, stderr, timed_out,
#            secs}.  The child runs in a session of its own; on timeout
# that process group (the client and whatever it started) gets TERM,
# then KILL, and is reaped.  env adds to (undef deletes from) %ENV.
sub run_client {
    my ($argv, %o) = @_;
    my $tmp = tempdir('sluice-client-XXXXXX', DIR => '/tmp', CLEANUP => 1);
    my ($out, $err, $in) = ("$tmp/stdout", "$tmp/stderr", "$tmp/stdin");
    open my $fh, '>', $in or die "$in: $!";
    print $fh $o{stdin} // '';
    close $fh;
    my $t0 = time;
    my $pid = fork;
    die "run_client: fork: $!" unless defined $pid;
    if ($pid == 0) {
        POSIX::setsid();
        $SIG{PIPE} = 'DEFAULT';     # the harness ignores it; exec keeps that
        open STDIN, '<', $in or POSIX::_exit(127);
        open STDOUT, '>', $out or POSIX::_exit(127);
        open STDERR, '>', $err or POSIX::_exit(127);
        for my $k (keys %{ $o{env} || {} }) {
            if (defined $o{env}{$k}) { $ENV{$k} = $o{env}{$k} }
            else { delete $ENV{$k} }
        }
        if (defined $o{cwd}) { chdir $o{cwd} or POSIX::_exit(127) }
        { no warnings 'exec'; exec { $argv->[0] } @$argv; }
        print STDERR "exec $argv->[0]: $!\n";
        POSIX::_exit(127);
    }
    my $limit = $o{timeout} // 120;
    my ($status, $timed_out);
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) { $status = $?; last }
        if ($r < 0) { $status = -1; last }
        if (time - $t0 > $limit) {
            $timed_out = 1;
            kill 'TERM', -$pid;
            my $deadline = time + 5;
            while (waitpid($pid, WNOHANG) == 0 && time < $deadline) {
                sleep 0.05;
            }
            kill 'KILL', -$pid;
            waitpid($pid, 0);
            $status = $?;
            last;
        }
        sleep 0.05;
    }
    # whatever the client left running in its session goes too
    kill 'KILL', -$pid;
    my %res = (stdout => _slurp($out), stderr => _slurp($err),
               timed_out => $timed_out ? 1 : 0, secs => time - $t0,
               exit => $status < 0 ? -1 : $status >> 8,
               signal => $status < 0 ? 0 : $status & 127);
    remove_tree($tmp);
    return \%res;
}

# The first line of $text that is a JSON object, decoded (or undef).
sub json_line {
    my ($text) = @_;
    for my $l (split /\n/, $text // '') {
        next unless $l =~ /^\s*\{/;
        my $j = json_decode($l);
        return $j if ref $j eq 'HASH';
    }
    return undef;
}

# A directory for one client run inside the stack's directory (kept with
# it when a test fails), readable by all.
sub client_dir {
    my ($name) = @_;
    my $s = stack() or die "client_dir: no stack";
    my $d = "$s->{dir}/clients/$name";
    remove_tree($d);
    make_path($d);
    chmod 0755, "$s->{dir}/clients", $d;
    return $d;
}

# npm ci in $dir under an exclusive lock; returns (ok, seconds, output).
sub _npm_ci {
    my ($dir, $timeout) = @_;
    my $r = run_client(['npm', 'ci', '--no-audit', '--no-fund',
                        '--loglevel=error'],
                       cwd => $dir, timeout => $timeout,
                       env => { npm_config_update_notifier => 'false' });
    my $outp = $r->{stdout} . $r->{stderr};
    $outp .= "\n(npm ci timed out after $timeout s)" if $r->{timed_out};
    return ($r->{exit} == 0 && !$r->{timed_out}, $r->{secs}, $outp);
}

# why npm failed, in a line: its first error lines, else its last line
sub _npm_reason {
    my @l = grep { /\S/ } split /\n/, shift // '';
    my @e = grep { /^npm error \S/ && !/complete log/ } @l;
    return join('; ', @e[0 .. ($#e < 1 ? $#e : 1)]) if @e;
    return @l ? $l[-1] : '(no output)';
}

sub _locked {
    my ($lockfile, $code) = @_;
    make_path(dirname($lockfile));
    open my $lk, '>>', $lockfile or die "$lockfile: $!";
    flock($lk, LOCK_EX) or die "flock $lockfile: $!";
    my @r = $code->();
    close $lk;
    return @r;
}

# sdk_install(@packages): t/sdk/node_modules holds the pinned SDKs
# (t/sdk/package-lock.json), installed with npm ci when one is missing;
# skips the whole test when npm cannot install them.
sub sdk_install {
    my @want = @_ ? @_ : ('openai', '@anthropic-ai/sdk');
    my $dir = "$REPO/t/sdk";
    my $lock = json_decode(_slurp("$dir/package-lock.json")) || {};
    # installed at the version the lock pins (a bump reinstalls)
    my $have = sub {
        !grep {
            my $pin = $lock->{packages}{"node_modules/$_"}{version} // '?';
            my $got = json_decode(
                _slurp("$dir/node_modules/$_/package.json")) || {};
            ($got->{version} // '') ne $pin;
        } @want;
    };
    return 1 if $have->();
    my ($ok, $secs, $out) = _locked("$REPO/var/cache/npm-sdk.lock", sub {
        return (1, 0, '') if $have->();
        return _npm_ci($dir, 300);
    });
    if (!$ok || !$have->()) {
        plan skip_all => "npm could not install the SDKs (offline?): "
            . _npm_reason($out);
    }
    diag(sprintf "installed t/sdk (npm ci) in %.1f s", $secs) if $secs;
    return 1;
}

# cli_install() -> the .bin directory holding claude and codex at the
# versions t/clients/package-lock.json pins.  They are installed (about
# 640 MB) into var/cache/clients/<hash of package.json and lock>/ on first
# use, built in a private directory and renamed into place, so a half
# install is never used and a version bump installs afresh.  Prints how
# long the install took; skips the test when npm cannot install.
sub cli_install {
    my $src = "$REPO/t/clients";
    my $pkg = _slurp("$src/package.json");
    my $lock = _slurp("$src/package-lock.json");
    die "t/clients/package-lock.json is missing\n" unless length $lock;
    my $cache = "$REPO/var/cache/clients";
    my $dest = "$cache/" . substr(sha256_hex($pkg . "\0" . $lock), 0, 16);
    my $bin = "$dest/node_modules/.bin";
    return $bin if -f "$dest/.complete";
    my ($ok, $secs, $out) = _locked("$cache/.lock", sub {
        return (1, 0, '') if -f "$dest/.complete";
        # under the lock no other install runs: what is left of an
        # interrupted one, and other versions' installs, can go
        remove_tree(grep { $_ ne $dest } glob("$cache/*"));
        my $tmp = "$dest.tmp.$$";
        make_path($tmp);
        for my $f ('package.json', 'package-lock.json') {
            open my $fh, '>', "$tmp/$f" or die "$tmp/$f: $!";
            print $fh ($f eq 'package.json' ? $pkg : $lock);
            close $fh;
        }
        my @r = _npm_ci($tmp, 600);
        if (!$r[0]) {
            remove_tree($tmp);
            return @r;
        }
        open my $fh, '>', "$tmp/.complete" or die "$tmp/.complete: $!";
        print $fh "installed in $r[1] s\n";
        close $fh;
        remove_tree($dest);
        rename($tmp, $dest) or die "rename $tmp $dest: $!";
        return @r;
    });
    if (!$ok) {
        plan skip_all => "npm could not install the CLIs (offline?): "
            . _npm_reason($out);
    }
    diag(sprintf "installed the CLIs (claude, codex) into %s in %.1f s",
         $dest, $secs) if $secs;
    return $bin;
}

# the path the mock provider sees for each target dialect of the demo
use constant UPSTREAM_PATH => {
    chat => '/v1/chat/completions', responses => '/v1/responses',
    messages => '/v1/messages',
};

# Every request the mock provider recorded (oldest first), bodies parsed.
sub mock_request_list {
    my $s = stack() or die "mock_request_list: no stack";
    my $r = HTTP::Tiny->new(timeout => 10)
        ->get("$s->{mock_url}/__mock/requests");
    die "mock_request_list: $r->{status}" unless $r->{status} == 200;
    return @{ json_decode($r->{content})->{requests} || [] };
}

# upstream_ok($name, $dialect, $token) -> the POSTs the mock provider got
# since its last reset, after testing that they all went to the path of
# $dialect and that the caller's token was never among their headers.
sub upstream_ok {
    my ($name, $dialect, $token) = @_;
    my $want = UPSTREAM_PATH->{$dialect} or die "upstream_ok: $dialect";
    my @all = mock_request_list();
    my @up = grep { $_->{method} eq 'POST' } @all;
    ok(@up && !grep({ $_->{path} ne $want } @up),
       "$name: the provider was called on $want only")
        or diag(join ' ', map { "$_->{method} $_->{path}" } @all);
    ok(!grep({ my $h = $_->{headers};
               ($h->{'x-api-key'} // '') eq $token
               || ($h->{authorization} // '') =~ /\Q$token/ } @all),
       "$name: the caller's token never reached the provider");
    return @up;
}

# usage_rows_ok($name, $group, $t0, $n, $key_id, $stream): $n rows of
# $group since epoch $t0 reached PostgreSQL, each 200, of that key, with
# input and output tokens (and the stream flag, when $stream is defined).
sub usage_rows_ok {
    my ($name, $group, $t0, $n, $key_id, $stream) = @_;
    my @rows = usage_since($group, $t0, $n);
    is(scalar @rows, $n, "$name: $n usage rows in PostgreSQL");
    _usage_row_ok($_, $group, $key_id, $stream, $name) for @rows;
    return @rows;
}

sub _usage_row_ok {
    my ($row, $group, $key_id, $stream, $name) = @_;
    ok($row->{model_group} eq $group && $row->{status} == 200
       && ($row->{key_id} // '') eq $key_id
       && (!defined $stream || !!$row->{stream} == !!$stream)
       && ($row->{input_tokens} // 0) > 0 && ($row->{output_tokens} // 0) > 0,
       "$name: usage row $row->{request_id}: group, 200, key, "
       . (defined $stream ? 'stream flag, ' : '') . 'tokens')
        or diag(json_encode($row));
}

# For the SDK scripts (t/sdk/*_dialects.mjs), whose cases are objects
# with either an error or what the SDK saw, and calls: [{path, status,
# content_type, request_id}] (every HTTP exchange of the case).
#
# sdk_script($name, $script, $arg, %env) -> what the script printed
# (decoded), after testing that node ran t/sdk/$script within 120 s.
sub sdk_script {
    my ($name, $script, $arg, %env) = @_;
    my $r = run_client(['node', "$REPO/t/sdk/$script", $arg],
                       timeout => 120, env => \%env);
    ok(!$r->{timed_out}, "$name: node finished in time");
    is($r->{exit}, 0, "$name: $script ran") or diag($r->{stderr});
    my $j = json_line($r->{stdout});
    ok($j, "$name: JSON output")
        or diag("stdout: $r->{stdout}\nstderr: $r->{stderr}");
    return $j;
}

# sdk_case_ok($case, $n, $name): no error, $n exchanges, each 200 with
# an X-Request-Id the SDK could see.  Returns whether there was no error.
sub sdk_case_ok {
    my ($case, $n, $name) = @_;
    my $e = ref $case eq 'HASH' ? $case->{error} : { message => 'missing' };
    ok(!$e, "$name: no error") or diag(json_encode($e));
    return 0 if $e;
    my @c = @{ $case->{calls} || [] };
    is(scalar @c, $n, "$name: $n HTTP exchanges") or diag(json_encode(\@c));
    for my $c (@c) {
        is($c->{status}, 200, "$name: $c->{path} 200");
        like($c->{request_id} // '', qr/^[0-9a-f]{32}$/,
             "$name: X-Request-Id visible to the SDK");
    }
    return 1;
}

# sdk_usage_ok($call, $group, $key_id, $stream, $name) -> the usage row
# of one exchange (by its X-Request-Id), tested like usage_rows_ok's.
sub sdk_usage_ok {
    my ($call, $group, $key_id, $stream, $name) = @_;
    my $rid = $call && $call->{request_id};
    my $row = ($rid // '') =~ /^[0-9a-f]{32}$/ ? wait_usage($rid) : undef;
    ok($row, "$name: usage row") or return undef;
    _usage_row_ok($row, $group, $key_id, $stream, $name);
    return $row;
}

sub _text_of {
    my ($c) = @_;
    return $c unless ref $c;
    return join ' ', map { ref $_ eq 'HASH' ? ($_->{text} // $_->{output}
        // '') : $_ } @$c if ref $c eq 'ARRAY';
    return '';
}

# tool_results($body) -> the texts of the tool results in a request body
# of any dialect: Chat "tool" messages, Messages "tool_result" blocks,
# Responses "function_call_output" (and custom_tool_call_output) items.
sub tool_results {
    my ($b) = @_;
    return () unless ref $b eq 'HASH';
    my @t;
    for my $m (@{ ref $b->{messages} eq 'ARRAY' ? $b->{messages} : [] }) {
        next unless ref $m eq 'HASH';
        push @t, _text_of($m->{content}) if ($m->{role} // '') eq 'tool';
        next unless ref $m->{content} eq 'ARRAY';
        push @t, map { _text_of($_->{content}) }
            grep { ref $_ eq 'HASH' && ($_->{type} // '') eq 'tool_result' }
            @{ $m->{content} };
    }
    for my $i (@{ ref $b->{input} eq 'ARRAY' ? $b->{input} : [] }) {
        next unless ref $i eq 'HASH';
        push @t, _text_of($i->{output})
            if ($i->{type} // '') =~ /^(?:function|custom_tool)_call_output$/;
    }
    return @t;
}

# tool_calls($body) -> the tool calls in the history of a request body of
# any dialect, each {name, input} (input decoded from JSON when it came
# as a string): Chat assistant tool_calls, Messages tool_use blocks,
# Responses function_call items.
sub tool_calls {
    my ($b) = @_;
    return () unless ref $b eq 'HASH';
    my @c;
    my $args = sub { ref $_[0] ? $_[0] : json_decode($_[0] // '') };
    for my $m (@{ ref $b->{messages} eq 'ARRAY' ? $b->{messages} : [] }) {
        next unless ref $m eq 'HASH';
        push @c, map { { name => $_->{function}{name},
                         input => $args->($_->{function}{arguments}) } }
            grep { ref $_ eq 'HASH' && ref $_->{function} eq 'HASH' }
            @{ ref $m->{tool_calls} eq 'ARRAY' ? $m->{tool_calls} : [] };
        push @c, map { { name => $_->{name}, input => $_->{input} } }
            grep { ref $_ eq 'HASH' && ($_->{type} // '') eq 'tool_use' }
            @{ ref $m->{content} eq 'ARRAY' ? $m->{content} : [] };
    }
    for my $i (@{ ref $b->{input} eq 'ARRAY' ? $b->{input} : [] }) {
        next unless ref $i eq 'HASH' && ($i->{type} // '') eq 'function_call';
        push @c, { name => $i->{name}, input => $args->($i->{arguments}) };
    }
    return @c;
}

# usage_since($group, $t0, $n, $timeout) -> the usage_events rows of
# $group whose request started at or after epoch $t0, oldest first, once
# there are at least $n of them (or whatever there is at the timeout).
sub usage_since {
    my ($group, $t0, $n, $timeout) = @_;
    die "usage_since: bad group" unless $group =~ /^[\w.-]+$/;
    my $sql = "SELECT * FROM usage_events WHERE model_group = '$group'"
        . sprintf(" AND ts >= to_timestamp(%.3f) ORDER BY ts", $t0);
    my @rows;
    wait_until(sub { @rows = psql_hashes($sql); @rows >= $n },
               $timeout // 10, 0.1);
    return @rows;
}

1;
