package Sluice::Test::Proc;

# Child processes of the test harness: start one in the foreground with
# its output in a log file (optionally as another user), check it is
# alive, stop it by pid.  Every process is a direct child, so it is
# reaped here and never left as a zombie.

use strict;
use warnings;

use Exporter qw(import);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(spawn proc_alive proc_stop proc_log_tail);

# spawn($name, \@argv, log => $file, user => $name, env => {...},
#       stop_signal => 'TERM') -> process hash {name, pid, log, ...}
sub spawn {
    my ($name, $argv, %o) = @_;
    my @pw = defined $o{user} ? getpwnam($o{user}) : ();
    die "spawn $name: no user $o{user}" if defined $o{user} && !@pw;
    my $pid = fork;
    die "spawn $name: fork: $!" unless defined $pid;
    if ($pid == 0) {
        POSIX::setsid();
        open STDIN, '<', '/dev/null' or POSIX::_exit(127);
        open STDOUT, '>>', $o{log} or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        if (@pw) {
            chown $pw[2], $pw[3], $o{log};
            $ENV{HOME} = $pw[7];
            $ENV{USER} = $ENV{LOGNAME} = $o{user};
            $) = "$pw[3] $pw[3]";
            $( = $pw[3];
            POSIX::setgid($pw[3]);
            POSIX::setuid($pw[2]) or POSIX::_exit(126);
        }
        %ENV = (%ENV, %{ $o{env} || {} });
        { no warnings 'exec'; exec { $argv->[0] } @$argv; }
        print STDERR "exec $argv->[0]: $!\n";
        POSIX::_exit(127);
    }
    return { name => $name, pid => $pid, log => $o{log}, argv => $argv,
             stop_signal => $o{stop_signal} // 'TERM', status => undef };
}

# true while the process runs; reaps it (and records its status) when not
sub proc_alive {
    my ($p) = @_;
    return 0 if defined $p->{status};
    my $r = waitpid($p->{pid}, WNOHANG);
    return 1 if $r == 0;
    $p->{status} = $r == $p->{pid} ? $? : -1;
    return 0;
}

sub _wait_exit {
    my ($p, $secs) = @_;
    my $deadline = time + $secs;
    while (proc_alive($p)) {
        return 0 if time >= $deadline;
        sleep 0.02;
    }
    return 1;
}

# Stops the process: its stop signal, up to 10 s, then SIGKILL.  With
# wait_only => N it only waits N seconds for a process that exits by
# itself.  Returns the exit code (or -1 when killed / unknown).
sub proc_stop {
    my ($p, %o) = @_;
    if ($o{wait_only}) {
        if (!_wait_exit($p, $o{wait_only})) {
            kill 'KILL', $p->{pid};
            _wait_exit($p, 5);
            return -1;
        }
    } elsif (proc_alive($p)) {
        kill $p->{stop_signal}, $p->{pid};
        if (!_wait_exit($p, $o{timeout} // 10)) {
            kill 'KILL', $p->{pid};
            _wait_exit($p, 5);
        }
    }
    my $st = $p->{status} // -1;
    return $st == -1 ? -1 : ($st & 127 ? -1 : $st >> 8);
}

sub proc_log_tail {
    my ($p, $n) = @_;
    open my $fh, '<', $p->{log} or return "(no log $p->{log})\n";
    my @l = <$fh>;
    $n //= 30;
    @l = @l[-$n .. -1] if @l > $n;
    return "--- $p->{log} ---\n" . join('', @l);
}

1;
