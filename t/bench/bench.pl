#!/usr/bin/env perl
# make bench: Sluice against plain nginx proxy_pass, side by side, in one
# run on one machine.  Starts a fast mock provider (nginx serving fixed
# answers), a plain nginx proxy and the Sluice stack (t/lib/Sluice/Test.pm:
# PostgreSQL, Redis, controld, nginx with the module), drives each with wrk
# over the same keepalive settings, counts instructions per request with
# callgrind, measures time to the first SSE event, a 1M-key table and key
# revocation.  Prints Markdown on stdout, writes var/bench/latest.json.
# Stops everything it started, by pid.
#
#   perl t/bench/bench.pl [--quick] [--out FILE]
#
# A full run takes about 4.5 minutes: each load is 5 rounds of 2 s (a
# median of 5 bears two rounds hit by the shared machine's other work).
# --quick (make bench QUICK=1): one 2 s round per load, fewer callgrind
# requests, a 20k-key table; proves the harness works, its numbers are
# rough.  It writes var/bench/latest-quick.json unless --out says
# otherwise.  Environment: BENCH_DURATION (seconds per round),
# BENCH_SCALE_KEYS (keys in the scale table), SLUICE_KEEP=1 (keep the
# temporary directories), BENCH_ONLY (a comma list of the parts to run:
# loads, ttfe, callgrind, scale; all when unset; a partial run writes
# var/bench/partial.json unless --out says otherwise), BENCH_HOLD=N (for
# profiling by hand: once everything is up, write the wrk command of each
# configuration to hold.sh in the temporary directory, print the worker
# pids, and wait N seconds, or until that file is removed, then go on).
#
# Nothing here asserts timings; the exit status is non-zero only when the
# harness itself failed (a server did not start, a load got errors or
# non-2xx answers, a measurement could not be taken).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use Digest::SHA;
use Getopt::Long;
use JSON::PP;
use POSIX qw(floor);
use Time::HiRes qw(time sleep);

my $REPO;
BEGIN { $REPO = abs_path(dirname(__FILE__) . '/../..') }
use lib "$REPO/t/lib", "$REPO/t/bench/lib";

use Test::More ();
use Sluice::Test;
use Sluice::Test::Proc qw(spawn proc_alive proc_stop proc_log_tail);
use Bench::Callgrind;
use Bench::Client;
use Bench::Report;
use Bench::Sys;
use Bench::Util;

# the harness reports through Test::More: to stderr, and no TAP ending
Test::More->builder->output(\*STDERR);
Test::More->builder->no_ending(1);
Test::More->builder->todo_output(\*STDERR);

my %OPT = (quick => 0);
GetOptions(\%OPT, 'quick!', 'out=s') or die "usage: $0 [--quick] [--out F]\n";
my $QUICK = $OPT{quick} || ($ENV{QUICK} // '') =~ /^[1-9y]/i;

my $NGINX = $ENV{SLUICE_NGINX} || '/usr/sbin/nginx';
my $JSONC = JSON::PP->new->utf8->canonical;
my $JSONP = JSON::PP->new->utf8->canonical->pretty;
my $T_START = time;

# ---------------------------------------------------------------------------
# settings

my %CFG = $QUICK
    ? (duration => 2, rounds => 1, warm => 1, cg_n1 => 20, cg_n2 => 80,
       keys => 20_000, scale_duration => 2,
       ttfe_n => 50, ttfe_slow_n => 3, revoke_n => 2, small_keys => 1000)
    : (duration => 2, rounds => 5, warm => 1, cg_n1 => 50, cg_n2 => 250,
       keys => 1_000_000, scale_duration => 6, ttfe_n => 200,
       ttfe_slow_n => 10, revoke_n => 3, small_keys => 1000);
$CFG{duration} = $ENV{BENCH_DURATION}
    if ($ENV{BENCH_DURATION} // '') =~ /^[1-9]\d*$/;
$CFG{keys} = $ENV{BENCH_SCALE_KEYS}
    if ($ENV{BENCH_SCALE_KEYS} // '') =~ /^\d+$/
       && $ENV{BENCH_SCALE_KEYS} > $CFG{small_keys};
# each load (all its rounds) <= 15 s
$CFG{duration} = int(15 / $CFG{rounds})
    if $CFG{duration} * $CFG{rounds} > 15;

my $KEEPALIVE = 64;              # idle upstream connections, both proxies
my $KEEPALIVE_REQUESTS = 100000;
my $CONNS_HIGH = 50;
my $SSE_EVENTS = 20;
my $KEY_PREFIX = 'b';            # bench key ids: b + 11 hex digits
my $KEY_SECRET = 'be' x 32;      # 64 hex chars, the same for every bench key
my $VICTIM = 2**32;              # keys above this one get revoked: never
                                 # among the 1..N that loads pick from
my $FIXTURE = abs_path("$REPO/..") . '/shared/clients/fixtures/'
            . 'claude-code-print-text.json';

my %ONLY = map { $_ => 1 } grep { length }
    split /,/, $ENV{BENCH_ONLY} // 'loads,ttfe,callgrind,scale';
for (keys %ONLY) {
    die "BENCH_ONLY: unknown part $_\n"
        unless /^(?:loads|ttfe|callgrind|scale)$/;
}
my $PARTIAL = keys %ONLY < 4;

my $OUT = $OPT{out}
    // ($PARTIAL ? "$REPO/var/bench/partial.json"
        : $QUICK ? "$REPO/var/bench/latest-quick.json"
                 : "$REPO/var/bench/latest.json");

# cores: load generator on core 0, servers on core 1 (when there are two)
my $PIN = $NCPU >= 2 && _have('taskset');
my @PIN_LOAD = $PIN ? ('taskset', '-c', '0') : ();
my @PIN_SERVER = $PIN ? ('taskset', '-c', '1') : ();

my (@PROCS, $DIR);               # what this script started itself
my %R = (configurations => [], notes => []);

sub say_err {
    printf STDERR "bench: [%3.0f s] %s\n", time - $T_START, "@_";
}











# ---------------------------------------------------------------------------
# processes: /proc







sub pin {
    my ($cpu, $threads, @pids) = @_;
    return unless $PIN;
    for my $pid (@pids) {
        system('taskset', ($threads ? '-a' : ()), '-p', '-c', $cpu, $pid)
            == 0 or !kill(0, $pid) or say_err("taskset $pid failed");
    }
}

# silence taskset's chatter
open(my $NULL, '>', '/dev/null') or die;

sub pin_quiet {
    my @a = @_;
    open my $save, '>&', \*STDOUT or die;
    open STDOUT, '>&', $NULL or die;
    pin(@a);
    open STDOUT, '>&', $save or die;
}

# ---------------------------------------------------------------------------
# the processes this script starts itself (mock nginx, plain nginx,
# valgrind): stopped by pid at the end, whatever happens

sub start_nginx {
    my ($name, $dir, $conf, $port, %o) = @_;
    my @cmd = (@{ $o{prefix} || [] }, $NGINX, '-p', "$dir/", '-c', $conf,
               '-e', "$dir/error.log");
    my $p = spawn($name, \@cmd, log => "$dir/$name.out",
                  stop_signal => 'TERM');
    push @PROCS, $p;
    my $deadline = time + ($o{timeout} // 10);
    until (_tcp_open($port)) {
        die "$name exited during start-up:\n" . proc_log_tail($p)
            . _slurp("$dir/error.log") unless proc_alive($p);
        die "$name did not start in time\n" . proc_log_tail($p)
            if time > $deadline;
        sleep 0.05;
    }
    return $p;
}

sub stop_proc {
    my ($p) = @_;
    proc_stop($p, timeout => 60);
    @PROCS = grep { $_ != $p } @PROCS;
}

END {
    my $rc = $?;
    proc_stop($_) for reverse @PROCS;
    @PROCS = ();
    if ($DIR && -d $DIR && !$ENV{SLUICE_KEEP} && $rc == 0) {
        remove_tree($DIR);
    } elsif ($DIR && -d $DIR) {
        say_err("files kept in $DIR");
    }
    $? = $rc;
}

sub fill_template {
    my ($file, %v) = @_;
    my $t = _slurp("$REPO/t/bench/$file");
    die "t/bench/$file is missing\n" unless length $t;
    $t =~ s/\@([A-Z_]+)\@/exists $v{$1} ? $v{$1} : die "no value for $1"/ge;
    return $t;
}

# ---------------------------------------------------------------------------
# a small keepalive HTTP/1.1 client: exact request counts (callgrind),
# the arrival of the first SSE event, tight revocation polling




# ---------------------------------------------------------------------------
# machine and versions

sub machine_info {
    my $cpu = (_slurp('/proc/cpuinfo') =~ /^model name\s*:\s*(.*)$/m)[0];
    my $ver = sub {
        my ($re, @cmd) = @_;
        my $o = _cmd_out(@cmd);
        return ($o =~ $re)[0] // 'unknown';
    };
    my $commit = _cmd_out('git', '-C', $REPO, 'rev-parse', '--short', 'HEAD');
    chomp $commit;
    my $dirty = _cmd_out('git', '-C', $REPO, 'status', '--porcelain',
                         '--untracked-files=no') =~ /\S/ ? '+dirty' : '';
    $R{machine} = {
        cores => $NCPU, cpu_model => $cpu // 'unknown',
        mem_total_kb =>
            (_slurp('/proc/meminfo') =~ /MemTotal:\s+(\d+)/)[0] + 0,
        loadavg_start => (split ' ', _slurp('/proc/loadavg'))[0] + 0,
    };
    $R{versions} = {
        nginx => $ver->(qr{nginx/(\S+)}, $NGINX, '-v'),
        wrk => $ver->(qr{^wrk (\S+)}, 'wrk', '-v'),
        kernel => $ver->(qr{^(\S+)}, 'uname', '-r'),
        gcc => $ver->(qr{\) (\d\S*)}, 'gcc', '--version'),
        valgrind => $ver->(qr{valgrind-(\S+)}, 'valgrind', '--version'),
        perl => sprintf('%vd', $^V),
        sluice => "0.1.0 ($commit$dirty)",
    };
}

# ---------------------------------------------------------------------------
# bodies and the mock's answers

sub chat_body {
    my ($model, $stream) = @_;
    my $mk = sub {
        my $pad = shift;
        my %b = (model => $model, max_tokens => 256, temperature => 0.2,
                 messages => [
                     { role => 'system',
                       content => 'You are a concise assistant for an '
                           . 'engineering team. Answer in plain text.' },
                     { role => 'user',
                       content => 'Summarise the following notes in one '
                           . 'sentence. ' . ('lorem ipsum dolor sit amet '
                           x 25) . ('x' x $pad) },
                 ]);
        $b{stream} = JSON::PP::true if $stream;
        return $JSONC->encode(\%b);
    };
    my $base = length $mk->(0);
    die "chat body base too long" if $base > 1024;
    my $b = $mk->(1024 - $base);
    die "chat body is not 1024 bytes" unless length $b == 1024;
    return $b;
}

sub big_body {
    return undef unless -f $FIXTURE;
    my $fx = eval { $JSONC->decode(_slurp($FIXTURE)) } or return undef;
    my ($req) = grep { ($_->{method} // '') eq 'POST'
                       && ref $_->{body} eq 'HASH' }
                  @{ $fx->{requests} || [] };
    return undef unless $req;
    my %b = %{ $req->{body} };
    $b{model} = 'bench-json';
    # JSON answer from the fast mock: measures the body's cost, not SSE
    $b{stream} = JSON::PP::false;
    return $JSONC->encode(\%b);
}

sub mock_answers {
    my ($www) = @_;
    make_path("$www/json/v1/chat", "$www/sse/v1/chat", "$www/msse/v1");
    my $created = 1764000000;
    my $json = {
        id => 'chatcmpl-bench', object => 'chat.completion',
        created => $created, model => 'bench-model',
        choices => [{ index => 0, finish_reason => 'stop',
                      message => { role => 'assistant',
                                   content => 'MOCK_OK Hello from the bench '
                                       . 'mock. This answer is fixed.' } }],
        usage => { prompt_tokens => 256, completion_tokens => 12,
                   total_tokens => 268 },
    };
    _write("$www/json/v1/chat/completions", $JSONC->encode($json));
    my @ev;
    my $chunk = sub {
        my ($choices, $usage) = @_;
        my %c = (id => 'chatcmpl-bench', object => 'chat.completion.chunk',
                 created => $created, model => 'bench-model',
                 choices => $choices);
        $c{usage} = $usage if $usage;
        push @ev, 'data: ' . $JSONC->encode(\%c) . "\n\n";
    };
    my $null = JSON::PP::null;
    $chunk->([{ index => 0, delta => { role => 'assistant', content => '' },
                finish_reason => $null }]);
    for my $i (1 .. $SSE_EVENTS - 3) {
        $chunk->([{ index => 0, delta => { content => " word$i" },
                    finish_reason => $null }]);
    }
    $chunk->([{ index => 0, delta => {}, finish_reason => 'stop' }]);
    $chunk->([], { prompt_tokens => 256, completion_tokens => $SSE_EVENTS - 3,
                   total_tokens => 256 + $SSE_EVENTS - 3 });
    _write("$www/sse/v1/chat/completions",
           join('', @ev) . "data: [DONE]\n\n");
    _write("$www/msse/v1/messages", messages_sse());
    return scalar @ev;
}

# the same stream as an Anthropic Messages provider sends it (20 events):
# what a chat caller's stream is translated from in row 4
sub messages_sse {
    my @ev;
    my $ev = sub {
        my ($type, %d) = @_;
        push @ev, "event: $type\ndata: "
            . $JSONC->encode({ type => $type, %d }) . "\n\n";
    };
    $ev->('message_start', message => {
        id => 'msg_bench', type => 'message', role => 'assistant',
        model => 'bench-model', content => [],
        stop_reason => JSON::PP::null, stop_sequence => JSON::PP::null,
        usage => { input_tokens => 256, output_tokens => 1 } });
    $ev->('content_block_start', index => 0,
          content_block => { type => 'text', text => '' });
    for my $i (1 .. $SSE_EVENTS - 5) {
        $ev->('content_block_delta', index => 0,
              delta => { type => 'text_delta', text => " word$i" });
    }
    $ev->('content_block_stop', index => 0);
    $ev->('message_delta', delta => { stop_reason => 'end_turn',
                                      stop_sequence => JSON::PP::null },
          usage => { output_tokens => $SSE_EVENTS - 5 });
    $ev->('message_stop');
    return join '', @ev;
}

# ---------------------------------------------------------------------------
# the three servers

my (%SRV, $STACK, $FRAGMENTED, $MODULE);
# the targets are plain http: one CA instead of the system bundle keeps
# nginx's start-up (parsing ~140 certificates) short under callgrind
my ($SMALL_CA) = sort glob('/etc/ssl/certs/*.pem');
my %HEADER_BUFFER = (main => '', big => '');

sub start_mock {
    my $d = "$DIR/mock";
    make_path("$d/tmp");
    my $events = mock_answers("$d/www");
    my $port = _free_port();
    _write("$d/nginx.conf", fill_template('mock.conf.in', DIR => $d,
                                          PORT => $port));
    my $p = start_nginx('mock', $d, "$d/nginx.conf", $port,
                        prefix => \@PIN_SERVER);
    $SRV{mock} = { proc => $p, port => $port, big_port => $port, dir => $d,
                   events => $events };
}

sub proxy_conf {
    my ($d, $port, $big_port, $master) = @_;
    return fill_template('proxy.conf.in', DIR => $d, PORT => $port,
                         BIG_PORT => $big_port, MASTER => $master,
                         HEADER_BUFFER => $HEADER_BUFFER{main},
                         HEADER_BUFFER_BIG => $HEADER_BUFFER{big},
                         MOCK_PORT => $SRV{mock}{port},
                         NODE_PORT => $STACK->{mock_port},
                         KEEPALIVE => $KEEPALIVE,
                         KEEPALIVE_REQUESTS => $KEEPALIVE_REQUESTS);
}

sub start_plain {
    my $d = "$DIR/nginx";
    make_path("$d/tmp");
    my ($port, $big_port) = (_free_port(), _free_port());
    _write("$d/nginx.conf", proxy_conf($d, $port, $big_port, 'on'));
    my $p = start_nginx('nginx', $d, "$d/nginx.conf", $port,
                        prefix => \@PIN_SERVER);
    $SRV{nginx} = { proc => $p, port => $port, big_port => $big_port,
                    dir => $d };
}

my %ENTITIES;

# The harness's nginx with one more server (same gateway.conf) for the
# 76 KB body; the "# bench:" lines become client_header_buffer_size when
# the body workaround is needed (see probe_fragmented).
sub start_sluice {
    my $big_port = _free_port();
    my $common = "        access_log off;\n"
               . "        keepalive_requests $KEEPALIVE_REQUESTS;\n";
    $STACK = start_stack(
        worker_processes => 1,
        balancer => "keepalive=$KEEPALIVE "
                    . "keepalive_requests=$KEEPALIVE_REQUESTS",
        nginx_server => $common . "        # bench: header buffer\n",
        nginx_http => "    server {\n"
                    . "        listen 127.0.0.1:$big_port;\n" . $common
                    . "        # bench: big header buffer\n"
                    . "        include $REPO/conf/gateway.conf;\n    }\n",
        controld => { log_level => 'info', reconcile_interval => 600 },
        (trusted_ca => $SMALL_CA) x !!$SMALL_CA);
    $SRV{sluice} = { port => $STACK->{gw_port}, big_port => $big_port,
                     proc => $STACK->{procs}{nginx} };
}

# Sluice answers 400 "request body is fragmented" when part of the body
# arrived with the request headers (nginx keeps that part in the header
# buffer: two buffers, ngx_http_request_body.c "TODO: honor
# request_body_in_single_buf").  wrk, curl and Python send headers and a
# small body in one write, so this hits every such request.  Until the
# module copes, the bench gives the Sluice servers AND the plain nginx
# servers a header buffer that holds the whole request, and says so.
sub probe_fragmented {
    my ($bodies) = @_;
    my $c = kc_connect($SRV{sluice}{port});
    my $r = kc_request($c, 'POST', '/v1/chat/completions',
                       { Authorization => "Bearer $ENTITIES{token}",
                         'Content-Type' => 'application/json' },
                       $bodies->{json});      # headers and body in one write
    return if $r->{status} == 200;
    die "probe: status $r->{status}: $r->{body}\n"
        unless $r->{status} == 400 && $r->{body} =~ /fragmented/;
    $FRAGMENTED = 1;
    %HEADER_BUFFER = (main => 'client_header_buffer_size 2k;',
                      big => 'client_header_buffer_size 96k;');
    push @{ $R{known_issues} },
        'Sluice answers 400 "request body is fragmented" to a request whose '
        . 'headers and body arrive in one write (wrk, curl -d, Python) once '
        . 'the request exceeds client_header_buffer_size (1k): workaround in '
        . 'this run, on the Sluice and plain nginx servers alike: '
        . "$HEADER_BUFFER{main} (1 KB bodies), $HEADER_BUFFER{big} (76 KB); "
        . 'a 76 KB request still spans several reads, so for that row wrk '
        . 'runs on the servers\' core (the request is queued whole before '
        . 'nginx reads it).';
}

# Rewrites the Sluice nginx's config: the module snapshot taken at the
# start (the module may be rebuilt while the bench runs; every Sluice
# nginx of this run, callgrind's too, loads the same copy) and the header
# buffers; reloads, and returns once only new workers serve.
sub reload_sluice {
    my ($bodies) = @_;
    my $conf = _slurp($STACK->{nginx_conf});
    $conf =~ s{^load_module \S+;}{load_module $MODULE;}m or die "load_module?";
    $conf =~ s/# bench: header buffer$/$HEADER_BUFFER{main}/m;
    $conf =~ s/# bench: big header buffer$/$HEADER_BUFFER{big}/m;
    _write($STACK->{nginx_conf}, $conf);
    my %old = map { $_ => 1 } workers_of('sluice');
    reload_nginx();
    # the old worker may still take a connection until it got the signal
    wait_until(sub { !grep { $old{$_} } workers_of('sluice') }, 10)
        or die "nginx reload: the old worker did not leave\n";
    my $r;
    for my $try (1 .. 20) {
        my $c = kc_connect($SRV{sluice}{port});
        $r = kc_request($c, 'POST', '/v1/chat/completions',
                        { Authorization => "Bearer $ENTITIES{token}",
                          'Content-Type' => 'application/json' },
                        $bodies->{json});
        last if $r->{status} == 200;
        sleep 0.1;
    }
    die "after the reload: status $r->{status}: $r->{body}\n"
        unless $r->{status} == 200;
}

sub admin_ok {
    my ($m, $path, $body) = @_;
    my ($st, $j, $r) = admin($m, $path, $body);
    die "admin $m $path: $st $r->{content}\n" unless $st =~ /^20/;
    return $j;
}

sub bench_token {
    return sprintf 'sk-sluice-%s%011x-%s', $KEY_PREFIX, $_[0], $KEY_SECRET;
}
sub bench_key_id { sprintf "%s%011x", $KEY_PREFIX, $_[0] }

# deterministic bench keys $from..$to, in one INSERT.  The foreign key
# checks (two per row) are skipped (session_replication_role = replica:
# the user and project exist), which also silences the statement
# trigger, so the NOTIFY it would send is sent here.
sub insert_keys {
    my ($from, $to, $no_notify) = @_;
    my $t0 = time;
    my $notify = $no_notify ? ''
               : "; SELECT pg_notify('sluice_policy', 'keys')";
    _psql_quiet("SET LOCAL session_replication_role = replica;
          INSERT INTO keys (id, token_sha256, user_id, project_id,
                            environment, groups)
          SELECT '$KEY_PREFIX' || lpad(to_hex(i), 11, '0'),
                 encode(sha256(convert_to('sk-sluice-$KEY_PREFIX'
                     || lpad(to_hex(i), 11, '0') || '-$KEY_SECRET', 'UTF8')),
                     'hex'),
                 u.id, p.id, 'bench', '{bench-json,bench-sse}'
          FROM generate_series($from, $to) AS i, users u, projects p
          WHERE u.name = 'demo' AND p.name = 'demo'$notify");
    return time - $t0;
}

sub _psql_quiet { my @r = psql(@_); return scalar @r }

# The big insert: PostgreSQL may use both cores meanwhile (nothing else
# runs), in $ways INSERTs at once, from forked children.  One NOTIFY once
# all committed: controld's incremental read takes rows stamped after its
# previous read began (less 5 s), so a read between two commits would
# skip the later transaction's rows (stamped at its start) until the
# next full reconcile.
sub insert_keys_parallel {
    my ($from, $to, $ways) = @_;
    my $t0 = time;
    my $pg = $STACK->{procs}{pg}{pid};
    pin_quiet('0-1', 1, descendants(proc_table(), $pg));
    my $per = int(($to - $from + 1) / $ways) + 1;
    my @kids;
    for my $w (0 .. $ways - 1) {
        my ($lo, $hi) = ($from + $w * $per, $from + ($w + 1) * $per - 1);
        $hi = $to if $hi > $to;
        next if $lo > $hi;
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            my $ok = eval { insert_keys($lo, $hi, 1); 1 };
            print STDERR "bench: insert $lo..$hi: $@" unless $ok;
            POSIX::_exit($ok ? 0 : 1);
        }
        push @kids, $pid;
    }
    my $fail = 0;
    for (@kids) {
        waitpid($_, 0);
        $fail++ if $?;
    }
    pin_quiet(0, 1, descendants(proc_table(), $pg));
    die "inserting keys $from..$to failed\n" if $fail;
    _psql_quiet("SELECT pg_notify('sluice_policy', 'keys')");
    return time - $t0;
}

# seconds until the gateway accepts $token (undef: not within $timeout)
sub wait_accepted {
    my ($token, $timeout) = @_;
    my $t0 = time;
    my $c = kc_connect($SRV{sluice}{port});
    while (time - $t0 < $timeout) {
        my $r = kc_request($c, 'GET', '/v1/models',
                           { Authorization => "Bearer $token" });
        return time - $t0 if $r->{status} == 200;
        sleep 0.02;
    }
    return undef;
}

# Waits until the policy table holds every key PostgreSQL has (the
# entry count mdb_stat reports: keys, groups and a generation), then
# until a sample of keys 1..$n all pass; returns the seconds it took.
sub wait_table_complete {
    my ($n, $deadline) = @_;
    my $t0 = time;
    my ($want) = psql('SELECT (SELECT count(*) FROM keys)'
                      . ' + (SELECT count(*) FROM model_groups)');
    $want = $want->[0];
    if (_have('mdb_stat')) {
        while (1) {
            my ($have) = _cmd_out('mdb_stat', $STACK->{table})
                =~ /Entries:\s*(\d+)/;
            last if ($have // 0) >= $want;
            return undef if time > $deadline;
            sleep 0.2;
        }
    }
    my $c = kc_connect($SRV{sluice}{port});
    for my $i (map { 1 + int(rand($n)) } 1 .. 100) {
        while (1) {
            my $r = kc_request($c, 'GET', '/v1/models',
                               { Authorization => 'Bearer '
                                                  . bench_token($i) });
            last if $r->{status} == 200;
            return undef if time > $deadline;
            sleep 0.1;
        }
    }
    return time - $t0;
}

sub seed_bench {
    seed_demo();
    my $mock = "http://127.0.0.1:$SRV{mock}{port}";
    for my $kind (qw(json sse)) {
        admin_ok(POST => '/admin/v1/providers',
                 { name => "bench-$kind", base_url => "$mock/$kind/v1",
                   dialect => 'chat', auth_kind => 'bearer',
                   credential => 'sk-upstream-bench' });
        admin_ok(POST => '/admin/v1/targets',
                 { name => "bench-$kind", provider => "bench-$kind",
                   model => 'bench-model', weight => 1 });
        admin_ok(POST => '/admin/v1/groups',
                 { name => "bench-$kind", strategy => 'weighted',
                   targets => ["bench-$kind"] });
    }
    # row 4: a chat caller, an Anthropic Messages provider
    admin_ok(POST => '/admin/v1/providers',
             { name => 'bench-xsse', base_url => "$mock/msse/v1",
               dialect => 'messages', auth_kind => 'x-api-key',
               credential => 'sk-upstream-bench' });
    admin_ok(POST => '/admin/v1/targets',
             { name => 'bench-xsse', provider => 'bench-xsse',
               model => 'bench-model', weight => 1 });
    admin_ok(POST => '/admin/v1/groups',
             { name => 'bench-xsse', strategy => 'weighted',
               targets => ['bench-xsse'] });
    # the node mock, for the delayed stream (first event) check
    admin_ok(POST => '/admin/v1/providers',
             { name => 'bench-node', base_url => "$STACK->{mock_url}/v1",
               dialect => 'chat', auth_kind => 'bearer',
               credential => 'sk-upstream-bench' });
    admin_ok(POST => '/admin/v1/targets',
             { name => 'bench-node', provider => 'bench-node',
               model => 'mock-model-1', weight => 1 });
    admin_ok(POST => '/admin/v1/groups',
             { name => 'bench-node', strategy => 'weighted',
               targets => ['bench-node'] });
    my $k = create_key(groups => ['bench-json', 'bench-sse', 'bench-xsse',
                                  'bench-node']);
    $ENTITIES{token} = $k->{token};
    $ENTITIES{key_id} = $k->{id};
    # the "small" table: a thousand keys besides the demo ones
    insert_keys(1, $CFG{small_keys});
    insert_keys($VICTIM + 1, $VICTIM + 2 * $CFG{revoke_n});
    defined wait_accepted(bench_token($CFG{small_keys}), 20)
        or die "bench keys did not reach the gateway\n";
}

# ---------------------------------------------------------------------------
# one wrk load


sub workers_of { my $n = shift; return children_of($SRV{$n}{proc}{pid}) }



my %URL_PATH = (direct => '/%s/v1/chat/completions',
                nginx => '/%s/v1/chat/completions',
                sluice => '/v1/chat/completions',
                translate => '/v1/chat/completions');

# the configurations served by the Sluice stack (3. governed, 4. translating)
sub gateway { return $_[0] eq 'sluice' || $_[0] eq 'translate' }
sub server_of {
    my ($config) = @_;
    return $config eq 'direct' ? 'mock' : gateway($config) ? 'sluice'
                                                           : $config;
}

# one request like the load's, to show what a failing load got
sub sample_answer {
    my (%o) = @_;
    my $r = eval {
        my $c = kc_connect($o{port});
        my %h = ('Content-Type' => 'application/json',
                 Authorization => "Bearer $ENTITIES{token}");
        kc_request($c, 'POST', url_path($o{config}, $o{kind}), \%h,
                   _slurp($o{body_file}));
    };
    return " (then: $@)" unless $r;
    return " (then: $r->{status} " . substr($r->{body}, 0, 200) . ")";
}

sub url_path {
    my ($config, $kind) = @_;
    my $f = $URL_PATH{$config};
    return $f =~ /%s/ ? sprintf($f, $kind) : $f;
}

sub run_wrk {
    my (%o) = @_;
    my $srv = server_of($o{config});
    my $path = url_path($o{config}, $o{path_kind} // $o{kind});
    my $port = $SRV{$srv}{ $o{big} ? 'big_port' : 'port' };
    my $url = "http://127.0.0.1:$port$path";
    # every variable t/bench/wrk.lua reads, set here; every configuration
    # gets the same request bytes, the caller's Authorization included
    my %env = (BENCH_BODY => $o{body_file},
               BENCH_TOKEN => $ENTITIES{token},
               BENCH_KEYS => 0, BENCH_KEY_PREFIX => $KEY_PREFIX,
               BENCH_KEY_SECRET => $KEY_SECRET);
    %env = (%env, BENCH_TOKEN => '', BENCH_KEYS => $o{keys}) if $o{keys};
    local @ENV{ keys %env } = values %env;
    # the 76 KB body and the fragmented-body bug: wrk on the servers' core,
    # so the whole request is queued before nginx reads it
    my @pin = $o{big} && $FRAGMENTED ? @PIN_SERVER : @PIN_LOAD;
    my @cmd = (@pin, 'wrk', '-t1', "-c$o{conns}", "-d$o{duration}s",
               '--timeout', '5s', '-s', "$REPO/t/bench/wrk.lua", $url);
    my @workers = workers_of($srv);
    my @mock_workers = workers_of('mock');
    my %aux = gateway($o{config})
        ? map { $STACK->{procs}{$_} ? ($_ => $STACK->{procs}{$_}{pid}) : () }
              qw(pg redis controld)
        : ();
    my @aux = values %aux;
    my $log_at = gateway($o{config}) ? -s $STACK->{error_log} : 0;
    my $a = sample();
    my $out = _cmd_out(@cmd);
    my $b = sample();
    my ($line) = $out =~ /^BENCH (\{.*\})$/m
        or die "wrk gave no summary for $o{name}:\n$out\n";
    my $w = $JSONC->decode($line);
    return $w if $o{warm};
    my $n = $w->{requests} || 1;
    my $secs = $w->{duration_us} / 1e6;
    my $gw = ticks_between($a, $b, 0, @workers);
    my $mk = ticks_between($a, $b, 0, @mock_workers);
    my $ax = ticks_between($a, $b, 1, descendants($b->{procs}, @aux));
    my %per = map { $_ => ticks_between($a, $b, 1,
                                        descendants($b->{procs}, $aux{$_})) }
              keys %aux;
    my $mem = { VmHWM => 0, VmRSS => 0 };
    for (@workers) {
        my $m = proc_mem($_);
        $mem->{$_} += $m->{$_} // 0 for qw(VmHWM VmRSS);
    }
    my $errors = $w->{err_connect} + $w->{err_read} + $w->{err_write}
               + $w->{err_timeout};
    my %row = (
        name => $o{name}, config => $o{config}, body => $o{body_name},
        kind => $o{kind}, connections => $o{conns},
        duration_s => _r($secs, 2), requests => $w->{requests},
        rps => _r($w->{requests} / $secs, 0),
        p50_ms => _r($w->{lat_p50_us} / 1000, 3),
        p90_ms => _r($w->{lat_p90_us} / 1000, 3),
        p99_ms => _r($w->{lat_p99_us} / 1000, 3),
        mean_ms => _r($w->{lat_mean_us} / 1000, 3),
        max_ms => _r($w->{lat_max_us} / 1000, 3),
        cpu_us_per_request => _r($gw / $TICK * 1e6 / $n, 1),
        faults_per_request => _r(faults_between($a, $b, @workers) / $n, 2),
        rss_kb => $mem->{VmHWM}, rss_now_kb => $mem->{VmRSS},
        socket_errors => $errors, non_2xx => $w->{err_status},
        %{ sharing($a, $b) },
    );
    $row{mock_cpu_us_per_request} = _r($mk / $TICK * 1e6 / $n, 1)
        if $o{config} ne 'direct';
    if (@aux) {
        $row{offpath_cpu_us_per_request} = _r($ax / $TICK * 1e6 / $n, 1);
        $row{"${_}_cpu_us_per_request"} = _r($per{$_} / $TICK * 1e6 / $n, 1)
            for keys %per;
    }
    if ($w->{err_status} && gateway($o{config})) {
        # the known issue (see probe_fragmented) is no harness failure
        my $frag = () = _slurp_from($STACK->{error_log}, $log_at)
            =~ /request body is fragmented/g;
        $row{fragmented_400} = $frag;
        $w->{err_status} -= $frag;
        $row{note} = "$frag answers were 400 \"request body is fragmented\" "
            . "(known issue): they count in RPS and latency" if $frag;
    }
    if ($errors || $w->{err_status}) {
        push @{ $R{failures} }, "$o{name}: $errors socket errors, "
             . "$w->{err_status} non-2xx answers"
             . sample_answer(%o, port => $port);
    }
    return \%row;
}

# ---------------------------------------------------------------------------
# sanity: one request through every path before measuring

sub check_paths {
    my ($bodies) = @_;
    for my $config (qw(direct nginx sluice)) {
        my $srv = $config eq 'direct' ? 'mock' : $config;
        my $c = kc_connect($SRV{$srv}{port});
        for my $kind (qw(json sse)) {
            my $path = url_path($config, $kind);
            my %h = ('Content-Type' => 'application/json',
                     Authorization => "Bearer $ENTITIES{token}");
            for my $try (1, 2) {
                my $r = kc_request($c, 'POST', $path, \%h, $bodies->{$kind},
                                   sse => $kind eq 'sse');
                die "$config $kind: status $r->{status}: "
                    . substr($r->{body}, 0, 300) . "\n"
                    unless $r->{status} == 200;
                my $ok = $kind eq 'json'
                    ? $r->{body} =~ /"chat\.completion"/
                    : $r->{body} =~ /data: \[DONE\]/;
                die "$config $kind: unexpected body: "
                    . substr($r->{body}, 0, 300) . "\n" unless $ok;
            }
        }
        if ($bodies->{big}) {
            $c = kc_connect($SRV{$srv}{big_port});
            my $path = url_path($config, 'json');
            my %h = ('Content-Type' => 'application/json',
                     Authorization => "Bearer $ENTITIES{token}");
            my $r;
            for my $try (1 .. 10) {     # the fragmented-body race
                $r = kc_request($c, 'POST', $path, \%h, $bodies->{big});
                last unless $FRAGMENTED && $r->{status} == 400;
            }
            die "$config 76 KB body: status $r->{status}: "
                . substr($r->{body}, 0, 300) . "\n" unless $r->{status} == 200;
        }
    }
    # row 4: the messages stream reaches a chat caller translated
    my $c = kc_connect($SRV{sluice}{port});
    my $r = kc_request($c, 'POST', url_path('translate', 'sse'),
                       { 'Content-Type' => 'application/json',
                         Authorization => "Bearer $ENTITIES{token}" },
                       $bodies->{xsse}, sse => 1);
    die "translate: status $r->{status}: " . substr($r->{body}, 0, 300)
        . "\n" unless $r->{status} == 200
                      && $r->{body} =~ /"chat\.completion\.chunk"/
                      && $r->{body} =~ / word3/
                      && $r->{body} =~ /data: \[DONE\]/;
}

# ---------------------------------------------------------------------------
# the wrk matrix

# one row from the rounds of a load: medians of rate and latencies, CPU
# per request over all rounds, the highest RSS
sub merge_rounds {
    my @r = @_;
    return $r[0] if @r == 1;
    my %m = %{ $r[-1] };
    for my $k (qw(rps p50_ms p90_ms p99_ms mean_ms)) {
        $m{$k} = _median(map { $_->{$k} } @r);
    }
    my ($req, $secs) = (0) x 2;
    my @per = grep { /_cpu_us_per_request$/ } keys %m;
    my %sum = map { $_ => 0 } @per;
    for my $r (@r) {
        $req += $r->{requests};
        $secs += $r->{duration_s};
        $sum{$_} += ($r->{$_} // 0) * $r->{requests} for @per;
    }
    $m{requests} = $req;
    $m{duration_s} = _r($secs, 2);
    # CPU per request over all rounds: nginx worker, mock, off the path
    $m{$_} = _r($sum{$_} / ($req || 1), 1) for @per;
    $m{max_ms} = (sort { $b <=> $a } map { $_->{max_ms} } @r)[0];
    $m{rss_kb} = (sort { $b <=> $a } map { $_->{rss_kb} } @r)[0];
    my $faults = 0;
    $faults += ($_->{faults_per_request} // 0) * $_->{requests} for @r;
    $m{faults_per_request} = _r($faults / ($req || 1), 2);
    for my $k (qw(socket_errors non_2xx fragmented_400)) {
        my $n = 0;
        $n += $_->{$k} // 0 for @r;
        $m{$k} = $n;
    }
    for my $k (grep { /_pct$/ } keys %m) {
        my $sum = 0;
        $sum += $_->{$k} // 0 for @r;
        $m{$k} = _r($sum / @r, 1);
    }
    my @notes = grep { defined } map { $_->{note} } @r;
    $m{note} = $m{fragmented_400} ? "$m{fragmented_400} answers were 400 "
        . '"request body is fragmented" (known issue): they count in RPS '
        . 'and latency' : undef;
    delete $m{note} unless defined $m{note};
    $m{rounds} = [map { { rps => $_->{rps}, p50_ms => $_->{p50_ms},
                          p99_ms => $_->{p99_ms} } } @r];
    return \%m;
}

# BENCH_HOLD: the stack stays up for perf, strace or callgrind by hand
sub hold {
    my ($files) = @_;
    my @sh = ('# source this file, then run a load: $WRK_SLUICE_JSON ...',
              "export BENCH_TOKEN=$ENTITIES{token} BENCH_KEYS=0",
              "export BENCH_KEY_PREFIX=$KEY_PREFIX "
              . "BENCH_KEY_SECRET=$KEY_SECRET");
    for my $config (qw(direct nginx sluice translate)) {
        for my $kind (qw(json sse)) {
            next if $config eq 'translate' && $kind eq 'json';
            my $file = $config eq 'translate' ? $files->{xsse}
                                              : $files->{$kind};
            my $port = $SRV{ server_of($config) }{port};
            my $var = uc "WRK_${config}_$kind";
            push @sh, "$var='env BENCH_BODY=$file @PIN_LOAD wrk -t1 -c50 "
                . "-d5s -s $REPO/t/bench/wrk.lua http://127.0.0.1:$port"
                . url_path($config, $kind) . "'";
        }
    }
    for my $srv (qw(mock nginx sluice)) {
        push @sh, "# $srv workers: " . join(' ', workers_of($srv));
    }
    _write("$DIR/hold.sh", join("\n", @sh) . "\n");
    say_err("holding $ENV{BENCH_HOLD} s: . $DIR/hold.sh; rm it to go on");
    print STDERR "$_\n" for @sh;
    my $until = time + $ENV{BENCH_HOLD};
    sleep 1 while -e "$DIR/hold.sh" && time < $until;
}

sub loads {
    my ($files, $bodies) = @_;
    my @scen = (
        [json => 'json', $CONNS_HIGH], [json => 'json', 1],
        [sse => 'sse', $CONNS_HIGH], [sse => 'sse', 1],
    );
    push @scen, [big => 'json', 1] if $files->{big};
    my %warm;
    my @configs = qw(direct nginx sluice);
    for my $s (@scen) {
        my ($body, $kind, $conns) = @$s;
        my $tag = $body eq 'big' ? '76KB' : $kind;
        for my $config (@configs) {
            next if $warm{"$config $kind"}++;
            run_wrk(config => $config, kind => $kind, conns => $CONNS_HIGH,
                    duration => $CFG{warm}, body_file => $files->{$kind},
                    name => "$config $kind (warm-up)", warm => 1);
        }
        # rounds, the order of the configurations rotating, so a burst of
        # foreign load on the shared machine hits each about equally
        my %rounds;
        for my $round (1 .. $CFG{rounds}) {
            my @order = @configs[map { ($_ + $round - 1) % 3 } 0 .. 2];
            for my $config (@order) {
                my $name = "$config $tag c$conns";
                say_err(sprintf "load: %s, round %d/%d, %d s",
                        $name, $round, $CFG{rounds}, $CFG{duration});
                push @{ $rounds{$config} }, run_wrk(
                    config => $config, kind => $kind, conns => $conns,
                    duration => $CFG{duration}, body_file => $files->{$body},
                    big => $body eq 'big',
                    body_name => $body eq 'big' ? '76KB' : '1KB',
                    name => $name);
            }
        }
        push @{ $R{configurations} }, merge_rounds(@{ $rounds{$_} })
            for @configs;
    }
    # ratio to plain nginx from the same run
    my %ng = map { ("$_->{body} $_->{kind} $_->{connections}" => $_) }
        grep { $_->{config} eq 'nginx' } @{ $R{configurations} };
    for my $row (@{ $R{configurations} }) {
        my $n = $ng{"$row->{body} $row->{kind} $row->{connections}"} or next;
        $row->{ratio_to_nginx} = _r($row->{rps} / ($n->{rps} || 1), 3);
        $row->{added_p50_ms} = _r($row->{p50_ms} - $n->{p50_ms}, 3);
        $row->{added_mean_ms} = _r($row->{mean_ms} - $n->{mean_ms}, 3);
    }
    loads_translate($files);
    push @{ $R{notes} }, "76 KB row skipped: $FIXTURE not found "
        . "(../shared is absent)" unless $files->{big};
}

# row 4: a chat caller streaming from a messages provider (20 events
# translated one by one), against plain nginx proxying the chat stream
sub loads_translate {
    my ($files) = @_;
    my %ng = map { ("$_->{kind} $_->{connections}" => $_) }
        grep { $_->{config} eq 'nginx' && $_->{body} eq '1KB' }
        @{ $R{configurations} };
    run_wrk(config => 'translate', kind => 'sse', conns => $CONNS_HIGH,
            duration => $CFG{warm}, body_file => $files->{xsse},
            name => 'translate sse (warm-up)', warm => 1);
    for my $conns ($CONNS_HIGH, 1) {
        my @rounds;
        for my $round (1 .. $CFG{rounds}) {
            my $name = "translate SSE c$conns";
            say_err(sprintf "load: %s, round %d/%d, %d s",
                    $name, $round, $CFG{rounds}, $CFG{duration});
            push @rounds, run_wrk(config => 'translate', kind => 'sse',
                                  conns => $conns,
                                  duration => $CFG{duration},
                                  body_file => $files->{xsse},
                                  body_name => '1KB', name => $name);
        }
        my $row = merge_rounds(@rounds);
        $row->{note} = 'chat caller, messages provider: each event '
            . 'translated';
        if (my $n = $ng{"sse $conns"}) {
            $row->{ratio_to_nginx} = _r($row->{rps} / ($n->{rps} || 1), 3);
            $row->{added_p50_ms} = _r($row->{p50_ms} - $n->{p50_ms}, 3);
            $row->{added_mean_ms} = _r($row->{mean_ms} - $n->{mean_ms}, 3);
        }
        push @{ $R{configurations} }, $row;
    }
}

# ---------------------------------------------------------------------------
# time to the first SSE event, on one keepalive connection

sub ttfe {
    my ($bodies) = @_;
    my %out;
    # one request to each configuration in turn (the order rotating), so
    # a drift of the machine meanwhile touches them all alike
    my @configs = qw(direct nginx sluice translate);
    my %h = ('Content-Type' => 'application/json',
             Authorization => "Bearer $ENTITIES{token}");
    my (%c, %first, %end);
    $c{$_} = kc_connect($SRV{ server_of($_) }{port}) for @configs;
    for my $i (1 .. $CFG{ttfe_n} + 10) {
        for my $k (0 .. $#configs) {
            my $config = $configs[($k + $i) % @configs];
            my $body = $bodies->{ $config eq 'translate' ? 'xsse' : 'sse' };
            my $r = kc_request($c{$config}, 'POST', url_path($config, 'sse'),
                               \%h, $body, sse => 1);
            die "ttfe $config: $r->{status}\n" unless $r->{status} == 200;
            next if $i <= 10;           # warm-up
            push @{ $first{$config} }, ($r->{t_first} - $r->{t0}) * 1000;
            push @{ $end{$config} }, ($r->{t_end} - $r->{t0}) * 1000;
        }
    }
    for my $config (@configs) {
        my @first = @{ $first{$config} };
        $out{fast}{$config} = {
            first_event_p50_ms => _r(_median(@first), 3),
            first_event_p99_ms => _r(_pct(99, @first), 3),
            last_byte_p50_ms => _r(_median(@{ $end{$config} }), 3),
            n => scalar @first,
        };
    }
    # the node mock streaming 5 events 50 ms apart: the first event must
    # not wait for the rest
    my $slow = $JSONC->encode({
        model => 'bench-node', stream => JSON::PP::true,
        messages => [{ role => 'user',
                       content => 'first event please mock:delay=50 '
                                  . 'mock:events=5' }] });
    my %paths = (direct => [$STACK->{mock_port}, '/v1/chat/completions'],
                 nginx => [$SRV{nginx}{port}, '/node/v1/chat/completions'],
                 sluice => [$SRV{sluice}{port}, '/v1/chat/completions']);
    for my $config (qw(direct nginx sluice)) {
        my ($port, $path) = @{ $paths{$config} };
        my $c = kc_connect($port);
        my %h = ('Content-Type' => 'application/json');
        $h{Authorization} = "Bearer $ENTITIES{token}" if $config ne 'nginx';
        my (@first, @end);
        for my $i (1 .. $CFG{ttfe_slow_n} + 1) {
            my $r = kc_request($c, 'POST', $path, \%h, $slow, sse => 1);
            die "ttfe slow $config: $r->{status}\n" unless $r->{status} == 200;
            next if $i == 1;
            push @first, ($r->{t_first} - $r->{t0}) * 1000;
            push @end, ($r->{t_end} - $r->{t0}) * 1000;
        }
        $out{delayed}{$config} = {
            first_event_p50_ms => _r(_median(@first), 2),
            last_event_p50_ms => _r(_median(@end), 1), n => scalar @first,
        };
    }
    $R{ttfe} = \%out;
}

# ---------------------------------------------------------------------------
# callgrind: instructions per request, startup cancelled out

# runs the gateway under callgrind for $n requests; returns the
# callgrind.out file
sub callgrind_run {
    my ($config, $kind, $n, $token, $tag, $body) = @_;
    my $d = "$DIR/cg-$config-$tag";
    make_path("$d/tmp");
    my ($port, $big_port) = (_free_port(), _free_port());
    my $conf;
    if ($config eq 'nginx') {
        $conf = proxy_conf($d, $port, $big_port, 'off');
    } else {
        $conf = _slurp($STACK->{nginx_conf});
        $conf =~ s/^master_process on;/master_process off;/m or die "conf?";
        for ([$SRV{sluice}{port}, $port], [$SRV{sluice}{big_port}, $big_port]) {
            my ($from, $to) = @$_;
            $conf =~ s/listen 127\.0\.0\.1:$from;/listen 127.0.0.1:$to;/
                or die "listen $from?";
        }
        $conf =~ s/^pid \S+;/pid $d\/nginx.pid;/m or die "pid?";
        $conf =~ s/^error_log \S+/error_log $d\/error.log/m;
    }
    _write("$d/nginx.conf", $conf);
    my $out = "$d/callgrind.out";
    my $p = start_nginx("cg-$config", $d, "$d/nginx.conf", $port,
                        prefix => [@PIN_SERVER, 'valgrind', '--tool=callgrind',
                                   "--callgrind-out-file=$out"],
                        timeout => 90);
    my $c = kc_connect($kind eq 'big' ? $big_port : $port);
    my $path = url_path($config, $kind eq 'big' ? 'json'
                                 : $kind eq 'xsse' ? 'sse' : $kind);
    my %h = ('Content-Type' => 'application/json',
             Authorization => "Bearer $token");
    for (1 .. $n) {
        my $r = kc_request($c, 'POST', $path, \%h, $body,
                           sse => ($kind =~ /sse/ ? 1 : 0), timeout => 60);
        die "callgrind $config $tag: status $r->{status}\n"
            unless $r->{status} == 200;
    }
    close $c->{s};
    sleep 0.5;                  # let the usage records leave
    stop_proc($p);
    # a run that went wrong (records refused, spooled...) counts nothing
    my @bad = grep { /\[(?:error|alert|crit|emerg)\]/
                     || /usage records: .*(?:spooled|rejected|dropped) [1-9]/ }
        split /\n/, _slurp("$d/error.log");
    splice @bad, 5;
    push @{ $R{failures} }, "callgrind $config $tag: $_" for @bad;
    return $out;
}


sub callgrind_pair {
    my ($config, $kind, $token, $tag, $body) = @_;
    # the 76 KB body costs ~60x more under valgrind: fewer requests
    my ($n1, $n2) = $kind eq 'big' ? (10, 50) : ($CFG{cg_n1}, $CFG{cg_n2});
    say_err("callgrind: $config $kind ($tag), $n1 and $n2 requests");
    my ($r1, $r2) = map {
        cg_parse(callgrind_run($config, $kind, $_, $token, "$tag-$_", $body))
    } $n1, $n2;
    my $dn = $n2 - $n1;
    my %r = (ir_per_request => floor(($r2->{total} - $r1->{total}) / $dn
                                     + 0.5),
             n1 => $n1, n2 => $n2, ir1 => $r1->{total}, ir2 => $r2->{total});
    my (%obj, %self, %incl);
    for my $k (keys %{ $r2->{self} }) {
        my $d = ($r2->{self}{$k} - ($r1->{self}{$k} // 0)) / $dn;
        my ($o) = split /\t/, $k;
        $obj{$o} += $d;
        $self{$k} = $d;
    }
    for my $k (keys %{ $r2->{incl} }) {
        next unless $k =~ /^ngx_http_sluice_module\.so\t/;
        $incl{$k} = ($r2->{incl}{$k} - ($r1->{incl}{$k} // 0)) / $dn;
    }
    $r{by_object} = { map { $_ => floor($obj{$_} + 0.5) }
                      grep { abs($obj{$_}) >= 1 } keys %obj };
    $r{self_fn} = \%self;
    $r{incl_fn} = \%incl;
    return \%r;
}


sub callgrind_all {
    my ($bodies) = @_;
    unless (_have('valgrind')) {
        push @{ $R{notes} }, 'callgrind skipped: valgrind is not installed';
        return;
    }
    my %cg;
    my $tok = bench_token(1);
    for my $kind (qw(json sse big)) {
        next if $QUICK && $kind ne 'json' || !defined $bodies->{$kind};
        $cg{$kind}{nginx} = callgrind_pair('nginx', $kind, $tok, $kind,
                                           $bodies->{$kind});
        $cg{$kind}{sluice} = callgrind_pair('sluice', $kind, $tok, $kind,
                                            $bodies->{$kind});
        my ($n, $s) = ($cg{$kind}{nginx}, $cg{$kind}{sluice});
        $cg{$kind}{ratio} = _r($s->{ir_per_request} / $n->{ir_per_request}, 3);
    }
    # 4.: the chat caller's stream from a messages provider, against
    # plain nginx passing the same chat stream through
    if (!$QUICK && $cg{sse} && defined $bodies->{xsse}) {
        $cg{xsse}{nginx} = $cg{sse}{nginx};
        $cg{xsse}{sluice} = callgrind_pair('sluice', 'xsse',
                                           $ENTITIES{token}, 'xsse',
                                           $bodies->{xsse});
        $cg{xsse}{ratio} = _r($cg{xsse}{sluice}{ir_per_request}
                              / $cg{sse}{nginx}{ir_per_request}, 3);
    }
    $R{callgrind_raw} = \%cg;
}

sub callgrind_summary {
    my $cg = $R{callgrind_raw} or return;
    my %s;
    for my $kind (keys %$cg) {
        my ($n, $s) = ($cg->{$kind}{nginx}, $cg->{$kind}{sluice});
        $s{$kind} = {
            nginx_ir_per_request => $n->{ir_per_request},
            sluice_ir_per_request => $s->{ir_per_request},
            ratio => $cg->{$kind}{ratio},
            n1 => $n->{n1}, n2 => $n->{n2},
            nginx_by_object => $n->{by_object},
            sluice_by_object => $s->{by_object},
            sluice_module_top_self => top_fns($s->{self_fn}, 15,
                                              qr/^ngx_http_sluice_module/),
            sluice_module_top_inclusive => top_fns($s->{incl_fn}, 15, qr/./),
            sluice_top_self_all => top_fns($s->{self_fn}, 15, qr/./),
            nginx_top_self_all => top_fns($n->{self_fn}, 10, qr/./),
        };
    }
    $s{method} = 'gateway nginx with master_process off under valgrind '
        . '--tool=callgrind; N1 then N2 sequential requests on one '
        . 'keepalive connection in two runs; (Ir2-Ir1)/(N2-N1); the mock '
        . 'is a normal nginx';
    $R{callgrind} = \%s;
    delete $R{callgrind_raw};
}

# ---------------------------------------------------------------------------
# revocation: admin API call to the gateway refusing the key

sub revoke_time {
    my ($i) = @_;
    my $token = bench_token($i);
    my $c = kc_connect($SRV{sluice}{port});
    my %h = (Authorization => "Bearer $token");
    my $r = kc_request($c, 'GET', '/v1/models', \%h);
    die "revoke: key $i not accepted before revocation ($r->{status})\n"
        unless $r->{status} == 200;
    my $t0 = time;
    admin_ok(POST => '/admin/v1/keys/' . bench_key_id($i) . '/revoke', {});
    my $t_api = time - $t0;
    while (time - $t0 < 10) {
        $r = kc_request($c, 'GET', '/v1/models', \%h);
        if ($r->{status} == 403 && $r->{body} =~ /key-revoked/) {
            return { key => bench_key_id($i), seconds => _r(time - $t0, 4),
                     admin_api_s => _r($t_api, 4) };
        }
        sleep 0.002;
    }
    return { key => bench_key_id($i), seconds => undef,
             admin_api_s => _r($t_api, 4) };
}

# ---------------------------------------------------------------------------
# scale: the lookup cost and the worker's memory with N keys

# mdb_stat -ef: the pages the table's live entries take (what a worker
# that looks up every key maps), and the free pages the file also holds
sub table_stat {
    my ($dir) = @_;
    return undef unless _have('mdb_stat');
    my $o = _cmd_out('mdb_stat', '-ef', $dir);
    my ($psize) = $o =~ /Page size:\s*(\d+)/;
    my ($used) = $o =~ /Number of pages used:\s*(\d+)/;
    my ($free) = $o =~ /Free pages:\s*(\d+)/;
    my ($main) = $o =~ /Status of Main DB(.*)$/s;
    return undef unless $psize && $main;
    my %m;
    $m{lc $1} = $2 while $main =~ /^\s*(Branch|Leaf|Overflow) pages:\s*(\d+)/mg;
    my ($entries) = $main =~ /Entries:\s*(\d+)/;
    my $live = ($m{branch} // 0) + ($m{leaf} // 0) + ($m{overflow} // 0);
    return { page_size => $psize + 0, pages_used => $used + 0,
             free_pages => ($free // 0) + 0, branch_pages => $m{branch} + 0,
             leaf_pages => $m{leaf} + 0, overflow_pages => $m{overflow} + 0,
             entries => $entries + 0, live_bytes => $live * $psize,
             live_bytes_per_entry => $entries ? _r($live * $psize / $entries,
                                                   1) : undef };
}

sub worker_mem {
    my %m;
    for my $pid (workers_of('sluice')) {
        my $x = proc_mem($pid);
        $m{$_} += $x->{$_} // 0 for qw(VmRSS VmHWM RssAnon RssFile RssShmem);
    }
    return \%m;
}

sub scale {
    my ($files, $bodies) = @_;
    my $n = $CFG{keys};
    my %s = (keys_total => $n, small_keys => $CFG{small_keys});
    my $dur = $CFG{scale_duration};
    my $lat = sub {
        my ($keys, $name) = @_;
        say_err("load: $name, $dur s");
        my $row = run_wrk(config => 'sluice', kind => 'json', conns => 1,
                          duration => $dur, body_file => $files->{json},
                          keys => $keys, name => $name, body_name => '1KB');
        return { map { $_ => $row->{$_} }
                 qw(rps p50_ms p99_ms mean_ms cpu_us_per_request) };
    };
    # small table
    $s{revoke_small} = [map { revoke_time($VICTIM + $_) }
                        1 .. $CFG{revoke_n}];
    $s{mem_small} = worker_mem();
    $s{load_small} = $lat->($CFG{small_keys},
                            "sluice json c1, random key of $CFG{small_keys}");
    $s{mem_small_after_load} = worker_mem();

    # the big table
    say_err("scale: inserting " . ($n - $CFG{small_keys}) . " keys");
    $s{insert_s} = _r(insert_keys_parallel($CFG{small_keys} + 1, $n,
                                           $PIN ? 2 : 1), 2);
    my $t0 = time;
    my $w = wait_accepted(bench_token($n), $QUICK ? 60 : 150);
    die "scale: key $n did not reach the gateway\n" unless defined $w;
    $s{sync_first_s} = _r($w, 2);
    defined wait_table_complete($n, $t0 + ($QUICK ? 60 : 150))
        or die "scale: the table did not get all $n keys\n";
    $s{sync_s} = _r(time - $t0, 2);
    $s{table_bytes} = -s "$STACK->{table}/data.mdb";
    $s{table_stat} = table_stat($STACK->{table});
    $s{mem_big} = worker_mem();
    $s{load_big} = $lat->($n, "sluice json c1, random key of $n");
    $s{mem_big_after_load} = worker_mem();
    $s{revoke_big} = [map { revoke_time($VICTIM + $_) }
                      $CFG{revoke_n} + 1 .. 2 * $CFG{revoke_n}];

    # instruction counts: one key of the small table, one of the big one
    if ($R{callgrind_raw} && $R{callgrind_raw}{json}) {
        my $small = $R{callgrind_raw}{json}{sluice};
        my $big = callgrind_pair('sluice', 'json', bench_token(int($n / 2)),
                                 'bigtable', $bodies->{json});
        $s{ir_small} = $small->{ir_per_request} if $small;
        $s{ir_big} = $big->{ir_per_request};
        $s{ir_lookup_delta} = $s{ir_big} - ($s{ir_small} // 0) if $small;
        my $lmdb = sub {
            my $x = shift or return undef;
            return floor(($x->{by_object}{'liblmdb.so.0.0.0'} // 0) + 0.5);
        };
        $s{ir_lmdb_small} = $lmdb->($small);
        $s{ir_lmdb_big} = $lmdb->($big);
    }
    my %g;
    for my $k (qw(VmRSS RssAnon RssFile)) {
        $g{"${k}_kb"} = $s{mem_big_after_load}{$k}
                      - $s{mem_small_after_load}{$k};
    }
    $s{rss_growth} = \%g;
    $R{scale} = \%s;
}

# ---------------------------------------------------------------------------
# report





# ---------------------------------------------------------------------------
# main

sub main {
    for my $need ($NGINX, "$REPO/build/nginx/ngx_http_sluice_module.so",
                  "$REPO/build/controld") {
        die "$need is missing: run make\n" unless -e $need;
    }
    die "wrk is not installed (apt-get install wrk)\n" unless _have('wrk');
    machine_info();
    pin_quiet(0, 0, $$) if $PIN;        # the driver and its clients
    $R{pinning} = $PIN
        ? 'wrk and the measuring client on core 0 (with PostgreSQL, Redis, '
          . 'controld, the node mock); mock nginx, plain nginx and Sluice '
          . 'nginx (worker_processes 1 each) on core 1.'
        : "Not pinned: only $NCPU core(s).";
    $R{settings} = { %CFG, quick => $QUICK ? JSON::PP::true : JSON::PP::false,
                     conns_high => $CONNS_HIGH, keepalive => $KEEPALIVE,
                     keepalive_requests => $KEEPALIVE_REQUESTS,
                     sse_events => $SSE_EVENTS };
    $DIR = tempdir('sluice-bench-XXXXXX', DIR => '/tmp', CLEANUP => 0);
    chmod 0755, $DIR;
    my $s0 = sample();

    my %bodies = (json => chat_body('bench-json', 0),
                  sse => chat_body('bench-sse', 1),
                  xsse => chat_body('bench-xsse', 1));
    $bodies{big} = big_body();
    my %files;
    for (keys %bodies) {
        next unless defined $bodies{$_};
        _write($files{$_} = "$DIR/body-$_.json", $bodies{$_});
    }

    # the module this run measures, whatever happens to build/ meanwhile
    my $so = "$REPO/build/nginx/ngx_http_sluice_module.so";
    system('cp', $so, $MODULE = "$DIR/ngx_http_sluice_module.so") == 0
        or die "cp $so: $?\n";
    chmod 0755, $MODULE;
    $R{versions}{module_sha256} = Digest::SHA->new(256)->addfile($MODULE)
        ->hexdigest;
    $R{versions}{module_mtime} = POSIX::strftime('%Y-%m-%dT%H:%M:%SZ',
                                                 gmtime((stat $so)[9]));
    say_err('starting the Sluice stack, the mock and plain nginx');
    start_sluice();
    start_mock();
    if ($PIN) {
        my $t = proc_table();
        my $gw = $STACK->{procs}{nginx}{pid};
        pin_quiet(1, 0, $gw, children_of($gw));
        for my $n (qw(pg redis controld mock)) {
            my $p = $STACK->{procs}{$n} or next;
            pin_quiet(0, 1, descendants($t, $p->{pid}));
        }
    }
    seed_bench();
    probe_fragmented(\%bodies);
    reload_sluice(\%bodies);
    start_plain();
    if ($PIN) {
        my $gw = $STACK->{procs}{nginx}{pid};
        pin_quiet(1, 0, $gw, children_of($gw));
    }
    check_paths(\%bodies);

    hold(\%files) if ($ENV{BENCH_HOLD} // '') =~ /^[1-9]\d*$/;
    $R{parts} = [sort keys %ONLY];
    loads(\%files, \%bodies) if $ONLY{loads};
    ttfe(\%bodies) if $ONLY{ttfe};
    callgrind_all(\%bodies) if $ONLY{callgrind} || $ONLY{scale};
    scale(\%files, \%bodies) if $ONLY{scale};
    callgrind_summary();

    my $s1 = sample();
    $R{machine}{loadavg_end} = (split ' ', _slurp('/proc/loadavg'))[0] + 0;
    $R{sharing} = sharing($s0, $s1);
    $R{sharing}{top_foreign} = top_foreign($s0, $s1);
    $R{elapsed_s} = _r(time - $T_START, 1);
    targets(\%R);
}

$R{generated_at} = POSIX::strftime('%Y-%m-%dT%H:%M:%SZ', gmtime);
my $ok = eval { main(); 1 };
my $err = $@;
if ($STACK) {
    $ENV{SLUICE_KEEP} = 1 if !$ok || $R{failures};
    my @bad = error_log_lines(qr/\[(?:alert|crit|emerg)\]/);
    splice @bad, 5;
    push @{ $R{failures} }, "Sluice nginx error.log: $_" for @bad;
    stop_stack();
}
proc_stop($_) for reverse @PROCS;
@PROCS = ();
if (!$ok) {
    print STDERR "bench: FAILED: $err";
    exit 1;
}
make_path(dirname($OUT));
_write($OUT, $JSONP->encode(\%R));
print markdown(\%R);
say_err(sprintf 'wrote %s in %.0f s', $OUT, time - $T_START);
if ($R{failures}) {
    print STDERR "bench: FAILED: $_\n" for @{ $R{failures} };
    exit 1;
}
exit 0;
