package Bench::Sys;

# make bench: what the processes and the CPUs did, from /proc: CPU
# ticks per process, memory, per-CPU busy time, and how much of the
# machine other processes (outside this bench) used.

use strict;
use warnings;

use Bench::Util;
use POSIX ();
use Time::HiRes qw(time);
use Exporter qw(import);

our @EXPORT = qw(proc_table descendants children_of proc_ticks proc_mem
                 cpu_stat sample ticks_between faults_between sharing top_foreign $NCPU $TICK);

our $TICK = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;
our $NCPU = _ncpu();

sub _ncpu {
    my $n = () = (_slurp('/proc/cpuinfo') =~ /^processor\s*:/mg);
    return $n || 1;
}

# pid => {ppid, ticks (utime+stime), cticks (the same for its reaped
# children), comm}
sub proc_table {
    my %t;
    opendir(my $d, '/proc') or return {};
    for my $pid (grep { /^\d+$/ } readdir $d) {
        my $s = _slurp("/proc/$pid/stat");
        next unless $s =~ /^\d+ \((.*)\) (.*)$/s;
        my ($comm, @f) = ($1, split ' ', $2);
        $t{$pid} = { comm => $comm, state => $f[0], ppid => $f[1],
                     ticks => $f[11] + $f[12], cticks => $f[13] + $f[14],
                     minflt => $f[7] };
    }
    return \%t;
}

sub descendants {
    my ($t, @roots) = @_;
    my %kids;
    push @{ $kids{ $t->{$_}{ppid} } }, $_ for keys %$t;
    my %seen;
    my @q = @roots;
    while (@q) {
        my $p = shift @q;
        next if $seen{$p}++;
        push @q, @{ $kids{$p} || [] };
    }
    return keys %seen;
}

sub children_of {
    my ($ppid) = @_;
    my $t = proc_table();
    return sort { $a <=> $b }
        grep { $t->{$_}{ppid} == $ppid && $t->{$_}{state} ne 'Z' } keys %$t;
}

sub proc_ticks {
    my $s = _slurp("/proc/$_[0]/stat");
    return undef unless $s =~ /\) (.*)$/s;
    my @f = split ' ', $1;
    return $f[11] + $f[12];
}

# VmRSS, VmHWM, RssAnon, RssFile, RssShmem in kB
sub proc_mem {
    my $s = _slurp("/proc/$_[0]/status");
    my %m;
    $m{$1} = $2 + 0 while $s =~ /^(Vm\w+|Rss\w+):\s+(\d+) kB/mg;
    return \%m;
}

# /proc/stat: {all => [user nice system idle iowait irq softirq steal],
#              cpu0 => [...], ...}
sub cpu_stat {
    my %c;
    for (split /\n/, _slurp('/proc/stat')) {
        next unless /^(cpu\d*)\s+(.*)/;
        my @f = (split ' ', $2)[0 .. 7];
        $c{$1 eq 'cpu' ? 'all' : $1} = [map { $_ // 0 } @f];
    }
    return \%c;
}

# CPU ticks of @pids between two samples (with $children: and of their
# children that exited meanwhile)
sub ticks_between {
    my ($s0, $s1, $children, @pids) = @_;
    my $sum = 0;
    for (@pids) {
        my ($p0, $p1) = ($s0->{procs}{$_}, $s1->{procs}{$_});
        next unless $p0 && $p1;
        $sum += $p1->{ticks} - $p0->{ticks};
        $sum += $p1->{cticks} - $p0->{cticks} if $children;
    }
    return $sum;
}

# minor page faults of the processes between two samples
sub faults_between {
    my ($s0, $s1, @pids) = @_;
    my $sum = 0;
    for (@pids) {
        my ($p0, $p1) = ($s0->{procs}{$_}, $s1->{procs}{$_});
        $sum += $p1->{minflt} - $p0->{minflt} if $p0 && $p1;
    }
    return $sum;
}

# how busy the machine was, and how much of it was not ours
sub sharing {
    my ($s0, $s1) = @_;
    my $d = sub {
        my $k = shift;
        return [map { $s1->{cpu}{$k}[$_] - $s0->{cpu}{$k}[$_] } 0 .. 7];
    };
    my $all = $d->('all');
    my $total = 0;
    $total += $_ for @$all;
    $total ||= 1;
    my @ours = grep { $_ != $$ } descendants($s1->{procs}, $$);
    my $ours = ticks_between($s0, $s1, 1, @ours)
             + ticks_between($s0, $s1, 0, $$)
             + ($s1->{ctimes} - $s0->{ctimes}) * $TICK;
    my $task = $all->[0] + $all->[1] + $all->[2];     # user nice system
    my %s = (
        foreign_cpu_pct => _r(100 * (($task - $ours) > 0 ? $task - $ours : 0)
                              / $total * $NCPU, 1),
        steal_pct => _r(100 * $all->[7] / $total * $NCPU, 1),
        softirq_pct => _r(100 * ($all->[5] + $all->[6]) / $total * $NCPU, 1),
    );
    for my $cpu (grep { /^cpu\d+$/ } keys %{ $s1->{cpu} }) {
        my $c = $d->($cpu);
        my $t = 0;
        $t += $_ for @$c;
        $s{"${cpu}_busy_pct"} = _r(100 * ($t - $c->[3] - $c->[4])
                                   / ($t || 1), 1);
    }
    return \%s;
}

sub top_foreign {
    my ($s0, $s1) = @_;
    my %ours = map { $_ => 1 } descendants($s1->{procs}, $$);
    my %by;
    for my $pid (keys %{ $s1->{procs} }) {
        my ($p0, $p1) = ($s0->{procs}{$pid}, $s1->{procs}{$pid});
        next if $ours{$pid} || !$p0;
        # own time only: reaped children bring CPU from before the run
        my $d = $p1->{ticks} - $p0->{ticks};
        $by{ $p1->{comm} } += $d if $d > 0;
    }
    my $secs = $s1->{t} - $s0->{t};
    my @top = sort { $by{$b} <=> $by{$a} } keys %by;
    @top = @top[0 .. 2] if @top > 3;
    return join ', ', map { sprintf '%s %.0f%%', $_, 100 * $by{$_} / $TICK
                                                       / $secs } @top;
}

sub sample {
    return { t => time, cpu => cpu_stat(), procs => proc_table(),
             ctimes => do { my @t = times; $t[2] + $t[3] } };
}

1;
