package Bench::Report;

# make bench: the Markdown report and the targets, from the results hash.

use strict;
use warnings;

use JSON::PP ();
use Exporter qw(import);

our @EXPORT = qw(markdown targets);

sub fmt { my ($v, $f) = @_; return defined $v ? sprintf($f, $v) : 'n/a' }

sub markdown {
    my ($R) = @_;
    my @o;
    my $m = $R->{machine};
    push @o, sprintf "### make bench%s (%s)\n",
        $R->{settings}{quick} ? ' QUICK=1' : '',
        $R->{generated_at};
    push @o, sprintf "%d cores (%s), Linux %s, nginx %s, wrk %s, gcc %s; "
        . "Sluice %s.\n", $m->{cores}, $m->{cpu_model}, $R->{versions}{kernel},
        $R->{versions}{nginx}, $R->{versions}{wrk}, $R->{versions}{gcc},
        $R->{versions}{sluice};
    push @o, "$R->{pinning}\n";
    push @o, "**Known issue:** $_\n" for @{ $R->{known_issues} || [] };
    push @o, "| configuration | body | conns | RPS | p50 ms | p99 ms "
        . "| CPU µs/req | faults/req | RSS KB | × nginx RPS "
        . "| +p50 ms vs nginx |";
    push @o, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|";
    for my $r (@{ $R->{configurations} }) {
        my $label = { direct => '1. direct to mock',
                      nginx => '2. plain nginx proxy_pass',
                      sluice => '3. Sluice governed',
                      translate => '4. Sluice translating messages→chat'
                    }->{ $r->{config} };
        push @o, sprintf '| %s | %s %s | %d' . (' | %s' x 8) . ' |',
            $label, $r->{body}, uc $r->{kind}, $r->{connections},
            fmt($r->{rps}, '%d'), fmt($r->{p50_ms}, '%.3f'),
            fmt($r->{p99_ms}, '%.3f'), fmt($r->{cpu_us_per_request}, '%.1f'),
            fmt($r->{faults_per_request}, '%.2f'), fmt($r->{rss_kb}, '%d'), fmt($r->{ratio_to_nginx}, '%.2f'),
            $r->{config} eq 'nginx' ? '' : fmt($r->{added_p50_ms}, '%+.3f');
    }
    push @o, '';
    for my $r (grep { $_->{note} } @{ $R->{configurations} }) {
        push @o, "$r->{name}: $r->{note}.";
    }
    my @off = grep { defined $_->{offpath_cpu_us_per_request} }
        @{ $R->{configurations} };
    if (@off) {
        push @o, '', '| CPU µs per Sluice request, by process | nginx '
            . 'worker | Redis | controld | PostgreSQL | usage pipeline '
            . '(Redis + controld + PostgreSQL) |', '|---|--:|--:|--:|--:|--:|';
        push @o, map { sprintf '| %s | %s | %s | %s | %s | %s |', $_->{name},
                       fmt($_->{cpu_us_per_request}, '%.1f'),
                       fmt($_->{redis_cpu_us_per_request}, '%.1f'),
                       fmt($_->{controld_cpu_us_per_request}, '%.1f'),
                       fmt($_->{pg_cpu_us_per_request}, '%.1f'),
                       fmt($_->{offpath_cpu_us_per_request}, '%.1f') } @off;
        push @o, '';
    }
    push @o, "CPU µs/req: utime+stime of that configuration's nginx "
        . "worker(s) (for 1. the mock's) over the load / requests. "
        . "faults/req: their minor page faults / requests. RSS: "
        . "VmHWM of the workers.";
    if (my $cg = $R->{callgrind}) {
        push @o, '', '| callgrind, Ir per request | plain nginx | Sluice '
            . '| ratio |', '|---|--:|--:|--:|';
        my %label = (json => '1KB JSON', sse => '1KB SSE',
                     big => '76KB JSON',
                     xsse => '1KB SSE, 4. translating messages→chat');
        for my $k (grep { $cg->{$_} } qw(json sse big xsse)) {
            push @o, sprintf "| %s | %d | %d | %.2f× |", $label{$k},
                $cg->{$k}{nginx_ir_per_request},
                $cg->{$k}{sluice_ir_per_request}, $cg->{$k}{ratio};
        }
        if (my $j = $cg->{json}) {
            my $objs = sub {
                my $h = shift;
                return join ', ', map { "$_ $h->{$_}" }
                    sort { $h->{$b} <=> $h->{$a} }
                    grep { $h->{$_} >= 100 } keys %$h;
            };
            push @o, '', 'Where a 1KB JSON request\'s instructions go (self '
                . 'Ir/request by object). Sluice: '
                . $objs->($j->{sluice_by_object}) . '. Plain nginx: '
                . $objs->($j->{nginx_by_object}) . '.';
            my $fns = sub {
                my ($list, $n) = @_;
                my @l = grep { defined } @{$list}[0 .. $n - 1];
                return join ', ', map { "`$_->{function}` "
                    . ($_->{object} =~ /sluice/ ? '' : "($_->{object}) ")
                    . $_->{ir_per_request} } @l;
            };
            push @o, '', 'Sluice module functions, inclusive Ir/request: '
                . $fns->($j->{sluice_module_top_inclusive}, 10) . '.';
            push @o, '', 'Hottest functions in the Sluice worker, self '
                . 'Ir/request: ' . $fns->($j->{sluice_top_self_all}, 12)
                . '.';
            for my $k (grep { $cg->{$_} } qw(sse big xsse)) {
                push @o, '', $label{$k} . ', hottest self Ir/request: '
                    . $fns->($cg->{$k}{sluice_top_self_all}, 6) . '.';
            }
            if (my $x = $cg->{xsse}) {
                push @o, '', $label{xsse} . ', Sluice module functions, '
                    . 'inclusive Ir/request: '
                    . $fns->($x->{sluice_module_top_inclusive}, 10) . '.';
            }
        }
    }
    if (my $t = $R->{ttfe}) {
        push @o, '', '| first SSE event | direct | plain nginx | Sluice '
            . '| Sluice translating |', '|---|--:|--:|--:|--:|';
        push @o, sprintf '| fast mock, p50 / p99 ms (%d requests) '
            . '| %s | %s | %s | %s |',
            $t->{fast}{sluice}{n},
            map { fmt($t->{fast}{$_}{first_event_p50_ms}, '%.3f') . ' / '
                  . fmt($t->{fast}{$_}{first_event_p99_ms}, '%.3f') }
            qw(direct nginx sluice translate);
        push @o, sprintf "| node mock, 5 events 50 ms apart: first / last "
            . "event p50 ms | %s | %s | %s | |",
            map { fmt($t->{delayed}{$_}{first_event_p50_ms}, '%.2f') . ' / '
                  . fmt($t->{delayed}{$_}{last_event_p50_ms}, '%.1f') }
            qw(direct nginx sluice);
    }
    if (my $s = $R->{scale}) {
        push @o, '', sprintf('| %d keys vs %d keys | small table '
                             . '| big table |',
                             $s->{keys_total}, $s->{small_keys}),
            '|---|--:|--:|';
        push @o, sprintf '| c1 JSON, random key: p50 / mean ms '
            . '| %s / %s | %s / %s |',
            map { fmt($_->{p50_ms}, '%.3f'), fmt($_->{mean_ms}, '%.3f') }
            $s->{load_small}, $s->{load_big};
        push @o, sprintf "| callgrind Ir/request (one key) | %s | %s |",
            fmt($s->{ir_small}, '%d'), fmt($s->{ir_big}, '%d');
        push @o, sprintf "| worker VmRSS / RssAnon / RssFile KB after the load "
            . "| %d / %d / %d | %d / %d / %d |",
            map { my $m = $_; map { $m->{$_} // 0 } qw(VmRSS RssAnon RssFile) }
            $s->{mem_small_after_load}, $s->{mem_big_after_load};
        push @o, sprintf '| revocation visible, s (admin call → 403) '
            . '| %s | %s |',
            map { join(' ', map { fmt($_->{seconds}, '%.3f') } @$_) }
            $s->{revoke_small}, $s->{revoke_big};
        push @o, '', sprintf "Inserting %d keys took %.1f s in PostgreSQL; "
            . "the gateway accepted the last one %.1f s later, the table "
            . "held all of them after %.1f s (%.0f MB, %d bytes per key).",
            $s->{keys_total} - $s->{small_keys}, $s->{insert_s},
            $s->{sync_first_s} // 0, $s->{sync_s},
            ($s->{table_bytes} // 0) / 1048576,
            ($s->{table_bytes} // 0) / $s->{keys_total};
        if (my $ts = $s->{table_stat}) {
            push @o, '', sprintf "Of the file, the live B-tree takes %.1f MB "
                . "(%d leaf and %d branch pages of %d bytes, %.0f bytes "
                . "per entry); %d pages are free (left by earlier write "
                . "transactions, reused by later ones). A worker maps only "
                . "the pages its lookups touch: with a random key per "
                . "request, the whole live tree.",
                $ts->{live_bytes} / 1048576, $ts->{leaf_pages},
                $ts->{branch_pages}, $ts->{page_size},
                $ts->{live_bytes_per_entry} // 0, $ts->{free_pages};
        }
    } elsif ($R->{scale_skipped}) {
        push @o, '', $R->{scale_skipped};
    }
    if (my $t = $R->{targets}) {
        push @o, '', '| target | goal | measured | |', '|---|---|---|---|';
        push @o, map { "| $_->{what} | $_->{goal} | $_->{measured} | "
                       . ($_->{met} ? 'met' : defined $_->{met} ? '**missed**'
                                                                 : 'n/a')
                       . ' |' } @$t;
    }
    my $sh = $R->{sharing};
    push @o, '', sprintf "Machine sharing during the run: load average %.2f "
        . "at start, %.2f at end; processes outside the bench used about "
        . "%.0f%% of one core on average (the busiest long-lived ones: "
        . "%s); steal %.1f%%.",
        $m->{loadavg_start}, $m->{loadavg_end}, $sh->{foreign_cpu_pct} // 0,
        $sh->{top_foreign} || 'none', $sh->{steal_pct} // 0;
    push @o, "Note: $_" for @{ $R->{notes} };
    return join("\n", @o) . "\n";
}

sub targets {
    my ($R) = @_;
    my @t;
    my %row = map { ($_->{name} => $_) } @{ $R->{configurations} };
    my $tg = sub {
        my ($what, $goal, $measured, $met) = @_;
        push @t, { what => $what, goal => $goal, measured => $measured,
                   met => $met ? JSON::PP::true
                        : defined $met ? JSON::PP::false : undef };
    };
    for my $k (qw(json sse)) {
        my $r = $row{"sluice $k c$R->{settings}{conns_high}"} or next;
        $tg->('governed passthrough RPS, 1KB ' . uc($k)
              . " c$R->{settings}{conns_high}",
              '≥ 0.85× nginx', sprintf('%.2f×', $r->{ratio_to_nginx}),
              $r->{ratio_to_nginx} >= 0.85);
    }
    for my $k (qw(json sse)) {
        my $r = $row{"sluice $k c1"} or next;
        $tg->("added latency, 1KB " . uc($k) . " c1 (p50)", '≤ +0.03 ms',
              sprintf('%+.3f ms (mean %+.3f)', $r->{added_p50_ms},
                      $r->{added_mean_ms}),
              $r->{added_p50_ms} <= 0.03);
    }
    if (my $cg = $R->{callgrind}) {
        $tg->('callgrind Ir per 1KB JSON request', '≤ 1.5× nginx',
              sprintf('%.2f× (%d vs %d)', $cg->{json}{ratio},
                      $cg->{json}{sluice_ir_per_request},
                      $cg->{json}{nginx_ir_per_request}),
              $cg->{json}{ratio} <= 1.5) if $cg->{json};
    }
    if (my $r = $row{'sluice 76KB c1'}) {
        $tg->('76 KB body, c1 (p50)', '≤ +0.2 ms over nginx',
              sprintf('%+.3f ms (mean %+.3f)', $r->{added_p50_ms},
                      $r->{added_mean_ms}), $r->{added_p50_ms} <= 0.2);
    } else {
        $tg->('76 KB body, c1', '≤ +0.2 ms over nginx', 'skipped', undef);
    }
    if (my $r = $row{"translate SSE c$R->{settings}{conns_high}"}) {
        $tg->('cross-dialect stream RPS, messages→chat c'
              . $R->{settings}{conns_high}, '≥ 0.6× nginx',
              sprintf('%.2f×', $r->{ratio_to_nginx} // 0),
              ($r->{ratio_to_nginx} // 0) >= 0.6);
    }
    if (my $f = $R->{ttfe} && $R->{ttfe}{fast}) {
        if ($f->{translate} && $f->{nginx}) {
            my $d = $f->{translate}{first_event_p50_ms}
                  - $f->{nginx}{first_event_p50_ms};
            $tg->('cross-dialect stream, first event (p50)',
                  '< +0.1 ms over nginx', sprintf('%+.3f ms', $d),
                  $d < 0.1);
        }
    }
    if (my $s = $R->{scale}) {
        # the worker's own memory is its private (anonymous) pages; the
        # table's pages are file-backed, shared by every worker and
        # evictable: reported beside it, not counted against it
        my $g = $s->{rss_growth};
        $tg->("$s->{keys_total} keys: worker private memory growth "
              . '(RssAnon; the shared table pages apart)', '≤ 10 MB',
              sprintf('RssAnon %+.1f MB; apart: RssFile %+.1f MB of shared '
                      . 'LMDB pages (VmRSS %+.1f MB)',
                      $g->{RssAnon_kb} / 1024, $g->{RssFile_kb} / 1024,
                      $g->{VmRSS_kb} / 1024),
              $g->{RssAnon_kb} <= 10240);
        my @v = grep { defined } map { $_->{seconds} } @{ $s->{revoke_big} };
        my $max = @v ? (sort { $b <=> $a } @v)[0] : undef;
        $tg->("$s->{keys_total} keys: revocation visible", '≤ 1 s',
              defined $max ? sprintf('%.3f s (worst of %d)', $max, scalar @v)
                           : 'never',
              defined $max && @v == @{ $s->{revoke_big} } && $max <= 1);
    }
    $R->{targets} = \@t;
}

1;
