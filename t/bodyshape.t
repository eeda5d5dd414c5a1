# However the body arrives it is read whole: in the same write as the
# headers (so part of it lands in nginx's header buffer), byte by byte,
# chunked, large; the provider sees it intact with only model changed.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use Sluice::Test;

start_stack();
my $demo = seed_demo();
my ($port) = stack()->{gw_url} =~ /:(\d+)$/;

# sends $req in pieces of $step bytes (all at once when 0); the answer
sub exchange {
    my ($req, $step) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 5) or die "connect: $!";
    if ($step) {
        for (my $i = 0; $i < length $req; $i += $step) {
            print $s substr($req, $i, $step);
            $s->flush;
            sleep 0.001;
        }
    } else {
        print $s $req;
    }
    my ($got, $sel, $end) = ('', IO::Select->new($s), time + 10);
    while (time < $end) {
        next unless $sel->can_read(0.05);
        last unless sysread($s, my $buf, 65536);
        $got .= $buf;
    }
    close $s;
    my ($status) = $got =~ m{^HTTP/1\.1 (\d+)};
    return ($status // 0, $got);
}

sub request {
    my ($body, %o) = @_;
    my $h = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
          . "Authorization: Bearer $demo->{token}\r\n"
          . "Content-Type: application/json\r\nConnection: close\r\n";
    if ($o{chunked}) {
        my $framed = '';
        for (my $i = 0; $i < length $body; $i += 700) {
            my $part = substr($body, $i, 700);
            $framed .= sprintf("%x\r\n", length $part) . "$part\r\n";
        }
        return $h . "Transfer-Encoding: chunked\r\n\r\n$framed" . "0\r\n\r\n";
    }
    return $h . "Content-Length: " . length($body) . "\r\n\r\n$body";
}

my @sizes = (200, 1500, 5000, 80_000);
for my $round (1, 2) {
    for my $size (@sizes) {
        for my $how ('one write', 'byte steps', 'chunked') {
            next if $how eq 'byte steps' && $size > 5000;
            my $text = "r$round " . ('x' x $size);
            my $messages = [{ role => 'user', content => $text }];
            my $body = json_encode({ model => 'demo-chat',
                                     messages => $messages });
            my ($status, $got) = exchange(
                request($body, chunked => $how eq 'chunked'),
                $how eq 'byte steps' ? 97 : 0);
            my $name = "$how, $size bytes ($round)";
            is($status, 200, "$name: 200")
                or diag(substr($got, 0, 400));
            my $up = mock_last();
            is($up->{body}{model}, 'mock-model-1', "$name: model rewritten");
            is_deeply($up->{body}{messages}, $messages,
                      "$name: the rest arrived intact");
        }
    }
}

stop_stack();
done_testing;
