# sluice_metrics: the shared counters, Prometheus text; they count every
# gateway request by status class, across workers, and survive a reload.
use strict;
use warnings;
use Test::More;
use Sluice::Test;

start_stack(nginx_server => <<'EOF');
        location = /sluice/metrics {
            sluice_metrics;
        }
EOF
my $demo = seed_demo();

sub metrics {
    my $r = http('GET', '/sluice/metrics');
    is($r->{status}, 200, 'metrics: 200');
    like($r->{headers}{'content-type'} // '', qr{^text/plain},
         'metrics: text format');
    my %m;
    while ($r->{content} =~ /^(sluice_\w+(?:\{[^}]*\})?) (\d+)$/mg) {
        $m{$1} = $2;
    }
    return \%m;
}

my $before = metrics();
ok(exists $before->{sluice_requests_total}, 'requests counter present');

for my $round (1, 2) {
    my $m0 = metrics();
    chat($demo->{token}, content => "count me $round") for 1 .. 3;
    http('POST', '/v1/chat/completions', {}, { model => 'demo-chat' });
    my $m1 = metrics();
    is($m1->{sluice_requests_total} - $m0->{sluice_requests_total}, 4,
       "($round) four gateway requests counted");
    is($m1->{'sluice_responses_total{class="2xx"}'}
       - $m0->{'sluice_responses_total{class="2xx"}'}, 3,
       "($round) three 2xx");
    is($m1->{'sluice_responses_total{class="4xx"}'}
       - $m0->{'sluice_responses_total{class="4xx"}'}, 1,
       "($round) one 4xx");
}

my $m2 = metrics();
reload_nginx();
my $m3 = metrics();
ok($m3->{sluice_requests_total} >= $m2->{sluice_requests_total},
   'counters survive a reload');

stop_stack();
done_testing;
