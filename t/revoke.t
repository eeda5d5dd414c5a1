# A key revoked (or disabled) through the admin API is refused by nginx
# within 1 s; other keys keep working.
use strict;
use warnings;
use Test::More;
use Sluice::Test;
use Time::HiRes qw(time sleep);

start_stack();
my $demo = seed_demo();

# Polls every 50 ms from $t0 until the token gets 403 $code; returns the
# seconds it took (undef if not within 3 s).
sub refused_after {
    my ($token, $code, $t0) = @_;
    while (time - $t0 < 3) {
        my $r = http('GET', '/v1/models', { authorization => "Bearer $token" });
        my $e = $r->{json} && $r->{json}{error};
        return time - $t0
            if $r->{status} == 403 && $e
               && (($e->{type} // '') eq $code || ($e->{code} // '') eq $code);
        sleep 0.05;
    }
    return undef;
}

for my $round (1, 2) {
    my $k = create_key();
    my $r = chat($k->{token}, content => "before $round");
    is($r->{status}, 200, "key works before revocation ($round)");

    my $t0 = time;
    my ($st) = admin(POST => "/admin/v1/keys/$k->{id}/revoke", {});
    is($st, 200, "admin revoke ($round)");
    my $took = refused_after($k->{token}, 'key-revoked', $t0);
    ok(defined $took && $took < 1.0,
       sprintf("revoked key refused within 1 s (%s s) (%d)",
               defined $took ? sprintf('%.3f', $took) : 'never', $round));
    for my $try (1, 2) {
        error_is(chat($k->{token}), 403, 'key-revoked',
                 "chat with revoked key ($round/$try)");
    }

    my $d = create_key();
    $t0 = time;
    ($st) = admin(PATCH => "/admin/v1/keys/$d->{id}",
                  { status => 'disabled' });
    is($st, 200, "admin disable ($round)");
    $took = refused_after($d->{token}, 'key-disabled', $t0);
    ok(defined $took && $took < 1.0,
       sprintf("disabled key refused within 1 s (%s s) (%d)",
               defined $took ? sprintf('%.3f', $took) : 'never', $round));
    error_is(chat($d->{token}), 403, 'key-disabled',
             "chat with disabled key ($round)");

    $r = chat($demo->{token}, content => "other key $round");
    is($r->{status}, 200, "another key is unaffected ($round)");
}

stop_stack();
done_testing;
