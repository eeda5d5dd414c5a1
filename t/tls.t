# TLS to providers: SNI and certificate verification against the CA that
# proxy_ssl_trusted_certificate names, and idle connections pooled per
# target (address + TLS name), so a connection verified for one name is
# never handed to a target with another name on the same address.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Sluice::Test;

my $ca = tempdir('sluice-tls-XXXXXX', DIR => '/tmp', CLEANUP => 1);
chmod 0755, $ca;

sub openssl {
    my $cmd = join ' ', 'openssl', @_, '>/dev/null 2>&1';
    system($cmd) == 0 or BAIL_OUT("openssl failed: $cmd");
}

openssl(qw(req -x509 -newkey rsa:2048 -nodes -days 2),
        "-keyout $ca/ca.key -out $ca/ca.crt", "-subj '/CN=Sluice test CA'");
openssl(qw(req -newkey rsa:2048 -nodes),
        "-keyout $ca/srv.key -out $ca/srv.csr", "-subj '/CN=localhost'");
open my $ext, '>', "$ca/ext.cnf" or die;
print $ext "subjectAltName=DNS:localhost\n";
close $ext;
openssl(qw(x509 -req -days 2 -CAcreateserial), "-in $ca/srv.csr",
        "-CA $ca/ca.crt -CAkey $ca/ca.key -out $ca/srv.crt",
        "-extfile $ca/ext.cnf");
chmod 0644, glob("$ca/*");

# a TLS provider inside the same nginx: it answers with the SNI name it
# was reached by and the credential it received
my $port = Sluice::Test::free_port();
my $answer = '{"id":"tls-1","object":"chat.completion","model":"m",'
    . '"sni":"$ssl_server_name","auth":"$http_authorization",'
    . '"choices":[{"index":0,"message":{"role":"assistant",'
    . '"content":"over tls"},"finish_reason":"stop"}],'
    . '"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}';

start_stack(trusted_ca => "$ca/ca.crt", nginx_http => <<"EOF");
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $ca/srv.crt;
        ssl_certificate_key $ca/srv.key;
        location / {
            default_type application/json;
            return 200 '$answer';
        }
    }
EOF

my $demo = seed_demo();

# same address, two names: "localhost" is in the certificate, the IP
# address is not
for my $p (['tls-good', "https://localhost:$port/v1", 'sk-good'],
           ['tls-bad', "https://127.0.0.1:$port/v1", 'sk-bad'])
{
    admin(POST => '/admin/v1/providers',
          { name => $p->[0], base_url => $p->[1], dialect => 'chat',
            auth_kind => 'bearer', credential => $p->[2] });
    admin(POST => '/admin/v1/targets',
          { name => "$p->[0]-t", provider => $p->[0], model => 'm' });
    create_group($p->[0], "$p->[0]-t");
}

my $key = create_key(groups => ['tls-*', 'demo-chat']);
my %auth = (authorization => "Bearer $key->{token}");

for my $round (1, 2, 3) {
    my $r;
    wait_until(sub {
        $r = http('POST', '/v1/chat/completions', \%auth,
                  { model => 'tls-good', messages => [] });
        $r->{status} != 403;
    }, 5);
    is($r->{status}, 200, "verified TLS target answers ($round)")
        or diag($r->{content});
    is($r->{json}{sni}, 'localhost', "SNI carries the provider's name");
    is($r->{json}{auth}, 'Bearer sk-good', 'credential injected over TLS');

    # with connections pooled by address alone this would reuse the
    # connection just verified for "localhost" and wrongly succeed
    $r = http('POST', '/v1/chat/completions', \%auth,
              { model => 'tls-bad', messages => [] });
    error_is($r, 502, 'upstream-failed',
             "certificate not valid for the target's name ($round)");
    unlike($r->{content}, qr/127\.0\.0\.1|$port/,
           'the error names no provider host');

    # the same locations reach a plain HTTP target between TLS ones
    $r = http('POST', '/v1/chat/completions', \%auth,
              { model => 'demo-chat', messages => [] });
    is($r->{status}, 200, "plain HTTP target between TLS ones ($round)")
        or diag($r->{content});
    is(mock_last()->{path}, '/v1/chat/completions',
       "plain HTTP target's path ($round)");
}

my @verify = error_log_lines(qr/certificate does not match/);
ok(@verify >= 3, 'each refused handshake is logged');

stop_stack();
done_testing;
