# The spool is bounded: with Redis away and the spool at its cap, requests
# are still served, the loss is logged loudly, and whatever was spooled
# lands once Redis is back.
use strict;
use warnings;
use Test::More;
use Sluice::Test;

start_stack(worker_processes => 1, usage_args =>
    'redis=127.0.0.1:{redis_port} stream=sluice:usage spool={spool} '
    . 'queue=2 spool_max=3k');
my $demo = seed_demo();
stop_part('redis');

my @rids;
for my $i (1 .. 30) {
    my $r = chat($demo->{token}, content => "while redis is away $i");
    is($r->{status}, 200, "request $i served with Redis away")
        or last;
    push @rids, $r->{headers}{'x-request-id'};
}

ok(wait_until(sub { error_log_lines(qr/usage spool .* is full/) }, 5),
   'a full spool is logged as an error');

start_part('redis');
my $in = join ',', map { "'$_'" } @rids;
my $landed = 0;
wait_until(sub {
    ($landed) = map { $_->[0] } psql("SELECT count(*) FROM usage_events
                                      WHERE request_id IN ($in)");
    return $landed > 0;
}, 20);
sleep 2;
($landed) = map { $_->[0] } psql("SELECT count(*) FROM usage_events
                                  WHERE request_id IN ($in)");
ok($landed > 0, "spooled records landed ($landed)");
ok($landed < @rids, 'records beyond the cap were lost, not held');

stop_stack();
done_testing;
