#!/usr/bin/env node
// Mock LLM provider for the integration tests: speaks the OpenAI Chat
// Completions dialect (JSON and SSE), records every request it sees.
//
//   node t/mock/provider.js --port N [--host 127.0.0.1]
//
// prints "ready <port>" once listening (--port 0 picks a free port).
//
// Answers are deterministic.  The answer to a chat call is "echo: <text>",
// <text> being the last user message with the controls removed (or
// "MOCK_OK Hello from the mock upstream." when nothing is left).
// prompt_tokens = ceil(bytes of JSON.stringify(messages) / 4),
// completion_tokens = number of words in the answer.
//
// Controls travel inside the last user message, so they pass through the
// gateway untouched:  mock:<name>=<value>
//   mock:delay=MS     ms between SSE events (JSON: before the answer)
//   mock:ttfb=MS      ms before the response headers
//   mock:events=N     content chunks in a stream (default 3)
//   mock:status=CODE  answer with an error of that status
//   mock:words=N      answer with N words ("w1 w2 ...") instead of an echo
//   mock:drop=N       close the connection after N SSE events, no [DONE]
//
// Test endpoints:
//   GET  /__mock/last       the last request (method, path, query,
//                           headers, body parsed, body_bytes, t_start,
//                           t_end in epoch ms; t_end set when answered)
//   GET  /__mock/requests   {"count": N, "requests": [...]} (?full=0
//                           leaves out the bodies)
//   POST /__mock/reset      forget every recorded request
//
// Dialects are a table (DIALECTS below): later issues add Responses and
// Messages by adding an entry with its own JSON and SSE writers.

'use strict';

const http = require('http');
const crypto = require('crypto');
const { URL } = require('url');
const { performance } = require('perf_hooks');

const DEFAULT_ANSWER = 'MOCK_OK Hello from the mock upstream.';
const MAX_RECORDED = 200;

function parseArgs(argv) {
  const opts = { port: 0, host: '127.0.0.1' };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') opts.port = parseInt(argv[++i], 10);
    else if (a === '--host') opts.host = argv[++i];
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: provider.js --port N [--host ADDR]\n');
      process.exit(0);
    } else {
      process.stderr.write(`provider.js: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    process.stderr.write('provider.js: bad --port\n');
    process.exit(2);
  }
  return opts;
}

function nowMs() {
  return performance.timeOrigin + performance.now();
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- request recording ----------------------------------------------------

const recorded = [];

function record(req, url, raw, body) {
  const entry = {
    seq: recorded.length ? recorded[recorded.length - 1].seq + 1 : 1,
    method: req.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: req.headers,
    raw_header_names: req.rawHeaders.filter((_, i) => i % 2 === 0),
    body_bytes: raw.length,
    body: body,
    t_start: req.t_start,
    t_end: null,
    status: null,
  };
  recorded.push(entry);
  if (recorded.length > MAX_RECORDED) recorded.shift();
  return entry;
}

// ---- text helpers -----------------------------------------------------------

// Text of one message's content (string or array of typed parts).
function contentText(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p.text === 'string' ? p.text : ''))
      .filter((s) => s.length)
      .join(' ');
  }
  return '';
}

function lastUserText(messages) {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m && m.role === 'user') return contentText(m.content);
  }
  return '';
}

const CONTROL_RE = /mock:([a-z_]+)=([^\s]+)/g;

function parseControls(text) {
  const ctl = {};
  for (const m of text.matchAll(CONTROL_RE)) ctl[m[1]] = m[2];
  const int = (name, dflt, min, max) => {
    if (ctl[name] === undefined) return dflt;
    const v = parseInt(ctl[name], 10);
    if (!Number.isFinite(v)) return dflt;
    return Math.min(Math.max(v, min), max);
  };
  return {
    delay: int('delay', 0, 0, 600000),
    ttfb: int('ttfb', 0, 0, 600000),
    events: int('events', 3, 1, 10000),
    status: int('status', 0, 0, 599),
    words: int('words', 0, 0, 100000),
    drop: int('drop', -1, 0, 100000),
    text: text.replace(CONTROL_RE, ' ').replace(/\s+/g, ' ').trim(),
  };
}

function answerFor(ctl) {
  if (ctl.words > 0) {
    const w = [];
    for (let i = 1; i <= ctl.words; i++) w.push(`w${i}`);
    return w.join(' ');
  }
  return ctl.text.length ? `echo: ${ctl.text}` : DEFAULT_ANSWER;
}

function countWords(s) {
  const t = s.trim();
  return t.length ? t.split(/\s+/).length : 0;
}

// Split s into n pieces (n >= 1) at word boundaries where possible;
// concatenating the pieces gives s back.
function splitChunks(s, n) {
  const words = s.match(/\S+\s*/g) || [''];
  if (n >= words.length) {
    const out = words.slice();
    while (out.length < n) out.push('');
    return out;
  }
  const out = [];
  const per = words.length / n;
  for (let i = 0; i < n; i++) {
    const from = Math.round(i * per);
    const to = Math.round((i + 1) * per);
    out.push(words.slice(from, to).join(''));
  }
  return out;
}

function mockId(prefix, body) {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify(body));
  h.update(String(recorded.length));
  return prefix + h.digest('hex').slice(0, 24);
}

// ---- HTTP helpers ----------------------------------------------------------

function sendJson(res, status, obj, extra) {
  const data = Buffer.from(JSON.stringify(obj));
  res.writeHead(status, Object.assign({
    'content-type': 'application/json',
    'content-length': data.length,
  }, extra || {}));
  res.end(data);
}

function errorTypeFor(status) {
  if (status === 400) return 'invalid_request_error';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return 'server_error';
}

// ---- dialect: OpenAI Chat Completions -------------------------------------

function chatUsage(body, answer) {
  const prompt = Math.ceil(
    Buffer.byteLength(JSON.stringify(body.messages || [])) / 4);
  const completion = countWords(answer);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0, audio_tokens: 0,
      accepted_prediction_tokens: 0, rejected_prediction_tokens: 0,
    },
  };
}

function chatError(res, status) {
  const extra = status === 429 ? { 'retry-after': '1' } : {};
  sendJson(res, status, {
    error: {
      message: `mock provider error ${status}`,
      type: errorTypeFor(status),
      param: null,
      code: `mock_${status}`,
    },
  }, extra);
}

async function chatJson(res, body, ctl, answer) {
  if (ctl.delay) await sleep(ctl.delay);
  sendJson(res, 200, {
    id: mockId('chatcmpl-mock', body),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [{
      index: 0,
      message: {
        role: 'assistant', content: answer, refusal: null, annotations: [],
      },
      logprobs: null,
      finish_reason: 'stop',
    }],
    usage: chatUsage(body, answer),
    service_tier: 'default',
    system_fingerprint: 'fp_mock',
  });
}

async function chatStream(res, body, ctl, answer) {
  const id = mockId('chatcmpl-mock', body);
  const created = Math.floor(Date.now() / 1000);
  const withUsage = !!(body.stream_options &&
    body.stream_options.include_usage);
  const chunk = (choices, usage) => {
    const c = {
      id, object: 'chat.completion.chunk', created, model: body.model,
      service_tier: 'default', system_fingerprint: 'fp_mock', choices,
    };
    // OpenAI sends "usage": null on every chunk when usage was asked for
    if (withUsage) c.usage = usage || null;
    return c;
  };
  const events = [];
  events.push(chunk([{
    index: 0, delta: { role: 'assistant', content: '', refusal: null },
    logprobs: null, finish_reason: null,
  }]));
  for (const piece of splitChunks(answer, ctl.events)) {
    events.push(chunk([{
      index: 0, delta: { content: piece }, logprobs: null,
      finish_reason: null,
    }]));
  }
  events.push(chunk([{
    index: 0, delta: {}, logprobs: null, finish_reason: 'stop',
  }]));
  if (withUsage) events.push(chunk([], chatUsage(body, answer)));

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  });
  let sent = 0;
  for (const ev of events) {
    if (sent > 0 && ctl.delay) await sleep(ctl.delay);
    if (res.destroyed) return;
    if (ctl.drop >= 0 && sent >= ctl.drop) {
      res.socket.destroy();
      return;
    }
    res.write(`data: ${JSON.stringify(ev)}\n\n`);
    sent++;
  }
  if (ctl.delay) await sleep(ctl.delay);
  if (res.destroyed) return;
  res.end('data: [DONE]\n\n');
}

async function chatHandle(res, body, entry) {
  const ctl = parseControls(lastUserText(body.messages));
  if (ctl.ttfb) await sleep(ctl.ttfb);
  if (ctl.status >= 400) return chatError(res, ctl.status);
  const answer = answerFor(ctl);
  if (body.stream === true) return chatStream(res, body, ctl, answer);
  return chatJson(res, body, ctl, answer);
}

// ---- dispatch ---------------------------------------------------------------

// Each dialect: which POST paths it serves and the handler for a parsed
// JSON body.  Add Responses / Messages here.
const DIALECTS = [
  { name: 'chat', match: (p) => p.endsWith('/chat/completions'),
    handle: chatHandle },
];

function mockEndpoints(req, res, url) {
  if (req.method === 'GET' && url.pathname === '/__mock/last') {
    const last = recorded[recorded.length - 1];
    if (!last) return sendJson(res, 404, { error: 'no request yet' });
    return sendJson(res, 200, last);
  }
  if (req.method === 'GET' && url.pathname === '/__mock/requests') {
    const full = url.searchParams.get('full') !== '0';
    const list = full ? recorded
      : recorded.map((e) => Object.assign({}, e, { body: undefined }));
    return sendJson(res, 200, { count: recorded.length, requests: list });
  }
  if (req.method === 'POST' && url.pathname === '/__mock/reset') {
    recorded.length = 0;
    return sendJson(res, 200, { ok: true });
  }
  return sendJson(res, 404, { error: 'unknown mock endpoint' });
}

async function handle(req, res, raw) {
  const url = new URL(req.url, 'http://mock.invalid');
  if (url.pathname.startsWith('/__mock/')) return mockEndpoints(req, res, url);

  let body = null;
  const text = raw.toString('utf8');
  if (raw.length) {
    try {
      body = JSON.parse(text);
    } catch (e) {
      body = text;
    }
  }
  const entry = record(req, url, raw, body);
  res.on('finish', () => { entry.t_end = nowMs(); });
  res.on('close', () => { if (!entry.t_end) entry.t_end = nowMs(); });
  const origWriteHead = res.writeHead;
  res.writeHead = function (status, ...rest) {
    entry.status = status;
    return origWriteHead.call(this, status, ...rest);
  };

  const dialect = DIALECTS.find((d) => d.match(url.pathname));
  if (!dialect) {
    return sendJson(res, 404, {
      error: { message: `mock: no route for ${req.method} ${url.pathname}`,
        type: 'not_found_error', code: 'unknown_path' },
    });
  }
  if (req.method !== 'POST') {
    return sendJson(res, 405, {
      error: { message: 'mock: method not allowed',
        type: 'invalid_request_error', code: 'method_not_allowed' },
    });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return sendJson(res, 400, {
      error: { message: 'mock: body is not a JSON object',
        type: 'invalid_request_error', code: 'invalid_json' },
    });
  }
  return dialect.handle(res, body, entry);
}

function main() {
  const opts = parseArgs(process.argv);
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    req.t_start = nowMs();
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      handle(req, res, Buffer.concat(parts)).catch((err) => {
        process.stderr.write(`mock: ${err && err.stack}\n`);
        if (!res.headersSent) {
          sendJson(res, 500, { error: { message: 'mock crashed',
            type: 'server_error', code: 'mock_crash' } });
        } else {
          res.destroy();
        }
      });
    });
  });
  server.keepAliveTimeout = 60000;
  server.headersTimeout = 65000;
  server.on('connection', (sock) => sock.setNoDelay(true));
  server.listen(opts.port, opts.host, () => {
    process.stdout.write(`ready ${server.address().port}\n`);
  });
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
