package Bench::Client;

# make bench: a small keepalive HTTP/1.1 client for exact request counts
# (callgrind), the arrival time of the first SSE event and tight polling
# (revocation).  One request at a time; Content-Length and chunked
# answers.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time);
use Exporter qw(import);

our @EXPORT = qw(kc_connect kc_request);

sub kc_connect {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 10)
        or die "connect 127.0.0.1:$port: $!\n";
    setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
    binmode $s;
    return { s => $s, port => $port, sel => IO::Select->new($s) };
}

sub _kc_read {
    my ($c, $buf, $deadline) = @_;
    my $left = $deadline - time;
    die "read timeout\n" if $left <= 0;
    die "read timeout\n" unless $c->{sel}->can_read($left);
    my $n = sysread($c->{s}, $$buf, 65536, length $$buf);
    die "read: $!\n" unless defined $n;
    return $n;
}

# -> {status, headers, body, t0, t_first (first body byte, or first
#    "data:" when sse), t_end}
sub kc_request {
    my ($c, $method, $path, $headers, $body, %o) = @_;
    $c = $_[0] = kc_connect($c->{port}) if $c->{closed};
    my $req = "$method $path HTTP/1.1\r\nHost: 127.0.0.1:$c->{port}\r\n";
    $req .= "$_: $headers->{$_}\r\n" for sort keys %{ $headers || {} };
    $req .= "Content-Length: " . length($body) . "\r\n" if defined $body;
    $req .= "\r\n" . ($body // '');
    my $deadline = time + ($o{timeout} // 60);
    my %res = (t0 => time);
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite($c->{s}, $req, length($req) - $off, $off);
        die "write: $!\n" unless defined $n;
        $off += $n;
    }
    my $buf = '';
    my $h;
    while (($h = index($buf, "\r\n\r\n")) < 0) {
        _kc_read($c, \$buf, $deadline) or die "connection closed\n";
    }
    my ($status_line, @lines) = split /\r\n/, substr($buf, 0, $h);
    ($res{status}) = $status_line =~ m{^HTTP/1\.\d (\d{3})}
        or die "bad status line: $status_line\n";
    for (@lines) {
        $res{headers}{ lc $1 } = $2 if /^([^:]+):\s*(.*)$/;
    }
    $buf = substr($buf, $h + 4);
    my $hd = $res{headers};
    my $chunked = ($hd->{'transfer-encoding'} // '') =~ /chunked/i;
    my $clen = $hd->{'content-length'};
    my $mark = $o{sse} ? 'data:' : undef;
    my ($out, $need, $done) = ('', 0, 0);
    my $feed = sub {
        if (!$chunked) {
            $out .= $buf;
            $buf = '';
            $done = 1 if defined $clen && length $out >= $clen;
            return;
        }
        while (1) {
            if ($need > 0) {
                my $take = $need > length $buf ? length $buf : $need;
                $out .= substr($buf, 0, $take, '');
                $need -= $take;
                return if $need > 0;
                $need = -1;          # the CRLF after the chunk data
            }
            if ($need < 0) {
                return if length $buf < 2;
                substr($buf, 0, 2, '');
                $need = 0;
            }
            my $i = index($buf, "\r\n");
            return if $i < 0;
            my $size = hex(substr($buf, 0, $i));
            if ($size == 0) {
                return if index($buf, "\r\n\r\n") < 0;
                $done = 1;
                $buf = '';
                return;
            }
            substr($buf, 0, $i + 2, '');
            $need = $size;
        }
    };
    my $head_only = $method eq 'HEAD' || $res{status} == 204
                    || $res{status} == 304
                    || (!$chunked && defined $clen && $clen == 0);
    $done = 1 if $head_only;
    while (!$done) {
        $feed->();
        if (!defined $res{t_first} && length $out
            && (!defined $mark || index($out, $mark) >= 0)) {
            $res{t_first} = time;
        }
        last if $done;
        if (!_kc_read($c, \$buf, $deadline)) {
            die "connection closed mid-body\n" if $chunked || defined $clen;
            $c->{closed} = 1;
            last;
        }
    }
    $res{t_end} = time;
    $res{t_first} //= $res{t_end};
    $res{body} = $out;
    $c->{closed} = 1 if ($hd->{connection} // '') =~ /close/i;
    return \%res;
}

1;
