# nginx -s reload: the gateway keeps serving, on the same policy table
# (no restart of controld), and a stream in flight during the reload
# completes.
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes qw(sleep);
use Sluice::Test;

my $S = start_stack();
my $demo = seed_demo();

my $r = chat($demo->{token}, content => 'before reload');
is($r->{status}, 200, 'serves before reload');

for my $round (1, 2) {
    my @workers = reload_nginx();
    ok(@workers >= 2, "reload $round: new workers (@workers)");
    for my $try (1, 2) {
        $r = chat($demo->{token}, content => "after reload $round.$try");
        is($r->{status}, 200, "reload $round: chat $try") or diag($r->{content});
        is($r->{json}{choices}[0]{message}{content},
           "echo: after reload $round.$try", "reload $round: answer $try");
        $r = http('GET', '/v1/models',
                  { authorization => "Bearer $demo->{token}" });
        is_deeply([sort map { $_->{id} } @{ $r->{json}{data} || [] }],
                  ['demo-chat', 'demo-messages', 'demo-responses'],
                  "reload $round: models $try");
    }
    error_is(chat('sk-sluice-000000000000-' . ('0' x 64)), 401,
             'unauthorized', "reload $round: unknown key still refused");

    # policy changes after the reload still reach the new workers
    my $k = create_key();
    is(chat($k->{token})->{status}, 200, "reload $round: new key works");
    revoke_key($k->{id});
    ok(wait_until(sub { chat($k->{token})->{status} == 403 }, 2),
       "reload $round: revocation reaches the new workers");
}

# reload in the middle of a stream: the old worker finishes it
my $master = $S->{procs}{nginx}{pid};
my $pid = fork;
die "fork: $!" unless defined $pid;
if ($pid == 0) {
    sleep 0.5;
    kill 'HUP', $master;
    POSIX::_exit(0);
}
my $s = sse_request($demo->{token}, content => 'long stream mock:delay=300');
waitpid($pid, 0);
is($s->{status}, 200, 'stream across a reload: 200');
is(($s->{events}[-1] || {})->{data}, '[DONE]',
   'stream across a reload completes');
my $text = join '', map { $_->{json}{choices}[0]{delta}{content} // '' }
    grep { $_->{json} && @{ $_->{json}{choices} || [] } } @{ $s->{events} };
is($text, 'echo: long stream', 'stream across a reload: whole content');
ok(wait_until(sub { chat($demo->{token})->{status} == 200 }, 5),
   'serves after the mid-stream reload');

stop_stack();
done_testing;
