// Drives the official Anthropic SDK through the gateway against one model
// group, whatever dialect its target speaks (t/sdk_anthropic.t): a
// Messages call, a stream through the helper (finalMessage), a tool call
// with the tool result sent back, an image, and count_tokens.  Prints one
// JSON object with what the SDK saw; a case that throws records
// {error: {...}} and the others still run.
//
//   SLUICE_URL=http://127.0.0.1:8080 SLUICE_TOKEN=sk-sluice-... \
//   SLUICE_MODEL=demo-messages node t/sdk/anthropic_dialects.mjs [tag]

import Anthropic from '@anthropic-ai/sdk';
import { VERSION } from '@anthropic-ai/sdk/version';

const tag = process.argv[2] || '1';
const model = process.env.SLUICE_MODEL || 'demo-messages';

// every HTTP exchange the SDK made: status, content type, X-Request-Id
let calls = [];
const recordingFetch = async (url, init) => {
  const res = await fetch(url, init);
  calls.push({
    path: new URL(url).pathname,
    status: res.status,
    content_type: res.headers.get('content-type'),
    request_id: res.headers.get('x-request-id'),
  });
  return res;
};

const client = new Anthropic({
  baseURL: process.env.SLUICE_URL,
  apiKey: process.env.SLUICE_TOKEN,
  maxRetries: 0,
  timeout: 30000,
  fetch: recordingFetch,
});

// 1x1 PNG
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8'
  + 'z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const BASH_TOOL = {
  name: 'bash',
  description: 'Run a shell command and return stdout',
  input_schema: {
    type: 'object',
    properties: { command: { type: 'string' } },
    required: ['command'],
  },
};

const out = { sdk: VERSION, model };

async function run(name, fn) {
  calls = [];
  const t0 = Date.now();
  try {
    out[name] = await fn();
  } catch (e) {
    out[name] = { error: { name: e.constructor.name, status: e.status,
      type: e.error && e.error.error && e.error.error.type,
      message: String(e.message).slice(0, 500) } };
  }
  out[name].calls = calls;
  out[name].ms = Date.now() - t0;
}

const textOf = (m) => m.content.filter((b) => b.type === 'text')
  .map((b) => b.text).join('');

await run('messages', async () => {
  const m = await client.messages.create({
    model, max_tokens: 256,
    messages: [{ role: 'user', content: `hello from the sdk ${tag}` }],
  });
  return {
    type: m.type, role: m.role, id: m.id,
    block_types: m.content.map((b) => b.type),
    text: textOf(m),
    stop_reason: m.stop_reason,
    usage: m.usage,
    sdk_request_id: m._request_id,
  };
});

await run('stream', async () => {
  const stream = client.messages.stream({
    model, max_tokens: 256,
    messages: [{ role: 'user', content: `stream from the sdk ${tag}` }],
  });
  const types = [];
  let text = '';
  stream.on('streamEvent', (e) => { types.push(e.type); });
  stream.on('text', (t) => { text += t; });
  const m = await stream.finalMessage();
  return {
    id: m.id,
    text_events: text,
    text: textOf(m),
    stop_reason: m.stop_reason,
    usage: m.usage,
    first_event: types[0],
    last_event: types[types.length - 1],
    event_types: [...new Set(types)],
  };
});

await run('tools', async () => {
  const messages = [{ role: 'user',
    content: `Please run the shell command \`echo hi\` (${tag}).` }];
  const m = await client.messages.create({
    model, max_tokens: 512, tools: [BASH_TOOL],
    tool_choice: { type: 'auto' }, messages,
  });
  const tu = m.content.find((b) => b.type === 'tool_use');
  const res = {
    stop_reason: m.stop_reason,
    block_types: m.content.map((b) => b.type),
    usage: m.usage,
    tool: tu && { id: tu.id, name: tu.name, input: tu.input },
  };
  if (tu) {
    // the tool result goes back, this time as a stream
    const fin = await client.messages.stream({
      model, max_tokens: 512, tools: [BASH_TOOL],
      messages: [...messages, { role: 'assistant', content: m.content },
        { role: 'user', content: [{ type: 'tool_result',
          tool_use_id: tu.id, content: 'MOCK_TOOL_OK' }] }],
    }).finalMessage();
    res.after_tool = { text: textOf(fin), stop_reason: fin.stop_reason };
  }
  return res;
});

await run('tools_stream', async () => {
  const stream = client.messages.stream({
    model, max_tokens: 512, tools: [BASH_TOOL],
    messages: [{ role: 'user',
      content: `Please run the shell command \`echo hi\` (stream ${tag}).` }],
  });
  let json = '';
  stream.on('inputJson', (partial) => { json += partial; });
  const m = await stream.finalMessage();
  const tu = m.content.find((b) => b.type === 'tool_use');
  return {
    stop_reason: m.stop_reason,
    block_types: m.content.map((b) => b.type),
    input_json_deltas: json,
    usage: m.usage,
    tool: tu && { id: tu.id, name: tu.name, input: tu.input },
  };
});

await run('image', async () => {
  const m = await client.messages.create({
    model, max_tokens: 256,
    messages: [{ role: 'user', content: [
      { type: 'image',
        source: { type: 'base64', media_type: 'image/png', data: PNG } },
      { type: 'text', text: `What is in this image? (${tag})` }] }],
  });
  return { text: textOf(m), stop_reason: m.stop_reason, usage: m.usage };
});

await run('count_tokens', async () => {
  const r = await client.messages.countTokens({
    model,
    messages: [{ role: 'user', content: `count these tokens ${tag}` }],
  });
  return { input_tokens: r.input_tokens };
});

process.stdout.write(JSON.stringify(out) + '\n');
