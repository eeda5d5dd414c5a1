# Callers that vanish: a client that hangs up mid-stream, or before the
# provider answered, or in the middle of sending its body, leaves a usage
# row (status 499, the client closed) and a gateway that keeps serving;
# a provider that drops a stream midway is recorded too.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time sleep);
use Sluice::Test;

start_stack();
my $demo = seed_demo();

sub request_text {
    my ($token, $body, $len) = @_;
    my $port = (stack()->{gw_url} =~ /:(\d+)$/)[0];
    return "POST /v1/chat/completions HTTP/1.1\r\n"
        . "Host: 127.0.0.1:$port\r\nAuthorization: Bearer $token\r\n"
        . "Content-Type: application/json\r\n"
        . "Content-Length: " . ($len // length $body) . "\r\n\r\n$body";
}

sub gw_socket {
    my ($port) = stack()->{gw_url} =~ /:(\d+)$/;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $port, Timeout => 5);
    die "connect: $!" unless $s;
    return $s;
}

# reads until $re matches what arrived, or $timeout
sub read_until {
    my ($s, $re, $timeout) = @_;
    my $sel = IO::Select->new($s);
    my $got = '';
    my $end = time + $timeout;
    while (time < $end && $got !~ $re) {
        next unless $sel->can_read(0.05);
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $got .= $buf;
    }
    return $got;
}

sub rows_for {
    my ($key, $n) = @_;
    my @rows;
    wait_until(sub {
        @rows = psql_hashes("SELECT * FROM usage_events
                             WHERE key_id = '$key->{id}'
                               AND endpoint = '/v1/chat/completions'
                             ORDER BY ts");
        @rows >= $n;
    }, 10);
    return @rows;
}

for my $round (1, 2) {
    my $key = create_key(groups => ['demo-chat']);

    # 1. hang up after the first SSE event of a slow stream
    my $s = gw_socket();
    my $body = json_encode({ model => 'demo-chat', stream => JSON::PP::true,
        messages => [{ role => 'user',
                       content => 'long story mock:delay=300 mock:events=20' }]
    });
    print $s request_text($key->{token}, $body);
    my $got = read_until($s, qr/\ndata: /, 5);
    like($got, qr/^HTTP\/1\.1 200/, "mid-stream ($round): stream started");
    my ($rid) = $got =~ /X-Request-Id: ([0-9a-f]{32})/i;
    close $s;

    # 2. hang up while the provider is still thinking
    $s = gw_socket();
    $body = json_encode({ model => 'demo-chat', messages => [
        { role => 'user', content => 'slow mock:ttfb=1500' }] });
    print $s request_text($key->{token}, $body);
    sleep 0.4;
    close $s;

    # 3. hang up halfway through sending the body
    $s = gw_socket();
    print $s substr(request_text($key->{token}, $body), 0, -10);
    sleep 0.2;
    close $s;

    my @rows = rows_for($key, 3);
    is(scalar @rows, 3, "($round): one row per request")
        or diag(json_encode(\@rows));
    my ($mid, $slow, $half) = @rows;
    is($mid && $mid->{request_id}, $rid,
       "mid-stream ($round): the row has the request id the client saw");
    is($mid && $mid->{status}, 499, "mid-stream ($round): recorded as 499");
    ok($mid && $mid->{stream}, "mid-stream ($round): recorded as a stream");
    is($mid && $mid->{provider}, 'mock', "mid-stream ($round): routed");
    is($slow && $slow->{status}, 499,
       "before the answer ($round): recorded as 499");
    is($slow && $slow->{model_group}, 'demo-chat',
       "before the answer ($round): routed");
    is($half && $half->{status}, 499,
       "half a body ($round): recorded as 499");
    ok($half && !defined $half->{provider},
       "half a body ($round): never reached a provider");

    # the provider drops the stream after two events
    my $r = sse_request($demo->{token},
                        content => "cut short mock:drop=2 mock:delay=50");
    my $drid = request_id_ok($r, "provider drop ($round)");
    my $row = wait_usage($drid, 10);
    ok($row, "provider drop ($round): recorded");

    # and the gateway still serves
    my $ok = chat($demo->{token}, content => "still there $round");
    is($ok->{status}, 200, "after the hang-ups ($round): still serving");
}

stop_stack();
done_testing;
