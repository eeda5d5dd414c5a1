package Sluice::Test;

# Integration test harness: starts a private stack (PostgreSQL, Redis, the
# mock provider, controld, nginx with the Sluice module) on free loopback
# ports, offers helpers to drive it, and stops every process it started,
# by pid, when the test ends (even when it dies).  Core Perl only.
#
#   use Sluice::Test;
#   start_stack();
#   my $demo = seed_demo();
#   my $res  = chat($demo->{token}, content => 'hi');
#   $res     = messages($demo->{token}, 'hi');      # demo-messages
#   $res     = responses($demo->{token}, 'hi', stream => 1);
#   ...
#   stop_stack();          # checks nginx's error.log, then stops
#   done_testing;
#
# Environment:
#   SLUICE_KEEP=1          keep the temporary directory (kept anyway when
#                          a test failed; its path is printed)
#   SLUICE_TEST_SEED=sql   seed through psql instead of the admin API
#                          (only to isolate the data plane while the admin
#                          API is broken; admin behaviour tests ignore it)
#   SLUICE_NGINX           nginx binary (default /usr/sbin/nginx)
#   SLUICE_MODULE          the module .so (default build/nginx/...); with
#                          a wrapper in SLUICE_NGINX this runs a sanitizer
#                          build (scripts/san.sh)
#   SLUICE_PG_BIN          PostgreSQL server binaries
#                          (default /usr/lib/postgresql/15/bin)

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::SHA qw(sha256_hex);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Sluice::Test::Proc qw(spawn proc_alive proc_stop proc_log_tail);
use Sluice::Test::HTTP qw(raw_http);
use Test::More;
use Time::HiRes qw(time sleep);

our @EXPORT = qw(
    start_stack stop_stack stack gw_url admin_url
    admin seed_demo create_key create_group revoke_key
    http chat sse_request raw_http responses messages sse_types
    anthropic_error_is
    psql psql_hashes redis_cmd wait_until wait_usage
    mock_last mock_requests mock_reset
    error_log_check error_log_lines reload_nginx
    stop_part start_part nginx_workers
    error_is request_id_ok
    json_decode json_encode random_hex
);

our $REPO = abs_path(dirname(__FILE__) . '/../../..');
my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;
my $PG_BIN = $ENV{SLUICE_PG_BIN} || '/usr/lib/postgresql/15/bin';
our $NGINX = $ENV{SLUICE_NGINX} || '/usr/sbin/nginx';
our $MODULE = $ENV{SLUICE_MODULE}
    || "$REPO/build/nginx/ngx_http_sluice_module.so";
my $IS_ROOT = $> == 0;

my $S;          # the running stack (one per test process)
my %PORTS_GIVEN;

$SIG{PIPE} = 'IGNORE';
$SIG{INT} = $SIG{TERM} = sub { diag("caught signal, stopping the stack");
                               exit 130 };

sub json_decode { my $s = shift; return eval { $JSON->decode($s) } }
sub json_encode { return $JSON->encode(shift) }

sub random_hex {
    my $n = shift || 16;
    open my $fh, '<:raw', '/dev/urandom' or die "urandom: $!";
    read($fh, my $b, $n) == $n or die "urandom: short read";
    return unpack('H*', $b);
}

sub stack { return $S }

# ---------------------------------------------------------------------------
# ports, users, directories

sub free_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => 0, ReuseAddr => 0)
            or die "free_port: $!";
        my $p = $s->sockport;
        close $s;
        next if $PORTS_GIVEN{$p}++;
        return $p;
    }
    die "free_port: no free port";
}

sub _ids {
    my $name = shift;
    my @pw = getpwnam($name) or die "no user $name";
    return ($pw[2], $pw[3]);
}

sub _chown_r {
    my ($user, @paths) = @_;
    return unless $IS_ROOT;
    system('chown', '-R', "$user:" . ((getgrgid((_ids($user))[1]))[0]),
           @paths) == 0 or die "chown @paths failed";
}

sub _write {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh or die "$path: $!";
}

sub _slurp {
    my $path = shift;
    open my $fh, '<', $path or return '';
    local $/;
    return scalar <$fh>;
}

# ---------------------------------------------------------------------------
# waiting

# Polls $cond every $interval seconds until it returns true or $timeout
# seconds passed; returns the true value or undef.
sub wait_until {
    my ($cond, $timeout, $interval) = @_;
    $timeout //= 5;
    $interval //= 0.05;
    my $deadline = time + $timeout;
    while (1) {
        my $v = $cond->();
        return $v if $v;
        return undef if time >= $deadline;
        sleep $interval;
    }
}

# Waits for a started process to pass $check; dies with its log tail if
# it exits or the time runs out.
sub _wait_ready {
    my ($proc, $what, $check, $timeout) = @_;
    my $deadline = time + ($timeout // 20);
    while (time < $deadline) {
        my $ok = eval { $check->() };
        return $ok if $ok;
        if (!proc_alive($proc)) {
            die "$what exited during start-up:\n" . proc_log_tail($proc);
        }
        sleep 0.05;
    }
    die "$what did not become ready in time:\n" . proc_log_tail($proc);
}

sub _tcp_open {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 1);
    return 0 unless $s;
    close $s;
    return 1;
}

# ---------------------------------------------------------------------------
# PostgreSQL

# An initdb'd data directory is cached under var/cache (initdb costs about
# a second; copying the template is faster).  Built in a private place and
# renamed, so concurrent test processes never see half a template.
sub _pg_template {
    my $cache = "$REPO/var/cache";
    my $tpl = "$cache/pg15-template";
    return $tpl if -f "$tpl/PG_VERSION" && -f "$tpl/.complete";
    make_path($cache);
    my $tmp = tempdir("sluice-initdb-XXXXXX", DIR => '/tmp', CLEANUP => 0);
    chmod 0755, $tmp;
    my $data = "$tmp/data";
    mkdir $data or die "$data: $!";
    _chown_r('postgres', $data);
    my $log = "$tmp/initdb.log";
    my @cmd = ("$PG_BIN/initdb", '-D', $data, '-A', 'trust', '-U', 'postgres',
               '-E', 'UTF8', '--locale=C', '--no-sync');
    my $p = spawn('initdb', \@cmd, log => $log,
                  user => $IS_ROOT ? 'postgres' : undef);
    my $rc = proc_stop($p, wait_only => 60);
    die "initdb failed:\n" . _slurp($log) if $rc != 0;
    _write("$data/.complete", "ok\n");
    my $dest = "$cache/pg15-template.$$";
    system('cp', '-a', $data, $dest) == 0 or die "cp template failed";
    if (!rename($dest, $tpl)) {
        remove_tree($dest);          # another process won the race
    }
    remove_tree($tmp);
    return $tpl;
}

sub _start_pg {
    my ($dir) = @_;
    my $tpl = _pg_template();
    my $data = "$dir/pg";
    system('cp', '-a', $tpl, $data) == 0 or die "cp $tpl $data failed";
    _chown_r('postgres', $data);
    chmod 0700, $data;
    my $port = free_port();
    my $p = _spawn_pg($dir, $port);
    _psql_raw('postgres', 'CREATE DATABASE sluice');
    $S->{pg_url} = "postgresql://postgres\@127.0.0.1:$port/sluice";
    return $p;
}

# postgres on $dir/pg and $port (start_part('pg') starts it again there)
sub _spawn_pg {
    my ($dir, $port) = @_;
    my $data = "$dir/pg";
    my @cmd = ("$PG_BIN/postgres", '-D', $data, '-p', $port,
               '-c', 'listen_addresses=127.0.0.1',
               '-c', "unix_socket_directories=$data",
               '-c', 'fsync=off', '-c', 'synchronous_commit=off',
               '-c', 'full_page_writes=off', '-c', 'max_connections=50',
               '-c', 'log_min_messages=warning');
    my $p = spawn('postgres', \@cmd, log => "$dir/log/postgres.log",
                  user => $IS_ROOT ? 'postgres' : undef,
                  stop_signal => 'INT');
    $S->{pg_port} = $port;
    _wait_ready($p, 'postgres', sub {
        _tcp_open($port) && _psql_raw('postgres', 'SELECT 1') =~ /^1/;
    });
    $S->{restart}{pg} = sub { _spawn_pg($dir, $port) };
    return $p;
}

sub _psql_raw {
    my ($db, $sql) = @_;
    my @cmd = ('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
               '-h', '127.0.0.1', '-p', $S->{pg_port}, '-U', 'postgres',
               '-d', $db, '-F', "\x1f", '-R', "\x1e", '-c', $sql);
    local $ENV{PGCONNECT_TIMEOUT} = 3;
    my $err = "$S->{dir}/log/psql.err";
    my $pid = open(my $fh, '-|');
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDERR, '>', $err or POSIX::_exit(127);
        exec @cmd or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    die "psql failed ($sql): " . _slurp($err) if $? != 0;
    return $out;
}

# psql($sql) -> list of rows, each an array ref of column strings
# (NULL is the empty string).
sub psql {
    my ($sql) = @_;
    my $out = _psql_raw('sluice', $sql);
    $out =~ s/\n\z//;
    return () if $out eq '';
    return map { [split /\x1f/, $_, -1] } split /\x1e/, $out;
}

# psql_hashes($sql) -> list of hash refs (column name => value, undef
# for NULL, JSON types kept).
sub psql_hashes {
    my ($sql) = @_;
    my $out = _psql_raw('sluice',
        "SELECT coalesce(json_agg(t), '[]') FROM ($sql) t");
    return @{ $JSON->decode($out) };
}

# ---------------------------------------------------------------------------
# Redis

sub _start_redis {
    my ($dir) = @_;
    my $port = free_port();
    make_path("$dir/redis");
    return _spawn_redis($dir, $port);
}

# redis-server on $port, persistence off: a restart comes back empty
sub _spawn_redis {
    my ($dir, $port) = @_;
    my @cmd = ('redis-server', '--bind', '127.0.0.1', '--port', $port,
               '--save', '', '--appendonly', 'no', '--dir', "$dir/redis",
               '--daemonize', 'no', '--logfile', '');
    my $p = spawn('redis', \@cmd, log => "$dir/log/redis.log");
    $S->{redis_port} = $port;
    _wait_ready($p, 'redis', sub { (redis_cmd('PING') // '') eq 'PONG' });
    $S->{restart}{redis} = sub { _spawn_redis($dir, $port) };
    return $p;
}

# redis_cmd(@args) -> the reply (status/bulk as a string, integer, array
# ref for arrays, undef for nil); dies on an error reply.
sub redis_cmd {
    my @args = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $S->{redis_port}, Timeout => 3)
        or return undef;
    my $req = '*' . @args . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @args;
    print $s $req;
    my $r = _redis_read($s);
    close $s;
    return $r;
}

sub _redis_read {
    my ($s) = @_;
    my $line = <$s>;
    die "redis: connection closed" unless defined $line;
    $line =~ s/\r\n\z//;
    my ($t, $v) = (substr($line, 0, 1), substr($line, 1));
    return $v if $t eq '+';
    return $v + 0 if $t eq ':';
    die "redis: $v" if $t eq '-';
    if ($t eq '$') {
        return undef if $v < 0;
        my $buf = '';
        while (length($buf) < $v + 2) {
            my $n = read($s, $buf, $v + 2 - length($buf), length($buf));
            die "redis: short read" unless $n;
        }
        return substr($buf, 0, $v);
    }
    if ($t eq '*') {
        return undef if $v < 0;
        return [map { _redis_read($s) } 1 .. $v];
    }
    die "redis: bad reply $line";
}

# ---------------------------------------------------------------------------
# mock provider

sub _start_mock {
    my ($dir) = @_;
    my $log = "$dir/log/mock.log";
    my $p = spawn('mock', ['node', "$REPO/t/mock/provider.js",
                           '--port', '0'], log => $log);
    my $port = _wait_ready($p, 'mock provider', sub {
        _slurp($log) =~ /^ready (\d+)$/m ? $1 : undef;
    });
    $S->{mock_port} = $port;
    $S->{mock_url} = "http://127.0.0.1:$port";
    return $p;
}

sub _mock_get {
    my ($path) = @_;
    my $r = HTTP::Tiny->new(timeout => 5)->get($S->{mock_url} . $path);
    return $r->{status} == 200 ? $JSON->decode($r->{content}) : undef;
}

sub mock_last { return _mock_get('/__mock/last') }

sub mock_requests {
    my $r = _mock_get('/__mock/requests');
    return $r ? $r->{count} : 0;
}

sub mock_reset {
    HTTP::Tiny->new(timeout => 5)->post("$S->{mock_url}/__mock/reset");
}

# ---------------------------------------------------------------------------
# controld

sub _start_controld {
    my ($dir, %o) = @_;
    my $bin = "$REPO/build/controld";
    die "$bin is missing: run make\n" unless -x $bin;
    my $port = free_port();
    my $table = "$dir/table";
    make_path($table);
    chmod 0755, $table;
    $S->{table} = $table;
    $S->{admin_port} = $port;
    $S->{admin_url} = "http://127.0.0.1:$port";
    $S->{admin_token} = 'adm-' . random_hex(16);
    my %conf = (
        roles              => 'sync,ingest,admin',
        database_url       => $S->{pg_url},
        redis              => "127.0.0.1:$S->{redis_port}",
        table_path         => $table,
        admin_listen       => "127.0.0.1:$port",
        admin_token        => $S->{admin_token},
        sql_dir            => "$REPO/sql",
        consumer           => "test-$$",
        pidfile            => "$dir/run/controld.pid",
        log_level          => 'debug',
        %{ $o{controld} || {} },
    );
    my $cf = "$dir/controld.conf";
    _write($cf, "# written by t/lib/Sluice/Test.pm\n"
           . join('', map { "$_ = $conf{$_}\n" } sort keys %conf));
    $S->{controld_conf} = $cf;
    $S->{restart}{controld} = sub { _spawn_controld($dir, $bin, $cf) };
    return _spawn_controld($dir, $bin, $cf);
}

sub _spawn_controld {
    my ($dir, $bin, $cf) = @_;
    my $table = $S->{table};
    my $p = spawn('controld', [$bin, '-c', $cf],
                  log => "$dir/log/controld.log");
    _wait_ready($p, 'controld', sub {
        my $r = HTTP::Tiny->new(timeout => 2)->get("$S->{admin_url}/healthz");
        $r->{status} == 200 && -f "$table/data.mdb";
    }, 30);
    return $p;
}

# ---------------------------------------------------------------------------
# nginx

sub _nginx_conf {
    my ($dir, %o) = @_;
    my $nd = "$dir/nginx";
    my $user = $IS_ROOT ? "user nobody nogroup;\n" : '';
    my $temps = join '', map { "    ${_}_temp_path $nd/tmp/$_;\n" }
        qw(client_body proxy fastcgi uwsgi scgi);
    my $workers = $o{worker_processes} // 2;
    my $balancer = $o{balancer} // 'keepalive=32';
    my $http = $o{nginx_http} // '';
    my $server = $o{nginx_server} // '';
    my $ca = $o{trusted_ca} // '/etc/ssl/certs/ca-certificates.crt';
    my %usage_vars = (redis_port => $S->{redis_port}, spool => "$dir/spool");
    my $usage = $o{usage_args}
        // 'redis=127.0.0.1:{redis_port} stream=sluice:usage spool={spool}';
    $usage =~ s/\{(redis_port|spool)\}/$usage_vars{$1}/g;
    return <<"EOF";
# written by t/lib/Sluice/Test.pm
daemon off;
master_process on;
worker_processes $workers;
${user}pid $nd/nginx.pid;
error_log $nd/error.log info;
load_module $MODULE;

events { worker_connections 1024; }

http {
    default_type application/octet-stream;
    log_format sluice_test '\$remote_addr [\$time_local] "\$request" '
                           '\$status \$body_bytes_sent rid=\$request_id '
                           'rt=\$request_time';
    access_log $nd/access.log sluice_test;
$temps
    sluice_table $S->{table};
    sluice_zone sluice:16m;
    sluice_usage $usage;
    proxy_ssl_trusted_certificate $ca;
$http
    upstream sluice_providers { sluice_balancer $balancer; }

    server {
        listen 127.0.0.1:$S->{gw_port};
        include $REPO/conf/gateway.conf;
$server
    }
}
EOF
}

sub _start_nginx {
    my ($dir, %o) = @_;
    my $so = $MODULE;
    die "$so is missing: run make\n" unless -f $so;
    die "$REPO/conf/gateway.conf is missing\n" unless -f "$REPO/conf/gateway.conf";
    my $nd = "$dir/nginx";
    make_path("$nd/tmp", "$dir/spool");
    chmod 0755, $nd, "$nd/tmp";
    _chown_r('nobody', "$dir/spool");
    $S->{gw_port} = free_port();
    $S->{gw_url} = "http://127.0.0.1:$S->{gw_port}";
    $S->{nginx_conf} = "$nd/nginx.conf";
    $S->{error_log} = "$nd/error.log";
    _write($S->{nginx_conf}, _nginx_conf($dir, %o));
    $S->{restart}{nginx} = \&_spawn_nginx;
    return _spawn_nginx();
}

sub _spawn_nginx {
    my $nd = "$S->{dir}/nginx";
    my $p = spawn('nginx', [$NGINX, '-p', "$nd/", '-c', $S->{nginx_conf},
                            '-e', $S->{error_log}],
                  log => "$S->{dir}/log/nginx.out", stop_signal => 'TERM');
    _wait_ready($p, 'nginx', sub {
        _tcp_open($S->{gw_port}) && scalar(_children($p->{pid}));
    }, 10);
    return $p;
}

# pids whose parent is $ppid (nginx workers of a master)
sub _children {
    my ($ppid) = @_;
    my @kids;
    opendir(my $d, '/proc') or return ();
    for my $pid (grep { /^\d+$/ } readdir $d) {
        my $stat = _slurp("/proc/$pid/stat");
        next unless $stat =~ /\)\s+(\S)\s+(\d+)/;
        push @kids, $pid + 0 if $2 == $ppid && $1 ne 'Z';
    }
    return @kids;
}

# nginx -s reload (HUP to the master); returns once a full set of new
# workers runs.  Returns the new worker pids.
sub reload_nginx {
    my $m = $S->{procs}{nginx} or die "nginx not running";
    my %old = map { $_ => 1 } _children($m->{pid});
    my $n = scalar keys %old;
    system($NGINX, '-p', "$S->{dir}/nginx/", '-c', $S->{nginx_conf},
           '-e', $S->{error_log}, '-s', 'reload') == 0
        or die "nginx -s reload failed";
    my @new;
    wait_until(sub {
        @new = grep { !$old{$_} } _children($m->{pid});
        return @new >= $n;
    }, 10) or die "nginx reload: new workers did not start";
    # idle keepalive connections belong to old workers, which close them
    # as they exit: a request sent on one at that moment gets a reset (as
    # with any nginx reload); the tests speak to the new workers
    _fresh_ua();
    return @new;
}

# the pids of the running nginx's workers
sub nginx_workers {
    my $m = $S->{procs}{nginx} or return ();
    return _children($m->{pid});
}

sub error_log_lines {
    my ($re) = @_;
    return () unless $S && $S->{error_log};
    return grep { /$re/ } split /\n/, _slurp($S->{error_log});
}

# A test: nginx's error.log holds no [alert], [crit] or [emerg] line.
sub error_log_check {
    return unless $S && $S->{error_log};
    my @bad = error_log_lines(qr/\[(?:alert|crit|emerg)\]/);
    ok(!@bad, 'no [alert], [crit] or [emerg] in nginx error.log')
        or diag(join "\n", @bad[0 .. ($#bad < 19 ? $#bad : 19)]);
    $S->{error_log_checked} = 1;
    return !@bad;
}

# ---------------------------------------------------------------------------
# the stack

# start_stack(%opts) starts everything and returns the stack hash:
#   dir, gw_url, admin_url, admin_token, mock_url, pg_url, pg_port,
#   redis_port, table, error_log.
# opts: nginx => 0 (no nginx), only => 'pg,redis,mock' (start only
#       these parts), controld => {key => value} (config overrides),
#       nginx_http => 'directives', nginx_server => 'directives',
#       trusted_ca => 'CA file for proxy_ssl_trusted_certificate',
#       worker_processes => N, balancer => 'sluice_balancer arguments'
#       (default 'keepalive=32'), usage_args => 'sluice_usage arguments'
#       where {redis_port} and {spool} stand for the stack's (default
#       'redis=127.0.0.1:{redis_port} stream=sluice:usage spool={spool}').
sub start_stack {
    my %o = @_;
    die "start_stack: already started" if $S;
    my $dir = tempdir('sluice-test-XXXXXX', DIR => '/tmp', CLEANUP => 0);
    chmod 0755, $dir;
    $S = { dir => $dir, procs => {}, order => [] };
    make_path("$dir/log", "$dir/run");
    my %want = map { $_ => 1 }
        split /,/, $o{only} // 'pg,redis,mock,controld,nginx';
    delete $want{nginx} if defined $o{nginx} && !$o{nginx};
    my $ok = eval {
        _track(pg => _start_pg($dir)) if $want{pg};
        _track(redis => _start_redis($dir)) if $want{redis};
        _track(mock => _start_mock($dir)) if $want{mock};
        _track(controld => _start_controld($dir, %o)) if $want{controld};
        _track(nginx => _start_nginx($dir, %o)) if $want{nginx};
        1;
    };
    if (!$ok) {
        my $err = $@;
        _stop_all();
        BAIL_OUT("start_stack: $err") if $o{bail};
        die "start_stack: $err";
    }
    note("stack in $dir: gateway " . ($S->{gw_url} // "-") . ", admin "
         . ($S->{admin_url} // "-"));
    return $S;
}

sub _track {
    my ($name, $p) = @_;
    $S->{procs}{$name} = $p;
    push @{ $S->{order} }, $name;
}

sub _stop_all {
    return unless $S;
    for my $name (reverse @{ $S->{order} }) {
        my $p = delete $S->{procs}{$name} or next;
        proc_stop($p);
    }
    $S->{order} = [];
}

# stop_part($name) stops one part of the running stack by pid: redis,
# pg, controld or nginx.  start_part($name) starts it again on the same
# port, data directory and configuration, and returns once it is ready.
# Redis runs without persistence: it comes back empty, as after a crash.
sub stop_part {
    my ($name) = @_;
    my $p = delete $S->{procs}{$name} or die "stop_part: $name is not running";
    return proc_stop($p);
}

sub start_part {
    my ($name) = @_;
    die "start_part: $name is running" if $S->{procs}{$name};
    my $start = $S->{restart}{$name} or die "start_part: cannot start $name";
    push @{ $S->{order} }, $name unless grep { $_ eq $name } @{ $S->{order} };
    return $S->{procs}{$name} = $start->();
}

# Checks nginx's error.log (a test), then stops every process by pid.
sub stop_stack {
    return unless $S;
    error_log_check() if $S->{procs}{nginx};
    _stop_all();
    _cleanup_dir();
    $S = undef;
}

sub _cleanup_dir {
    my $dir = $S->{dir};
    if ($ENV{SLUICE_KEEP} || !Test::More->builder->is_passing) {
        diag("stack files kept in $dir");
        return;
    }
    remove_tree($dir);
}

END {
    if ($S) {
        my $rc = $?;
        if ($S->{error_log} && !$S->{error_log_checked}) {
            my @bad = error_log_lines(qr/\[(?:alert|crit|emerg)\]/);
            if (@bad) {
                diag("nginx error.log has alerts:\n" . join "\n", @bad);
                $rc ||= 1;
            }
        }
        _stop_all();
        diag("stack files kept in $S->{dir}");
        $S = undef;
        $? = $rc;
    }
}

sub gw_url { return $S->{gw_url} . (shift // '') }
sub admin_url { return $S->{admin_url} . (shift // '') }

# ---------------------------------------------------------------------------
# HTTP

my $UA;
_fresh_ua();

sub _fresh_ua {
    $UA = HTTP::Tiny->new(timeout => 30, agent => 'sluice-test/1',
                          keep_alive => 1);
}

# http($method, $url, \%headers, $body) -> {status, headers, content, json}
# $url may be a path (gateway); a ref $body is sent as JSON.
sub http {
    my ($method, $url, $headers, $body) = @_;
    $url = $S->{gw_url} . $url if $url =~ m{^/};
    my %h = %{ $headers || {} };
    my %args = (headers => \%h);
    if (defined $body) {
        if (ref $body) {
            $body = $JSON->encode($body);
            $h{'content-type'} //= 'application/json';
        }
        $args{content} = $body;
    }
    my $r = $UA->request($method, $url, \%args);
    $r->{json} = json_decode($r->{content})
        if ($r->{headers}{'content-type'} // '') =~ /json/;
    return $r;
}

sub _chat_body {
    my (%o) = @_;
    my %b = (model => $o{model} // 'demo-chat',
             messages => $o{messages}
                 // [{ role => 'user', content => $o{content} // 'hello' }]);
    $b{stream} = JSON::PP::true if $o{stream};
    $b{stream_options} = { include_usage => JSON::PP::true }
        if $o{include_usage};
    %b = (%b, %{ $o{extra} || {} });
    delete $b{model} if exists $o{model} && !defined $o{model};
    return \%b;
}

# chat($token, content => 'text', model => 'demo-chat', ...) -> response
sub chat {
    my ($token, %o) = @_;
    my %h = (%{ $o{headers} || {} });
    $h{authorization} = "Bearer $token" if defined $token;
    return http('POST', '/v1/chat/completions', \%h, _chat_body(%o));
}

# sse_request($token, %chat_opts) streams a chat call and records every
# SSE event with its arrival time: {status, headers, events => [{t,
# data, event, json}], t_start, t_headers, t_end, body}.  Other
# dialects: path => '/v1/messages', body => {...} (sent as it is, with
# stream true unless it says otherwise) instead of the chat options.
sub sse_request {
    my ($token, %o) = @_;
    my %h = (%{ $o{headers} || {} });
    $h{authorization} = "Bearer $token" if defined $token;
    $h{accept} //= 'text/event-stream';
    my $body = $o{body};
    if (ref $body eq 'HASH') {
        $body = { %$body };
        $body->{stream} = JSON::PP::true unless exists $body->{stream};
    }
    $body //= _chat_body(%o, stream => 1);
    return raw_http('POST', gw_url($o{path} // '/v1/chat/completions'), \%h,
                    ref $body ? $JSON->encode($body) : $body,
                    sse => 1, timeout => $o{timeout} // 30);
}

# The body of a Messages or Responses call: a string is the user's text
# (messages: with max_tokens 256); model defaults to the demo group of
# that dialect (o{model} overrides it, undef leaves it out); stream =>
# 1 sets stream.
sub _dialect_body {
    my ($dialect, $body, %o) = @_;
    if (!ref $body) {
        my $text = $body // 'hello';
        $body = $dialect eq 'messages'
            ? { max_tokens => 256,
                messages => [{ role => 'user', content => $text }] }
            : { input => $text };
    }
    my %b = %$body;
    $b{model} = $o{model} if exists $o{model};
    $b{model} = "demo-$dialect" unless exists $b{model};
    delete $b{model} unless defined $b{model};
    $b{stream} = JSON::PP::true if $o{stream};
    return \%b;
}

sub _dialect_call {
    my ($dialect, $token, $body, %o) = @_;
    my %h = (%{ $o{headers} || {} });
    if (defined $token) {
        if (($o{auth} // '') eq 'x-api-key') {
            $h{'x-api-key'} = $token;
        } else {
            $h{authorization} = "Bearer $token";
        }
    }
    my $b = ref $body eq 'SCALAR' ? $$body : _dialect_body($dialect, $body, %o);
    $h{'content-type'} //= 'application/json';
    my $path = $o{path} // "/v1/$dialect";
    if ($o{stream}) {
        $h{accept} //= 'text/event-stream';
        return raw_http('POST', gw_url($path), \%h,
                        ref $b ? $JSON->encode($b) : $b,
                        sse => 1, timeout => $o{timeout} // 30);
    }
    return http('POST', $path, \%h, $b);
}

# messages($token, $body, %o) -> response: an Anthropic Messages call to
# /v1/messages.  $body: a hash (model defaults to demo-messages), a
# string (the user's text) or a ref to a raw string.  o: stream => 1
# (then an SSE answer as sse_request gives it), path => '/anthropic/v1/
# messages', auth => 'bearer' (default x-api-key), headers => {...}
# (anthropic-version 2023-06-01 unless given), model => 'group'.
sub messages {
    my ($token, $body, %o) = @_;
    my %h = ('anthropic-version' => '2023-06-01', %{ $o{headers} || {} });
    return _dialect_call('messages', $token, $body, %o, headers => \%h,
                         auth => $o{auth} // 'x-api-key');
}

# responses($token, $body, %o) -> response: an OpenAI Responses call to
# /v1/responses (Bearer; auth => 'x-api-key' to send that instead).
# $body and o as for messages; model defaults to demo-responses.
sub responses {
    my ($token, $body, %o) = @_;
    return _dialect_call('responses', $token, $body, %o);
}

# sse_types($res) -> the event names of an SSE answer, in order (an
# event without an "event:" line gives its JSON type, else its object,
# as chat.completion.chunk, else its data, as [DONE]); comments
# (": ping") are left out.
sub sse_types {
    my ($res) = @_;
    my @types;
    for my $ev (@{ $res->{events} || [] }) {
        next unless defined $ev->{event} || defined $ev->{data};
        my $j = ref $ev->{json} eq 'HASH' ? $ev->{json} : {};
        push @types, $ev->{event} // $j->{type} // $j->{object}
            // $ev->{data};
    }
    return @types;
}

# request_id_ok($res, $name): X-Request-Id is 32 hex chars; returns it
sub request_id_ok {
    my ($res, $name) = @_;
    my $rid = $res->{headers}{'x-request-id'};
    like($rid // '', qr/^[0-9a-f]{32}$/, "$name: X-Request-Id")
        or diag("headers: " . $JSON->encode($res->{headers}));
    return $rid;
}

# error_is($res, $status, $code, $name): an OpenAI error envelope
# {"error":{"message","type",...}} whose type (or code) is $code (any
# when undef), with the status, a JSON content type and X-Request-Id.
sub error_is {
    my ($res, $status, $code, $name) = @_;
    my $ok = is($res->{status}, $status, "$name: status $status");
    like($res->{headers}{'content-type'} // '', qr{^application/json},
         "$name: JSON content type");
    my $e = ref $res->{json} eq 'HASH' ? $res->{json}{error} : undef;
    ok(ref $e eq 'HASH' && defined $e->{message} && !ref $e->{message}
       && length $e->{message}, "$name: error envelope with a message")
        or diag("body: " . substr($res->{content} // $res->{body} // '',
                                  0, 500));
    $e = {} unless ref $e eq 'HASH';
    if (defined $code) {
        ok(($e->{type} // '') eq $code || ($e->{code} // '') eq $code,
           "$name: error type $code")
            or diag("type=" . ($e->{type} // 'undef') . " code="
                    . ($e->{code} // 'undef'));
    }
    request_id_ok($res, $name);
    return $ok;
}

# anthropic_error_is($res, $status, $type, $name): an Anthropic error
# {"type":"error","error":{"type","message"}} whose error.type is $type
# (any when undef), with the status, a JSON content type and
# X-Request-Id.
sub anthropic_error_is {
    my ($res, $status, $type, $name) = @_;
    my $ok = is($res->{status}, $status, "$name: status $status");
    like($res->{headers}{'content-type'} // '', qr{^application/json},
         "$name: JSON content type");
    my $j = ref $res->{json} eq 'HASH' ? $res->{json} : {};
    my $e = ref $j->{error} eq 'HASH' ? $j->{error} : {};
    ok(($j->{type} // '') eq 'error' && defined $e->{message}
       && !ref $e->{message} && length $e->{message},
       "$name: Anthropic error envelope with a message")
        or diag("body: " . substr($res->{content} // $res->{body} // '',
                                  0, 500));
    is($e->{type}, $type, "$name: error type $type") if defined $type;
    request_id_ok($res, $name);
    return $ok;
}

# ---------------------------------------------------------------------------
# admin API

# admin($method, $path, $body, %o) -> ($status, $json, $response);
# o: token => '...' (undef: no Authorization header).
sub admin {
    my ($method, $path, $body, %o) = @_;
    my $token = exists $o{token} ? $o{token} : $S->{admin_token};
    my %h = (accept => 'application/json', %{ $o{headers} || {} });
    $h{authorization} = "Bearer $token" if defined $token;
    my $r = http($method, $S->{admin_url} . $path, \%h, $body);
    my $j = json_decode($r->{content});
    return wantarray ? ($r->{status}, $j, $r) : $j;
}

sub _admin_ok {
    my ($method, $path, $body) = @_;
    my ($st, $j, $r) = admin($method, $path, $body);
    die "admin $method $path: $st $r->{content}\n" unless $st =~ /^20/;
    return $j;
}

sub _seed_via_sql {
    return ($ENV{SLUICE_TEST_SEED} // '') eq 'sql';
}

# Waits until the gateway knows the token (anything but 401).
sub wait_key_synced {
    my ($token, $timeout) = @_;
    return wait_until(sub {
        my $r = http('GET', '/v1/models', { authorization => "Bearer $token" });
        return $r->{status} != 401 && $r->{status} != 599;
    }, $timeout // 5);
}

# The demo's dialects: one provider on the mock per dialect, each with a
# target and a group demo-<dialect>.
our @DEMO_DIALECTS = (
    { dialect => 'chat', provider => 'mock', target => 'mock-chat',
      model => 'mock-model-1', group => 'demo-chat', auth_kind => 'bearer' },
    { dialect => 'responses', provider => 'mock-responses',
      target => 'mock-responses', model => 'mock-responses-1',
      group => 'demo-responses', auth_kind => 'bearer' },
    { dialect => 'messages', provider => 'mock-messages',
      target => 'mock-messages', model => 'mock-messages-1',
      group => 'demo-messages', auth_kind => 'x-api-key' },
);

# seed_demo(%o): user demo, project demo, and per dialect a provider on
# the mock provider (base URL mock/v1), a target and a group:
#   chat       provider mock            target mock-chat       model
#              mock-model-1      group demo-chat       (Bearer)
#   responses  provider mock-responses  target mock-responses  model
#              mock-responses-1  group demo-responses  (Bearer)
#   messages   provider mock-messages   target mock-messages   model
#              mock-messages-1   group demo-messages   (x-api-key)
# all with the same credential, and a key allowed the three groups
# (o{groups} => [...] gives it those instead).  Returns {token, key_id,
# credential, provider, target, model, group (the chat ones), user,
# project, groups => [the three], dialects => {chat|responses|messages
# => {dialect, provider, target, model, group, auth_kind}}}.
sub seed_demo {
    my (%o) = @_;
    my $d = {
        user => 'demo', project => 'demo', provider => 'mock',
        target => 'mock-chat', model => 'mock-model-1', group => 'demo-chat',
        credential => 'sk-upstream-' . random_hex(12),
        groups => [map { $_->{group} } @DEMO_DIALECTS],
        dialects => { map { $_->{dialect} => { %$_ } } @DEMO_DIALECTS },
    };
    my $base = "$S->{mock_url}/v1";
    if (_seed_via_sql()) {
        psql("INSERT INTO users (name, email) VALUES ('demo', 'demo\@example.com');
              INSERT INTO projects (name) VALUES ('demo')");
        for my $x (@DEMO_DIALECTS) {
            psql("INSERT INTO providers (name, base_url, dialect, auth_kind, credential)
                    VALUES ('$x->{provider}', '$base', '$x->{dialect}',
                            '$x->{auth_kind}', '$d->{credential}');
                  INSERT INTO targets (name, provider_id, model, weight)
                    SELECT '$x->{target}', id, '$x->{model}', 1
                    FROM providers WHERE name = '$x->{provider}';
                  INSERT INTO model_groups (name, strategy)
                    VALUES ('$x->{group}', 'weighted');
                  INSERT INTO group_targets (group_id, target_id)
                    SELECT g.id, t.id FROM model_groups g, targets t
                    WHERE g.name = '$x->{group}' AND t.name = '$x->{target}'");
        }
    } else {
        _admin_ok(POST => '/admin/v1/users',
                  { name => 'demo', email => 'demo@example.com' });
        _admin_ok(POST => '/admin/v1/projects', { name => 'demo' });
        for my $x (@DEMO_DIALECTS) {
            _admin_ok(POST => '/admin/v1/providers',
                      { name => $x->{provider}, base_url => $base,
                        dialect => $x->{dialect},
                        auth_kind => $x->{auth_kind},
                        credential => $d->{credential} });
            _admin_ok(POST => '/admin/v1/targets',
                      { name => $x->{target}, provider => $x->{provider},
                        model => $x->{model}, weight => 1 });
            _admin_ok(POST => '/admin/v1/groups',
                      { name => $x->{group}, strategy => 'weighted',
                        targets => [$x->{target}] });
        }
    }
    my $k = create_key(groups => $o{groups} // $d->{groups});
    $d->{token} = $k->{token};
    $d->{key_id} = $d->{id} = $k->{id};
    return $d;
}

# create_key(user => 'demo', project => 'demo', environment => 'dev',
#            groups => [...], expires_at => '...', via => 'admin'|'sql',
#            wait => 1) -> {id, token, ...the API's answer}
sub create_key {
    my (%o) = @_;
    my %body = (user => $o{user} // 'demo', project => $o{project} // 'demo',
                environment => $o{environment} // 'dev',
                groups => $o{groups} // ['demo-chat']);
    $body{expires_at} = $o{expires_at} if defined $o{expires_at};
    $body{name} = $o{name} if defined $o{name};
    my $via = $o{via} // (_seed_via_sql() ? 'sql' : 'admin');
    my $k;
    if ($via eq 'sql') {
        my $id = random_hex(6);
        my $token = "sk-sluice-$id-" . random_hex(32);
        my $exp = defined $o{expires_at} ? "'$o{expires_at}'" : 'NULL';
        my $groups = '{' . join(',', map { "\"$_\"" } @{ $body{groups} }) . '}';
        psql("INSERT INTO keys (id, token_sha256, user_id, project_id,
                environment, groups, expires_at)
              SELECT '$id', '" . sha256_hex($token) . "', u.id, p.id,
                '$body{environment}', '$groups', $exp
              FROM users u, projects p
              WHERE u.name = '$body{user}' AND p.name = '$body{project}'");
        $k = { id => $id, token => $token };
    } else {
        $k = _admin_ok(POST => '/admin/v1/keys', \%body);
    }
    if ($o{wait} // 1) {
        wait_key_synced($k->{token})
            or die "key $k->{id} did not reach the gateway in 5 s\n";
    }
    return $k;
}

# create_group($name, @targets): a weighted group (admin API or psql)
sub create_group {
    my ($name, @targets) = @_;
    @targets = ('mock-chat') unless @targets;
    if (_seed_via_sql()) {
        my $in = join ',', map { "'$_'" } @targets;
        psql("INSERT INTO model_groups (name, strategy)
                VALUES ('$name', 'weighted');
              INSERT INTO group_targets (group_id, target_id)
                SELECT g.id, t.id FROM model_groups g, targets t
                WHERE g.name = '$name' AND t.name IN ($in)");
        return { name => $name };
    }
    return _admin_ok(POST => '/admin/v1/groups',
                     { name => $name, strategy => 'weighted',
                       targets => \@targets });
}

sub revoke_key {
    my ($id) = @_;
    return _admin_ok(POST => "/admin/v1/keys/$id/revoke", {});
}

# wait_usage($request_id, $timeout) -> the usage_events row (hash ref)
sub wait_usage {
    my ($rid, $timeout) = @_;
    die "wait_usage: bad request id" unless ($rid // '') =~ /^[0-9a-f]+$/;
    return wait_until(sub {
        my ($row) = psql_hashes(
            "SELECT * FROM usage_events WHERE request_id = '$rid'");
        return $row;
    }, $timeout // 10, 0.1);
}

1;
