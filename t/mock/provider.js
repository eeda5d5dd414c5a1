#!/usr/bin/env node
// Mock LLM provider for the integration tests: speaks three dialects,
// JSON and SSE each, and records every request it sees.
//
//   node t/mock/provider.js --port N [--host 127.0.0.1]
//
// prints "ready <port>" once listening (--port 0 picks a free port).
//
// Routes (any path prefix; the query string is ignored):
//   POST .../chat/completions         OpenAI Chat Completions
//   POST .../responses                OpenAI Responses
//   POST .../messages                 Anthropic Messages (?beta=true too)
//   POST .../messages/count_tokens    Anthropic token count
//
// Answers are deterministic.  The answer to a call is "echo: <text>",
// <text> being the last user message with the controls (and Claude
// Code's <system-reminder> blocks) removed, or "MOCK_OK Hello from the
// mock upstream." when nothing is left.  Then, in this order:
//   - the last turn is a tool result (chat: a "tool" message; responses:
//     a function_call_output item; messages: a user message with
//     tool_result blocks): the answer is "tool result: <its text>" (first
//     200 characters);
//   - the request offers tools (chat and responses: "function" tools;
//     messages: tools with an input_schema; other kinds such as custom,
//     namespace or web_search are never called) and tool_choice is not
//     "none": the answer is ONE call, no text.  The tool is the one
//     tool_choice forces, else mock:tool=NAME, else the first shell-like
//     tool (a string property "command" or "cmd"), else the first one.
//     Arguments come from its schema: command/cmd "echo MOCK_TOOL_OK",
//     every other required property "mock" (string), 1 (number), false,
//     [], {} (object: its own required properties), or its first enum
//     value.  chat: tool_calls + finish_reason "tool_calls"; responses: a
//     function_call item; messages: a tool_use block, stop_reason
//     "tool_use".
// A text answer gets " [images: N]" appended when the request carried N
// > 0 images (chat image_url parts, responses input_image parts,
// messages image blocks, anywhere in the conversation).
//
// Usage: input = ceil(bytes of JSON.stringify(messages) / 4) (responses:
// of the input), output = number of words in the answer text (for a
// call: in its arguments JSON; with mock:thinking, plus the thinking
// words).  chat: prompt/completion_tokens; responses: input/output_
// tokens, cached_tokens in input_tokens_details; messages: input_tokens
// counts the tokens not read from the cache, cache_read_input_tokens the
// others (both add up to the same input).
//
// Controls travel inside the last user message (with text), so they pass
// through the gateway untouched:  mock:<name>=<value>
//   mock:delay=MS     ms between SSE events (JSON: before the answer)
//   mock:ttfb=MS      ms before the response headers
//   mock:events=N     content chunks in a stream (default 3): text
//                     deltas, or argument deltas of a call
//   mock:status=CODE  answer with an error of that status, in the
//                     dialect's envelope (429 with retry-after: 1)
//   mock:words=N      answer with N words ("w1 w2 ...") instead of an echo
//   mock:drop=N       close the connection after N SSE events (every
//                     frame counts, Anthropic's ping too; 0: before the
//                     headers), no [DONE]
//   mock:silent=MS    in a stream, send nothing for MS ms after the first
//                     content event (text or argument delta), then go on
//   mock:linger=MS    in a stream, keep the answer open MS ms after the
//                     last event (a provider slow to end its response)
//   mock:tool=NAME    call this offered tool
//   mock:cached=N     report N of the input tokens as read from the cache
//   mock:notools      never call a tool (answer with text)
//   mock:thinking     messages: a thinking block (with signature) first
//   mock:burst        a stream's frames leave in one write (one read at
//                     the gateway), not one write each
//   mock:close_once=ID  the first request carrying this ID gets its
//                     connection closed with no answer (a provider that
//                     dropped a pooled connection); later ones are served
//
// Streams: chat sends chat.completion.chunk objects and "data: [DONE]";
// responses sends response.created, response.in_progress, then per item
// output_item.added, (content_part.added, output_text.delta...,
// output_text.done, content_part.done | function_call_arguments.delta...,
// function_call_arguments.done), output_item.done, and response.completed
// with the whole response and its usage, each frame with "event:" and an
// increasing sequence_number; messages sends message_start (input
// usage), ping, per block content_block_start, deltas (text_delta,
// input_json_delta, thinking_delta, signature_delta), content_block_stop,
// then message_delta (stop_reason, usage.output_tokens) and message_stop.
//
// Test endpoints:
//   GET  /__mock/last       the last request (method, path, query,
//                           headers, body parsed, body_bytes, t_start,
//                           t_end in epoch ms; t_end set when answered)
//   GET  /__mock/requests   {"count": N, "requests": [...]} (?full=0
//                           leaves out the bodies)
//   POST /__mock/reset      forget every recorded request
//
// Dialects are a table (DIALECTS below): each reads a request into the
// same view (controls, last turn, tools, images, input size), one plan
// decides the answer, and each dialect writes it as JSON or SSE.

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

// Claude Code puts these into user messages; they never count as the
// user's text (nor hide controls).
const REMINDER_RE = /<system-reminder>[\s\S]*?<\/system-reminder>/g;

function stripReminders(s) {
  return s.replace(REMINDER_RE, ' ');
}

function hasText(s) {
  return typeof s === 'string' && stripReminders(s).trim().length > 0;
}

function isObj(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

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

// Whether a user message's content holds anything but reminders (text,
// an image...); tool results do not count.
function hasInput(content) {
  if (typeof content === 'string') return hasText(content);
  if (!Array.isArray(content)) return false;
  return content.some((p) => isObj(p) && (typeof p.text === 'string'
    ? hasText(p.text) : p.type !== 'tool_result'));
}

function lastUserText(messages) {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m && m.role === 'user') return contentText(m.content);
  }
  return '';
}

// The text of the last user item that has some (a message holding only
// tool results or reminders is skipped).
function lastUserTextWith(items, isUser) {
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i];
    if (!isObj(it) || !isUser(it)) continue;
    const t = contentText(it.content);
    if (hasText(t)) return t;
  }
  return '';
}

// Counts the entries of the given types in a list of messages (or
// items), looking into their content and tool outputs, nested too.
function countParts(list, types) {
  let n = 0;
  const walk = (v, depth) => {
    if (depth > 6 || !Array.isArray(v)) return;
    for (const p of v) {
      if (!isObj(p)) continue;
      if (types.includes(p.type)) n++;
      walk(p.content, depth + 1);
      walk(p.output, depth + 1);
    }
  };
  walk(list, 0);
  return n;
}

const CONTROL_RE = /mock:([a-z_]+)=([^\s]+)/g;
const FLAG_RE = /mock:(notools|thinking|burst)(?![=\w])/g;

function parseControls(text) {
  text = stripReminders(text);
  const ctl = {};
  for (const m of text.matchAll(CONTROL_RE)) ctl[m[1]] = m[2];
  for (const m of text.matchAll(FLAG_RE)) ctl[m[1]] = '1';
  const int = (name, dflt, min, max) => {
    if (ctl[name] === undefined) return dflt;
    const v = parseInt(ctl[name], 10);
    if (!Number.isFinite(v)) return dflt;
    return Math.min(Math.max(v, min), max);
  };
  const flag = (name) => ctl[name] !== undefined && ctl[name] !== '0';
  return {
    delay: int('delay', 0, 0, 600000),
    ttfb: int('ttfb', 0, 0, 600000),
    events: int('events', 3, 1, 10000),
    status: int('status', 0, 0, 599),
    words: int('words', 0, 0, 100000),
    drop: int('drop', -1, 0, 100000),
    silent: int('silent', 0, 0, 600000),
    linger: int('linger', 0, 0, 600000),
    cached: int('cached', 0, 0, 1000000000),
    tool: ctl.tool,
    closeOnce: ctl.close_once,
    notools: flag('notools'),
    thinking: flag('thinking'),
    burst: flag('burst'),
    text: text.replace(CONTROL_RE, ' ').replace(FLAG_RE, ' ')
      .replace(/\s+/g, ' ').trim(),
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

// Split s into min(n, its length) non-empty pieces of about the same
// length (by code point); concatenating them gives s back.
function splitEven(s, n) {
  const cps = Array.from(s);
  const k = Math.max(1, Math.min(n, cps.length));
  const out = [];
  for (let i = 0; i < k; i++) {
    const from = Math.round((i * cps.length) / k);
    const to = Math.round(((i + 1) * cps.length) / k);
    out.push(cps.slice(from, to).join(''));
  }
  return out;
}

function mockId(prefix, body) {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify(body));
  h.update(String(recorded.length));
  return prefix + h.digest('hex').slice(0, 24);
}

// The ids of one answer: id(prefix) gives a different one per prefix,
// the same for the same prefix.
function idMaker(body) {
  const base = mockId('', body);
  return (prefix) => prefix + crypto.createHash('sha256')
    .update(base).update(prefix).digest('hex').slice(0, 24);
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

function openaiError(res, status) {
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

// one SSE frame's text
function frameText(f) {
  return (f.event ? `event: ${f.event}\n` : '')
    + `data: ${JSON.stringify(f.data)}\n\n`;
}

// SSE frames [{event, data, content}] with the stream controls (delay,
// drop, silent); tail (chat's "data: [DONE]") follows the last frame.
async function writeSse(res, frames, ctl, tail) {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  });
  if (ctl.burst) {
    const all = frames.map(frameText).join('') + (tail ?? '');
    res.write(all);
    if (ctl.linger) await sleep(ctl.linger);
    if (!res.destroyed) res.end();
    return;
  }
  let sent = 0;
  let silenced = false;
  let flushed = Promise.resolve();
  for (const f of frames) {
    if (sent > 0 && ctl.delay) await sleep(ctl.delay);
    if (res.destroyed) return;
    if (ctl.drop >= 0 && sent >= ctl.drop) {
      // what was written reaches the client first, then the cut
      await flushed;
      if (res.socket) res.socket.destroy();
      return;
    }
    flushed = new Promise((resolve) => {
      res.write(frameText(f), resolve);
    });
    sent++;
    if (f.content && ctl.silent && !silenced) {
      silenced = true;
      await sleep(ctl.silent);
    }
  }
  if (tail !== undefined) {
    if (ctl.delay) await sleep(ctl.delay);
    if (res.destroyed) return;
    res.write(tail);
  }
  if (ctl.linger) await sleep(ctl.linger);
  if (!res.destroyed) res.end();
}

// ---- tools and the answer plan ---------------------------------------------

const SHELL_PROPS = ['command', 'cmd'];
const SHELL_COMMAND = 'echo MOCK_TOOL_OK';
const THINKING = 'The user wants a reply; answering from the mock.';

function setKey(obj, k, v) {
  Object.defineProperty(obj, k, {
    value: v, enumerable: true, writable: true, configurable: true,
  });
}

function schemaType(p) {
  if (Array.isArray(p.type)) return p.type.find((t) => t !== 'null') || 'null';
  return p.type;
}

// The name of a tool schema's shell command property, if it has one.
function shellProp(schema) {
  if (!isObj(schema) || !isObj(schema.properties)) return undefined;
  const props = schema.properties;
  return SHELL_PROPS.find((k) => Object.prototype.hasOwnProperty.call(
    props, k) && isObj(props[k]) && schemaType(props[k]) === 'string');
}

function valueFor(p, name, depth) {
  if (!isObj(p)) return 'mock';
  if (Array.isArray(p.enum) && p.enum.length) return p.enum[0];
  if (p.const !== undefined) return p.const;
  switch (schemaType(p)) {
    case 'string': return SHELL_PROPS.includes(name) ? SHELL_COMMAND : 'mock';
    case 'integer':
    case 'number': return 1;
    case 'boolean': return false;
    case 'array': return [];
    case 'object': return depth < 8 ? argsFor(p, depth + 1) : {};
    case 'null': return null;
    default: {
      const alt = [p.anyOf, p.oneOf, p.allOf].find(
        (a) => Array.isArray(a) && a.length);
      return alt && depth < 8 ? valueFor(alt[0], name, depth + 1) : 'mock';
    }
  }
}

// Deterministic arguments from a JSON schema: the shell command, then
// every required property.
function argsFor(schema, depth) {
  const out = {};
  if (!isObj(schema)) return out;
  const props = isObj(schema.properties) ? schema.properties : {};
  const shell = shellProp(schema);
  if (shell) setKey(out, shell, SHELL_COMMAND);
  const req = Array.isArray(schema.required) ? schema.required : [];
  for (const name of req) {
    if (typeof name !== 'string') continue;
    if (Object.prototype.hasOwnProperty.call(out, name)) continue;
    const p = Object.prototype.hasOwnProperty.call(props, name)
      ? props[name] : undefined;
    setKey(out, name, valueFor(p, name, depth));
  }
  return out;
}

function pickTool(view, ctl) {
  const tools = view.tools;
  if (!tools.length || ctl.notools || view.toolChoice === 'none') return null;
  const byName = (n) => (n ? tools.find((t) => t.name === n) : undefined);
  return byName(view.toolChoice) || byName(ctl.tool)
    || tools.find((t) => shellProp(t.schema)) || tools[0];
}

// What to answer, the same in every dialect: {text, call: {name,
// arguments}, thinking, outputTokens}.
function plan(view, ctl) {
  const p = { text: null, call: null, thinking: null };
  if (view.last.kind === 'tool') {
    p.text = 'tool result: '
      + Array.from(view.last.text).slice(0, 200).join('');
  } else {
    const tool = pickTool(view, ctl);
    if (tool) {
      p.call = {
        name: tool.name, arguments: JSON.stringify(argsFor(tool.schema, 0)),
      };
    } else {
      p.text = answerFor(ctl);
    }
  }
  if (p.text !== null && view.images > 0) {
    p.text += ` [images: ${view.images}]`;
  }
  if (ctl.thinking && view.canThink) p.thinking = THINKING;
  p.outputTokens = countWords(p.text || '')
    + (p.call ? countWords(p.call.arguments) : 0)
    + (p.thinking ? countWords(p.thinking) : 0);
  return p;
}

function inputTokens(v) {
  return Math.ceil(Buffer.byteLength(JSON.stringify(v)) / 4);
}

// ---- dialect: OpenAI Chat Completions -------------------------------------

function chatView(body) {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  let last = { kind: 'user' };
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (!isObj(m)) continue;
    if (m.role === 'tool') {
      last = { kind: 'tool', text: contentText(m.content) };
      break;
    }
    if (m.role === 'user' && hasInput(m.content)) break;
  }
  const tc = body.tool_choice;
  let toolChoice = null;
  if (tc === 'none') toolChoice = 'none';
  else if (isObj(tc) && isObj(tc.function)) toolChoice = tc.function.name;
  return {
    ctlText: lastUserText(msgs),
    last,
    tools: (Array.isArray(body.tools) ? body.tools : [])
      .filter((t) => isObj(t) && t.type === 'function' && isObj(t.function)
        && typeof t.function.name === 'string')
      .map((t) => ({ name: t.function.name, schema: t.function.parameters })),
    toolChoice,
    images: countParts(msgs, ['image_url']),
    inputTokens: inputTokens(body.messages || []),
  };
}

function chatUsage(view, p, ctl) {
  const prompt = view.inputTokens;
  const completion = p.outputTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: {
      cached_tokens: Math.min(ctl.cached, prompt), audio_tokens: 0,
    },
    completion_tokens_details: {
      reasoning_tokens: 0, audio_tokens: 0,
      accepted_prediction_tokens: 0, rejected_prediction_tokens: 0,
    },
  };
}

function chatJson(body, view, ctl, p, id) {
  const message = {
    role: 'assistant', content: p.text, refusal: null, annotations: [],
  };
  if (p.call) {
    message.tool_calls = [{
      id: id('call_mock_'), type: 'function',
      function: { name: p.call.name, arguments: p.call.arguments },
    }];
  }
  return {
    id: mockId('chatcmpl-mock', body),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [{
      index: 0,
      message,
      logprobs: null,
      finish_reason: p.call ? 'tool_calls' : 'stop',
    }],
    usage: chatUsage(view, p, ctl),
    service_tier: 'default',
    system_fingerprint: 'fp_mock',
  };
}

function chatFrames(body, view, ctl, p, id) {
  const cid = mockId('chatcmpl-mock', body);
  const created = Math.floor(Date.now() / 1000);
  const withUsage = !!(body.stream_options &&
    body.stream_options.include_usage);
  const chunk = (choices, usage) => {
    const c = {
      id: cid, object: 'chat.completion.chunk', created, model: body.model,
      service_tier: 'default', system_fingerprint: 'fp_mock', choices,
    };
    // OpenAI sends "usage": null on every chunk when usage was asked for
    if (withUsage) c.usage = usage || null;
    return { data: c };
  };
  const delta = (d) => [{
    index: 0, delta: d, logprobs: null, finish_reason: null,
  }];
  const frames = [];
  if (p.call) {
    frames.push(chunk(delta({
      role: 'assistant', content: null, refusal: null,
      tool_calls: [{
        index: 0, id: id('call_mock_'), type: 'function',
        function: { name: p.call.name, arguments: '' },
      }],
    })));
    for (const piece of splitEven(p.call.arguments, ctl.events)) {
      const f = chunk(delta({
        tool_calls: [{ index: 0, function: { arguments: piece } }],
      }));
      f.content = true;
      frames.push(f);
    }
  } else {
    frames.push(chunk(delta(
      { role: 'assistant', content: '', refusal: null })));
    for (const piece of splitChunks(p.text, ctl.events)) {
      const f = chunk(delta({ content: piece }));
      f.content = true;
      frames.push(f);
    }
  }
  frames.push(chunk([{
    index: 0, delta: {}, logprobs: null,
    finish_reason: p.call ? 'tool_calls' : 'stop',
  }]));
  if (withUsage) frames.push(chunk([], chatUsage(view, p, ctl)));
  return frames;
}

// ---- dialect: OpenAI Responses --------------------------------------------

function isUserItem(it) {
  return it.role === 'user' && (it.type === undefined || it.type === 'message');
}

function itemOutputText(output) {
  if (typeof output === 'string') return output;
  return contentText(output);
}

function responsesView(body) {
  const input = body.input;
  const items = typeof input === 'string' ? [{ role: 'user', content: input }]
    : Array.isArray(input) ? input : [];
  let last = { kind: 'user' };
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i];
    if (!isObj(it)) continue;
    if (it.type === 'function_call_output'
        || it.type === 'custom_tool_call_output') {
      last = { kind: 'tool', text: itemOutputText(it.output) };
      break;
    }
    if (isUserItem(it) && hasInput(it.content)) break;
  }
  const tc = body.tool_choice;
  let toolChoice = null;
  if (tc === 'none') toolChoice = 'none';
  else if (isObj(tc) && tc.type === 'function') toolChoice = tc.name;
  return {
    ctlText: lastUserTextWith(items, isUserItem),
    last,
    tools: (Array.isArray(body.tools) ? body.tools : [])
      .filter((t) => isObj(t) && t.type === 'function'
        && typeof t.name === 'string')
      .map((t) => ({ name: t.name, schema: t.parameters })),
    toolChoice,
    images: countParts(items, ['input_image']),
    inputTokens: inputTokens(input === undefined ? '' : input),
  };
}

function responsesUsage(view, p, ctl) {
  const inp = view.inputTokens;
  const out = p.outputTokens;
  return {
    input_tokens: inp,
    input_tokens_details: { cached_tokens: Math.min(ctl.cached, inp) },
    output_tokens: out,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inp + out,
  };
}

function outputText(text) {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

// The one output item of an answer, in progress or done.
function responsesItem(p, id, done) {
  if (p.call) {
    return {
      type: 'function_call', id: id('fc_mock_'), call_id: id('call_mock_'),
      name: p.call.name, arguments: done ? p.call.arguments : '',
      status: done ? 'completed' : 'in_progress',
    };
  }
  return {
    type: 'message', id: id('msg_mock_'),
    status: done ? 'completed' : 'in_progress', role: 'assistant',
    content: done ? [outputText(p.text)] : [],
  };
}

function responsesObject(body, id, created, status, output, usage) {
  const r = {
    id: id('resp_mock_'),
    object: 'response',
    created_at: created,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions === undefined ? null : body.instructions,
    max_output_tokens: body.max_output_tokens === undefined ? null
      : body.max_output_tokens,
    metadata: isObj(body.metadata) ? body.metadata : {},
    model: body.model,
    output,
    parallel_tool_calls: body.parallel_tool_calls === undefined ? true
      : body.parallel_tool_calls,
    previous_response_id: body.previous_response_id === undefined ? null
      : body.previous_response_id,
    prompt_cache_key: body.prompt_cache_key === undefined ? null
      : body.prompt_cache_key,
    reasoning: isObj(body.reasoning) ? body.reasoning
      : { effort: null, summary: null },
    service_tier: 'default',
    store: body.store === undefined ? true : body.store,
    temperature: body.temperature === undefined ? 1 : body.temperature,
    text: Object.assign({ format: { type: 'text' } },
      isObj(body.text) ? body.text : {}),
    tool_choice: body.tool_choice === undefined ? 'auto' : body.tool_choice,
    tools: Array.isArray(body.tools) ? body.tools : [],
    top_p: body.top_p === undefined ? 1 : body.top_p,
    truncation: body.truncation === undefined ? 'disabled' : body.truncation,
    usage,
    user: body.user === undefined ? null : body.user,
  };
  if (status === 'completed') r.completed_at = Math.floor(Date.now() / 1000);
  return r;
}

function responsesJson(body, view, ctl, p, id) {
  return responsesObject(body, id, Math.floor(Date.now() / 1000),
    'completed', [responsesItem(p, id, true)], responsesUsage(view, p, ctl));
}

function responsesFrames(body, view, ctl, p, id) {
  const created = Math.floor(Date.now() / 1000);
  const frames = [];
  let seq = 0;
  const ev = (type, fields, content) => {
    frames.push({
      event: type,
      data: Object.assign({ type, sequence_number: seq++ }, fields),
      content: !!content,
    });
  };
  const pending = () => responsesObject(body, id, created, 'in_progress',
    [], null);
  ev('response.created', { response: pending() });
  ev('response.in_progress', { response: pending() });
  const item = responsesItem(p, id, false);
  const at = { item_id: item.id, output_index: 0 };
  ev('response.output_item.added', { output_index: 0, item });
  if (p.call) {
    for (const piece of splitEven(p.call.arguments, ctl.events)) {
      ev('response.function_call_arguments.delta',
        Object.assign({}, at, { delta: piece }), true);
    }
    ev('response.function_call_arguments.done', Object.assign({}, at,
      { name: p.call.name, arguments: p.call.arguments }));
  } else {
    const part = Object.assign({}, at, { content_index: 0 });
    ev('response.content_part.added',
      Object.assign({}, part, { part: outputText('') }));
    for (const piece of splitChunks(p.text, ctl.events)) {
      ev('response.output_text.delta',
        Object.assign({}, part, { delta: piece, logprobs: [] }), true);
    }
    ev('response.output_text.done',
      Object.assign({}, part, { text: p.text, logprobs: [] }));
    ev('response.content_part.done',
      Object.assign({}, part, { part: outputText(p.text) }));
  }
  const done = responsesItem(p, id, true);
  ev('response.output_item.done', { output_index: 0, item: done });
  ev('response.completed', {
    response: responsesObject(body, id, created, 'completed', [done],
      responsesUsage(view, p, ctl)),
  });
  return frames;
}

// ---- dialect: Anthropic Messages ------------------------------------------

function anthropicErrorType(status) {
  if (status === 400) return 'invalid_request_error';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return 'overloaded_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

function anthropicError(res, status, message) {
  const extra = status === 429 ? { 'retry-after': '1' } : {};
  sendJson(res, status, {
    type: 'error',
    error: {
      type: anthropicErrorType(status),
      message: message || `mock provider error ${status}`,
    },
  }, extra);
}

function toolResultText(block) {
  return contentText(block.content);
}

function messagesView(body) {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  const isUser = (m) => m.role === 'user';
  let last = { kind: 'user' };
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (!isObj(m) || m.role !== 'user') continue;
    const results = Array.isArray(m.content) ? m.content.filter(
      (b) => isObj(b) && b.type === 'tool_result') : [];
    if (results.length) {
      last = {
        kind: 'tool',
        text: results.map(toolResultText).filter((s) => s.length).join(' '),
      };
      break;
    }
    if (hasInput(m.content)) break;
  }
  const tc = body.tool_choice;
  let toolChoice = null;
  if (isObj(tc) && tc.type === 'none') toolChoice = 'none';
  else if (isObj(tc) && tc.type === 'tool') toolChoice = tc.name;
  return {
    ctlText: lastUserTextWith(msgs, isUser),
    last,
    tools: (Array.isArray(body.tools) ? body.tools : [])
      .filter((t) => isObj(t) && typeof t.name === 'string'
        && isObj(t.input_schema))
      .map((t) => ({ name: t.name, schema: t.input_schema })),
    toolChoice,
    images: countParts(msgs, ['image']),
    inputTokens: inputTokens(body.messages || []),
    canThink: true,
  };
}

function messagesUsage(view, ctl, output) {
  const cached = Math.min(ctl.cached, view.inputTokens);
  return {
    input_tokens: view.inputTokens - cached,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
    output_tokens: output,
    service_tier: 'standard',
  };
}

function messagesBlocks(p, id) {
  const blocks = [];
  if (p.thinking) {
    blocks.push({
      type: 'thinking', thinking: p.thinking, signature: id('mock-sig-'),
    });
  }
  if (p.text !== null) blocks.push({ type: 'text', text: p.text });
  if (p.call) {
    blocks.push({
      type: 'tool_use', id: id('toolu_mock_'), name: p.call.name,
      input: JSON.parse(p.call.arguments),
    });
  }
  return blocks;
}

function messagesJson(body, view, ctl, p, id) {
  return {
    id: id('msg_mock_'),
    type: 'message',
    role: 'assistant',
    model: body.model,
    content: messagesBlocks(p, id),
    stop_reason: p.call ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: messagesUsage(view, ctl, p.outputTokens),
  };
}

function messagesFrames(body, view, ctl, p, id) {
  const frames = [];
  const ev = (type, fields, content) => {
    frames.push({
      event: type, data: Object.assign({ type }, fields), content: !!content,
    });
  };
  ev('message_start', {
    message: {
      id: id('msg_mock_'), type: 'message', role: 'assistant',
      model: body.model, content: [], stop_reason: null,
      stop_sequence: null, usage: messagesUsage(view, ctl, 1),
    },
  });
  ev('ping', {});
  messagesBlocks(p, id).forEach((b, index) => {
    const delta = (d, content) => ev('content_block_delta',
      { index, delta: d }, content);
    if (b.type === 'thinking') {
      ev('content_block_start', {
        index, content_block: { type: 'thinking', thinking: '', signature: '' },
      });
      for (const piece of splitChunks(b.thinking, 2)) {
        delta({ type: 'thinking_delta', thinking: piece }, true);
      }
      delta({ type: 'signature_delta', signature: b.signature });
    } else if (b.type === 'text') {
      ev('content_block_start', {
        index, content_block: { type: 'text', text: '' },
      });
      for (const piece of splitChunks(b.text, ctl.events)) {
        delta({ type: 'text_delta', text: piece }, true);
      }
    } else {
      ev('content_block_start', {
        index,
        content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} },
      });
      delta({ type: 'input_json_delta', partial_json: '' });
      for (const piece of splitEven(p.call.arguments, ctl.events)) {
        delta({ type: 'input_json_delta', partial_json: piece }, true);
      }
    }
    ev('content_block_stop', { index });
  });
  ev('message_delta', {
    delta: { stop_reason: p.call ? 'tool_use' : 'end_turn',
      stop_sequence: null },
    usage: { output_tokens: p.outputTokens },
  });
  ev('message_stop', {});
  return frames;
}

async function countTokensHandle(res, body) {
  const view = messagesView(body);
  const ctl = parseControls(view.ctlText);
  if (ctl.ttfb) await sleep(ctl.ttfb);
  if (ctl.status >= 400) return anthropicError(res, ctl.status);
  if (ctl.delay) await sleep(ctl.delay);
  return sendJson(res, 200, { input_tokens: view.inputTokens });
}

// ---- dispatch ---------------------------------------------------------------

// mock:close_once IDs already used
const closedOnce = new Set();

// A dialect's handler: read the request, apply ttfb and status, plan
// the answer, write it as JSON or as SSE frames.
function dialectHandler(d) {
  return async (res, body) => {
    const view = d.view(body);
    const ctl = parseControls(view.ctlText);
    if (ctl.closeOnce !== undefined && !closedOnce.has(ctl.closeOnce)) {
      closedOnce.add(ctl.closeOnce);
      res.socket.destroy();
      return;
    }
    if (ctl.ttfb) await sleep(ctl.ttfb);
    if (ctl.status >= 400) return d.error(res, ctl.status);
    const p = plan(view, ctl);
    const id = idMaker(body);
    if (body.stream === true) {
      return writeSse(res, d.frames(body, view, ctl, p, id), ctl, d.tail);
    }
    if (ctl.delay) await sleep(ctl.delay);
    return sendJson(res, 200, d.json(body, view, ctl, p, id));
  };
}

// Each dialect: which POST paths it serves (the first match wins) and the
// handler for a parsed JSON body; fail answers the mock's own 400/405 in
// the dialect's envelope.
const DIALECTS = [
  {
    name: 'chat', match: (p) => p.endsWith('/chat/completions'),
    handle: dialectHandler({
      view: chatView, error: openaiError, json: chatJson,
      frames: chatFrames, tail: 'data: [DONE]\n\n',
    }),
  },
  {
    name: 'responses', match: (p) => p.endsWith('/responses'),
    handle: dialectHandler({
      view: responsesView, error: openaiError, json: responsesJson,
      frames: responsesFrames,
    }),
  },
  {
    name: 'count_tokens', match: (p) => p.endsWith('/messages/count_tokens'),
    handle: countTokensHandle,
    fail: (res, status, message) => anthropicError(res, status, message),
  },
  {
    name: 'messages', match: (p) => p.endsWith('/messages'),
    handle: dialectHandler({
      view: messagesView, error: anthropicError, json: messagesJson,
      frames: messagesFrames,
    }),
    fail: (res, status, message) => anthropicError(res, status, message),
  },
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
    if (dialect.fail) return dialect.fail(res, 405, 'mock: method not allowed');
    return sendJson(res, 405, {
      error: { message: 'mock: method not allowed',
        type: 'invalid_request_error', code: 'method_not_allowed' },
    });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    if (dialect.fail) {
      return dialect.fail(res, 400, 'mock: body is not a JSON object');
    }
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
