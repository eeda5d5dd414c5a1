package Sluice::Test::HTTP;

# A small HTTP/1.1 client over a raw socket, for what HTTP::Tiny cannot
# show: when each part of a streamed answer arrived (SSE events with
# their arrival times), and answers sent before a large request body was
# fully written (a 413 while the client is still uploading).

use strict;
use warnings;

use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use Exporter qw(import);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(time);

our @EXPORT_OK = qw(raw_http);

my $JSON = JSON::PP->new->utf8->allow_nonref;

# raw_http($method, $url, \%headers, $body, sse => 1, timeout => 30,
#          chunked => 1 (send the body with Transfer-Encoding: chunked))
# -> {status, reason, headers (lower-case names), body (also as content),
#     json, events,
#     t_start, t_headers, t_end, error, body_sent}
# events (with sse => 1, also for a non-SSE answer body): each
# {t, data, event, id, json, comment}; t = arrival time (epoch seconds)
# of the read that completed the event.
sub raw_http {
    my ($method, $url, $headers, $body, %o) = @_;
    my ($host, $port, $path) = $url =~ m{^http://([^/:]+):(\d+)(/.*)?$}
        or die "raw_http: bad url $url";
    $path //= '/';
    $body //= '';
    my $timeout = $o{timeout} // 30;
    my $res = { events => [], body => '', headers => {}, t_start => time,
                body_sent => 0 };

    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Timeout => 5)
        or do { $res->{error} = "connect: $!"; $res->{status} = 599;
                return $res };
    $s->blocking(0);
    my %h = (%{ $headers || {} });
    my $req = "$method $path HTTP/1.1\r\nHost: $host:$port\r\n"
            . "Connection: close\r\n";
    $h{'content-type'} //= 'application/json' if length $body;
    if ($o{chunked}) {
        $req .= "Transfer-Encoding: chunked\r\n";
        my $framed = '';
        for (my $i = 0; $i < length $body; $i += 65536) {
            my $part = substr($body, $i, 65536);
            $framed .= sprintf("%x\r\n", length $part) . $part . "\r\n";
        }
        $body = $framed . "0\r\n\r\n";
    } elsif (length $body || $method eq 'POST') {
        $req .= "Content-Length: " . length($body) . "\r\n";
    }
    $req .= "$_: $h{$_}\r\n" for sort keys %h;
    my $out = $req . "\r\n" . $body;

    my $deadline = time + $timeout;
    my ($in, $state) = ('', { phase => 'head' });
    my $sel = IO::Select->new($s);
    while (1) {
        my $left = $deadline - time;
        if ($left <= 0) { $res->{error} = 'timeout'; last }
        my ($r, $w) = IO::Select->select($sel, length $out ? $sel : undef,
                                         undef, $left);
        if ($w && @$w && length $out) {
            my $n = syswrite($s, $out, 65536);
            if (defined $n) {
                substr($out, 0, $n, '');
            } elsif ($! != EAGAIN && $! != EWOULDBLOCK && $! != EINTR) {
                $out = '';           # peer stopped reading: read its answer
                $res->{write_error} = "$!";
            }
        }
        next unless $r && @$r;
        my $n = sysread($s, my $buf, 65536);
        if (!defined $n) {
            next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            $res->{error} = "read: $!";
            last;
        }
        my $now = time;
        if ($n == 0) {
            _feed($res, $state, '', $now, 1, \%o);
            last;
        }
        $in .= $buf;
        _feed($res, $state, \$in, $now, 0, \%o);
        last if $state->{phase} eq 'done';
    }
    close $s;
    $res->{t_end} = time;
    $res->{status} //= 599;
    my $unsent = length $out > length $body ? length $body : length $out;
    $res->{body_sent} = length($body) - $unsent;
    $res->{content} = $res->{body};
    if (($res->{headers}{'content-type'} // '') =~ /json/) {
        $res->{json} = eval { $JSON->decode($res->{body}) };
    }
    return $res;
}

# Consumes bytes from $$in: head, then body (chunked, sized or to EOF).
sub _feed {
    my ($res, $st, $in, $now, $eof, $o) = @_;
    if ($eof) {
        _body($res, $st, $now, $o, '', 1) if $st->{phase} eq 'body';
        $st->{phase} = 'done';
        return;
    }
    if ($st->{phase} eq 'head') {
        my $end = index($$in, "\r\n\r\n");
        return if $end < 0;
        my $head = substr($$in, 0, $end);
        substr($$in, 0, $end + 4, '');
        my ($line, @lines) = split /\r\n/, $head;
        ($res->{status}, $res->{reason}) = $line =~ m{^HTTP/1\.\d (\d+) ?(.*)};
        for (@lines) {
            my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
            $k = lc $k;
            $res->{headers}{$k} = exists $res->{headers}{$k}
                ? "$res->{headers}{$k}, $v" : $v;
        }
        $res->{t_headers} = $now;
        $st->{phase} = 'body';
        $st->{chunked} = ($res->{headers}{'transfer-encoding'} // '')
            =~ /chunked/i;
        $st->{left} = $res->{headers}{'content-length'};
        $st->{sse} = '';
    }
    return unless $st->{phase} eq 'body';
    if ($st->{chunked}) {
        while (1) {
            if (!$st->{csize}) {
                my $e = index($$in, "\r\n");
                return if $e < 0;
                my $line = substr($$in, 0, $e);
                substr($$in, 0, $e + 2, '');
                next if $line eq '';          # CRLF after a chunk
                my $size = hex(($line =~ /^([0-9a-fA-F]+)/)[0] // 0);
                if ($size == 0) {
                    _body($res, $st, $now, $o, '', 1);
                    $st->{phase} = 'done';
                    return;
                }
                $st->{csize} = $size;
            }
            return unless length $$in;
            my $take = length $$in < $st->{csize} ? length $$in : $st->{csize};
            my $data = substr($$in, 0, $take);
            substr($$in, 0, $take, '');
            $st->{csize} -= $take;
            _body($res, $st, $now, $o, $data, 0);
        }
    }
    my $data = $$in;
    $$in = '';
    if (defined $st->{left}) {
        $data = substr($data, 0, $st->{left}) if length $data > $st->{left};
        $st->{left} -= length $data;
    }
    _body($res, $st, $now, $o, $data, 0);
    if (defined $st->{left} && $st->{left} <= 0) {
        _body($res, $st, $now, $o, '', 1);
        $st->{phase} = 'done';
    }
}

# Body bytes: kept whole, and split into SSE events when asked.
sub _body {
    my ($res, $st, $now, $o, $data, $last) = @_;
    $res->{body} .= $data;
    return unless $o->{sse};
    $st->{sse} .= $data;
    while ($st->{sse} =~ s/\A(.*?)(?:\r\n\r\n|\n\n|\r\r)//s) {
        _event($res, $1, $now);
    }
    if ($last && $st->{sse} =~ /\S/) {
        _event($res, $st->{sse}, $now);
        $st->{sse} = '';
    }
}

sub _event {
    my ($res, $text, $now) = @_;
    my %ev = (t => $now);
    my @data;
    for my $l (split /\r\n|\n|\r/, $text) {
        if ($l =~ /^:(.*)/) { $ev{comment} = $1; next }
        my ($f, $v) = $l =~ /^([^:]*)(?::\s?(.*))?$/ or next;
        $v //= '';
        if ($f eq 'data') { push @data, $v }
        elsif ($f eq 'event' || $f eq 'id' || $f eq 'retry') { $ev{$f} = $v }
    }
    $ev{data} = join "\n", @data if @data;
    if (defined $ev{data} && $ev{data} ne '[DONE]') {
        $ev{json} = eval { $JSON->decode($ev{data}) };
    }
    push @{ $res->{events} }, \%ev;
}

1;
