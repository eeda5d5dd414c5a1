# The upstream request line comes from the chosen target (its base path
# and the dialect's endpoint), never from what the caller asked for: the
# caller's query string is not forwarded, while $request_uri and the
# usage record keep the caller's URI.  Targets with different base paths
# and several targets in one group are each reached at their own path.
use strict;
use warnings;
use Test::More;
use Sluice::Test;

start_stack(nginx_server =>
            "        add_header X-Test-Request-Uri \$request_uri always;\n");
my $demo = seed_demo();
my $mock = stack()->{mock_url};

# a provider under another base path, and a group spread over both
admin(POST => '/admin/v1/providers',
      { name => 'deep', base_url => "$mock/deep/api/v1", dialect => 'chat',
        auth_kind => 'bearer', credential => 'sk-deep' });
admin(POST => '/admin/v1/targets',
      { name => 'deep-t', provider => 'deep', model => 'deep-model' });
create_group('deep-only', 'deep-t');
create_group('spread', 'deep-t', 'mock-chat');

my $key = create_key(groups => ['demo-chat', 'deep-only', 'spread',
                                 'demo-messages']);
my %auth = (authorization => "Bearer $key->{token}");

sub call {
    my ($group, $uri) = @_;
    my $r;
    wait_until(sub {
        $r = http('POST', $uri, \%auth,
                  { model => $group,
                    messages => [{ role => 'user', content => 'hi' }] });
        $r->{status} != 403;
    }, 5);
    return $r;
}

for my $round (1, 2) {
    my $uri = "/v1/chat/completions?beta=true&round=$round";
    my $r = call('demo-chat', $uri);
    is($r->{status}, 200, "demo-chat with a query string ($round)")
        or diag($r->{content});
    my $up = mock_last();
    is($up->{path}, '/v1/chat/completions', "upstream path ($round)");
    is_deeply($up->{query} // {}, {}, "no query string upstream ($round)");
    is($up->{body}{model}, 'mock-model-1', "model rewritten ($round)");
    is($r->{headers}{'x-test-request-uri'}, $uri,
       "\$request_uri is the caller's ($round)");
    my $row = wait_usage($r->{headers}{'x-request-id'});
    is($row && $row->{endpoint}, '/v1/chat/completions',
       "usage endpoint is the caller's path ($round)");

    $r = call('deep-only', '/v1/chat/completions');
    is($r->{status}, 200, "deep-only ($round)") or diag($r->{content});
    $up = mock_last();
    is($up->{path}, '/deep/api/v1/chat/completions',
       "the target's base path ($round)");
    is($up->{body}{model}, 'deep-model', "deep model ($round)");
    is($up->{headers}{authorization}, 'Bearer sk-deep',
       "deep credential ($round)");
    is($r->{headers}{'x-test-request-uri'}, '/v1/chat/completions',
       "\$request_uri after a deep target ($round)");
}

# a group of two targets: each request goes to one of them, at its path
my %seen;
for my $i (1 .. 30) {
    my $r = call('spread', '/v1/chat/completions');
    is($r->{status}, 200, "spread $i") or diag($r->{content});
    my $up = mock_last();
    my $want = $up->{body}{model} eq 'deep-model'
        ? '/deep/api/v1/chat/completions' : '/v1/chat/completions';
    is($up->{path}, $want, "spread $i: the path of the model's target");
    $seen{$up->{body}{model}}++;
}
ok($seen{'deep-model'} && $seen{'mock-model-1'},
   'both targets of the group were chosen')
    or diag(explain(\%seen));

# the provider's headers, each once; the caller's of those names never
sub names_once {
    my ($up, @names) = @_;
    my %n;
    $n{lc $_}++ for @{ $up->{raw_header_names} || [] };
    return join ',', map { "$_=" . ($n{$_} // 0) } @names;
}

my $mock_host = $mock =~ s{^https?://}{}r;
for my $round (1, 2) {
    my %caller = (authorization => "Bearer $key->{token}",
                  'x-api-key' => 'caller-x-key', cookie => 'c=1',
                  'anthropic-version' => '2001-01-01',
                  'anthropic-beta' => 'caller-beta',
                  'openai-organization' => 'org-caller');
    my $r = http('POST', '/v1/chat/completions', \%caller,
                 { model => 'deep-only',
                   messages => [{ role => 'user', content => 'hi' }] });
    is($r->{status}, 200, "chat target, caller headers ($round)")
        or diag($r->{content});
    my $up = mock_last();
    my $h = $up->{headers};
    is($h->{authorization}, 'Bearer sk-deep', "bearer credential ($round)");
    is($h->{host}, $mock_host, "the target's Host ($round)");
    is($h->{'content-type'}, 'application/json', "JSON ($round)");
    is(names_once($up, qw(host authorization x-api-key cookie
                          anthropic-version anthropic-beta
                          openai-organization)),
       'host=1,authorization=1,x-api-key=0,cookie=0,anthropic-version=0,'
       . 'anthropic-beta=0,openai-organization=0',
       "chat target: headers sent ($round)");

    $r = http('POST', '/v1/chat/completions', \%caller,
              { model => 'demo-messages',
                messages => [{ role => 'user', content => 'hi' }] });
    is($r->{status}, 200, "messages target from chat ($round)")
        or diag($r->{content});
    $up = mock_last();
    $h = $up->{headers};
    is($h->{'x-api-key'}, $demo->{credential}, "x-api-key credential ($round)");
    is($h->{'anthropic-version'}, '2023-06-01',
       "anthropic-version for a chat caller ($round)");
    is(names_once($up, qw(host authorization x-api-key cookie
                          anthropic-version anthropic-beta)),
       'host=1,authorization=0,x-api-key=1,cookie=0,anthropic-version=1,'
       . 'anthropic-beta=0',
       "messages target: headers sent ($round)");
}

# the group name as the caller wrote it: escaped, empty, with a NUL,
# too long; and the target's model written back in its place
my %json = (authorization => "Bearer $key->{token}",
            'content-type' => 'application/json');
for my $round (1, 2) {
    my $r = http('POST', '/v1/chat/completions', \%json,
                 '{"model":"\u0064emo\u002dchat","messages":'
                 . '[{"role":"user","content":"hi"}]}');
    is($r->{status}, 200, "escaped group name ($round)")
        or diag($r->{content});
    is(mock_last()->{body}{model}, 'mock-model-1',
       "escaped group name: model rewritten ($round)");

    for my $bad (['""', 'empty'], ['"demo\u0000chat"', 'with a NUL'],
                 ['"' . ('g' x 257) . '"', 'too long'])
    {
        $r = http('POST', '/v1/chat/completions', \%json,
                  '{"model":' . $bad->[0] . ',"messages":[]}');
        error_is($r, 400, 'missing-model', "group name $bad->[1] ($round)");
    }
}

# a changed target is what the next requests get (no parsed group kept
# past a table write), on every worker, each request still routed
my ($st, $j) = admin(PATCH => '/admin/v1/targets/deep-t',
                     { model => 'deep-model-2' });
is($st, 200, 'target model changed') or diag(explain($j));
ok(wait_until(sub {
    call('deep-only', '/v1/chat/completions')->{status} == 200
        && mock_last()->{body}{model} eq 'deep-model-2';
}, 5), 'the new model reaches the provider');
for my $i (1 .. 6) {
    my $r = call('deep-only', '/v1/chat/completions');
    is($r->{status}, 200, "after the change $i");
    is(mock_last()->{body}{model}, 'deep-model-2', "new model $i");
}

stop_stack();
done_testing;
