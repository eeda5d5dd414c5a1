package Bench::Util;

# make bench: small helpers (files, commands, ports, statistics).

use strict;
use warnings;

use IO::Socket::INET;
use POSIX qw(floor);
use Exporter qw(import);

our @EXPORT = qw(_have _slurp _slurp_from _write _cmd_out _free_port _tcp_open
                 _median _pct _r);

sub _have {
    my $bin = shift;
    return scalar grep { -x "$_/$bin" } split /:/, $ENV{PATH};
}

sub _slurp {
    my $p = shift;
    open my $fh, '<', $p or return '';
    local $/;
    return scalar <$fh>;
}

sub _slurp_from {
    my ($p, $off) = @_;
    open my $fh, '<', $p or return '';
    seek $fh, $off, 0;
    local $/;
    return scalar <$fh> // '';
}

sub _write {
    my ($p, $text) = @_;
    open my $fh, '>', $p or die "$p: $!";
    print $fh $text;
    close $fh or die "$p: $!";
}

sub _cmd_out {
    my @cmd = @_;
    my $pid = open(my $fh, '-|');
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return $out;
}

sub _free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or die "port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub _tcp_open {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => shift, Timeout => 1);
    return 0 unless $s;
    close $s;
    return 1;
}

sub _median {
    my @v = sort { $a <=> $b } @_;
    return undef unless @v;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub _pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return undef unless @v;
    my $i = floor($p / 100 * $#v + 0.5);
    return $v[$i];
}

# $v rounded to $d decimals, as a number (undef stays undef)
sub _r {
    my ($v, $d) = @_;
    return defined $v ? 0 + sprintf("%.${d}f", $v) : undef;
}

1;
