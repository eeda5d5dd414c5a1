# The gateway over HTTP/2 (cleartext, prior knowledge; TLS deployments
# negotiate the same protocol): model list, JSON chat and a stream, with
# the body read however h2 frames it.
use strict;
use warnings;
use Test::More;
use Sluice::Test;

plan skip_all => 'curl is needed' if system('curl --version >/dev/null') != 0;

my $port = Sluice::Test::free_port();
start_stack(nginx_http => <<"EOF");
    server {
        listen 127.0.0.1:$port http2;
        include $Sluice::Test::REPO/conf/gateway.conf;
    }
EOF
my $demo = seed_demo(groups => ['demo-*']);
create_group($_) for qw(demo-a demo-b demo-c);

sub h2 {
    my ($path, $body) = @_;
    my @cmd = ('curl', '-sS', '--http2-prior-knowledge', '-m', '10',
               '-H', "Authorization: Bearer $demo->{token}",
               '-w', '\n%{http_version} %{http_code}');
    if (defined $body) {
        my $file = stack()->{dir} . '/h2-body.json';
        open(my $out, '>', $file) or die "$file: $!";
        print $out $body;
        close $out;
        push @cmd, '-H', 'Content-Type: application/json',
                   '--data-binary', "\@$file";
    }
    push @cmd, "http://127.0.0.1:$port$path";
    # list-form pipe open: the child execs curl directly (no END blocks)
    open(my $fh, '-|', @cmd) or die "curl: $!";
    local $/;
    my $out = <$fh>;
    close $fh;
    my ($text, $ver, $code) = $out =~ /^(.*)\n(\S+) (\d+)$/s;
    return ($code // 0, $ver // '', $text // '');
}

# the new groups reach the table through controld's sync
wait_until(sub {
    my $r = http('GET', '/v1/models',
                 { authorization => "Bearer $demo->{token}" });
    return @{ ($r->{json} || {})->{data} || [] } == 6;
}, 5);

for my $round (1, 2) {
    my ($code, $ver, $text) = h2('/v1/models');
    is($ver, '2', "models ($round): HTTP/2");
    is($code, 200, "models ($round): 200");
    my $j = json_decode($text) || {};
    is_deeply([sort map { $_->{id} } @{ $j->{data} || [] }],
              [qw(demo-a demo-b demo-c demo-chat demo-messages
                  demo-responses)],
              "models ($round): the whole list arrived") or diag($text);

    my $big = 'y' x 70000;
    ($code, $ver, $text) = h2('/v1/chat/completions', json_encode({
        model => 'demo-chat',
        messages => [{ role => 'user', content => "h2 $round $big" }] }));
    is($code, 200, "chat ($round): 200") or diag(substr($text, 0, 300));
    $j = json_decode($text) || {};
    is($j->{choices}[0]{message}{content}, "echo: h2 $round $big",
       "chat ($round): answer for a 70 KB body");
    is(mock_last()->{body}{model}, 'mock-model-1', "chat ($round): routed");

    ($code, $ver, $text) = h2('/v1/chat/completions', json_encode({
        model => 'demo-chat', stream => JSON::PP::true,
        messages => [{ role => 'user', content => "stream $round" }] }));
    is($code, 200, "stream ($round): 200");
    like($text, qr/data: \[DONE\]\s*$/, "stream ($round): complete");
    unlike($text, qr/"choices":\[\]/, "stream ($round): no usage chunk "
           . "the caller did not ask for");

    # a translated stream: a chat caller, a messages provider
    ($code, $ver, $text) = h2('/v1/chat/completions', json_encode({
        model => 'demo-messages', stream => JSON::PP::true,
        messages => [{ role => 'user', content => "x $round" }] }));
    is($code, 200, "translated stream ($round): 200");
    like($text, qr/"content":"echo:/, "translated stream ($round): text");
    like($text, qr/data: \[DONE\]\s*$/,
         "translated stream ($round): complete");

    # a translated JSON answer: held, translated, sent with a new length
    ($code, $ver, $text) = h2('/v1/responses', json_encode({
        model => 'demo-messages', input => "y $round" }));
    is($code, 200, "translated JSON ($round): 200");
    is((json_decode($text) || {})->{output}[0]{content}[0]{text},
       "echo: y $round", "translated JSON ($round): the answer");
}

stop_stack();
done_testing;
