# Directives checked by `nginx -t` alone (no stack): what a typo in
# nginx.conf gets the operator, and that the documented forms load.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Sluice::Test;

my $NGINX = $Sluice::Test::NGINX;
my $MODULE = $Sluice::Test::MODULE;
my $dir = tempdir('sluice-test-directives-XXXXXX', DIR => '/tmp',
                  CLEANUP => 1);

# nginx -t on an http{} holding $http: (exit status, what it printed)
sub check {
    my ($http) = @_;
    open my $fh, '>', "$dir/nginx.conf" or die "$dir/nginx.conf: $!";
    print $fh <<"CONF";
pid $dir/nginx.pid;
error_log $dir/error.log;
load_module $MODULE;
events { worker_connections 64; }
http {
    sluice_table $dir/table;
$http
}
CONF
    close $fh;
    my $out = `$NGINX -t -p $dir -c $dir/nginx.conf 2>&1`;
    return ($? >> 8, $out);
}

for my $ok ('sluice_heap_keep 8m;', 'sluice_heap_keep off;',
            'sluice_heap_keep 0;', '') {
    my ($rc, $out) = check($ok);
    is($rc, 0, "accepted: '$ok'") or diag($out);
}

for my $bad (['sluice_heap_keep lots;', qr/"lots" is not a size up to 1g/],
             ['sluice_heap_keep 2g;', qr/"2g" is not a size up to 1g/],
             ["sluice_heap_keep 4m;\n    sluice_heap_keep 8m;",
              qr/"sluice_heap_keep" directive is duplicate/]) {
    my ($rc, $out) = check($bad->[0]);
    isnt($rc, 0, "refused: '$bad->[0]'");
    like($out, $bad->[1], "refused: '$bad->[0]': the reason named");
}

done_testing;
