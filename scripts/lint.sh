#!/usr/bin/env bash
# Style checks for the C sources (ngx_module/*.[ch], controld/*.[ch]):
# no tabs, at most 80 columns, no // comments, no trailing whitespace.
# Prints each offending line as file:line: problem; exits 1 if any.
set -uo pipefail
cd "$(dirname "$0")/.."

shopt -s nullglob
files=(ngx_module/*.[ch] controld/*.[ch])
if [ ${#files[@]} -eq 0 ]; then
    echo "lint: no C sources"
    exit 0
fi

exec perl -CSD -e '
use strict;
use warnings;

my $bad = 0;

sub report {
    my ($file, $line, $what) = @_;
    print "$file:$line: $what\n";
    $bad++;
}

for my $file (@ARGV) {
    open my $fh, "<", $file or do { report($file, 0, "cannot read: $!");
                                    next };
    my $in_comment = 0;
    while (my $l = <$fh>) {
        chomp $l;
        my $n = $.;
        report($file, $n, "tab") if $l =~ /\t/;
        report($file, $n, "trailing whitespace") if $l =~ /[ \t\r]$/;
        my $cols = length($l =~ s/\t/        /gr);
        report($file, $n, "$cols columns (max 80)") if $cols > 80;

        # find // outside string/char literals and /* */ comments
        my $i = 0;
        my $len = length $l;
        while ($i < $len) {
            my $c = substr($l, $i, 2);
            if ($in_comment) {
                if ($c eq "*/") { $in_comment = 0; $i += 2; next }
                $i++;
                next;
            }
            if ($c eq "/*") { $in_comment = 1; $i += 2; next }
            if ($c eq "//") { report($file, $n, "// comment"); last }
            my $q = substr($l, $i, 1);
            if ($q eq "\"" || $q eq "\x27") {
                $i++;
                while ($i < $len && substr($l, $i, 1) ne $q) {
                    $i += substr($l, $i, 1) eq "\\" ? 2 : 1;
                }
            }
            $i++;
        }
    }
    close $fh;
}
print "lint: $bad problem(s)\n" if $bad;
exit($bad ? 1 : 0);
' "${files[@]}"
