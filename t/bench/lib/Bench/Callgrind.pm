package Bench::Callgrind;

# make bench: reads callgrind.out files (self and inclusive Ir per function).

use strict;
use warnings;

use POSIX qw(floor);
use Exporter qw(import);

our @EXPORT = qw(cg_parse top_fns);

# Parses a callgrind.out file (--dump-instr=no): total Ir, and per
# function ("object\tfunction") its self cost and its inclusive cost
# (self plus the cost of the calls it makes).
sub cg_parse {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    my (%names, %self, %incl, $total);
    my ($ob, $key, $in_call) = ('?', "?\t?", 0);
    my $name = sub {
        my ($kind, $v) = @_;
        return $v unless $v =~ /^\((\d+)\)(?: (.*))?$/;
        $names{$kind}{$1} = $2 if defined $2;
        return $names{$kind}{$1} // "($1)";
    };
    while (my $l = <$fh>) {
        if ($l =~ /^[0-9+*-]/) {
            my (undef, $ir) = split ' ', $l;
            $ir //= 0;
            $incl{$key} += $ir;
            $self{$key} += $ir unless $in_call;
            $in_call = 0;
            next;
        }
        chomp $l;
        if ($l =~ /^ob=(.*)/) {
            ($ob = $name->('ob', $1)) =~ s{^.*/}{};
        } elsif ($l =~ /^fn=(.*)/) {
            $key = "$ob\t" . $name->('fn', $1);
        } elsif ($l =~ /^cob=(.*)/) {
            $name->('ob', $1);
        } elsif ($l =~ /^cfn=(.*)/) {
            $name->('fn', $1);
        } elsif ($l =~ /^calls=/) {
            $in_call = 1;
        } elsif ($l =~ /^(?:summary|totals):\s*(\d+)/) {
            $total = $1;
        }
    }
    die "callgrind: no totals in $file\n" unless defined $total;
    return { total => $total, self => \%self, incl => \%incl };
}

sub top_fns {
    my ($h, $n, $re) = @_;
    my @k = sort { $h->{$b} <=> $h->{$a} } grep { $_ =~ $re } keys %$h;
    @k = @k[0 .. $n - 1] if @k > $n;
    return [map { my ($o, $f) = split /\t/, $_;
                  { function => $f, object => $o,
                    ir_per_request => floor($h->{$_} + 0.5) } } @k];
}

1;
