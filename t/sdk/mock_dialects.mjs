// Drives the official SDKs in the Responses and Messages dialects against
// a base URL: the mock provider itself (t/mock.t checks that the SDKs
// accept its answers) or the gateway.  Per
// dialect: a JSON call, a stream through the SDK's helper, a tool round
// trip (the mock calls the offered tool, then answers the tool result),
// an image, and an error as the SDK reports it; messages also counts
// tokens.  Prints one JSON object with what the SDKs saw.
//
//   SLUICE_URL=http://127.0.0.1:8080 SLUICE_TOKEN=sk-sluice-... \
//   SLUICE_RESPONSES_MODEL=demo-responses \
//   SLUICE_MESSAGES_MODEL=demo-messages node t/sdk/mock_dialects.mjs [tag]
//
// SLUICE_DIALECTS=responses,messages (default both) picks the dialects.

import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const tag = process.argv[2] || '1';
const base = process.env.SLUICE_URL;
const token = process.env.SLUICE_TOKEN || 'sk-none';
const want = new Set((process.env.SLUICE_DIALECTS || 'responses,messages')
  .split(','));
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8Bg'
  + 'AAAEAQEAZcq0ZAAAAABJRU5ErkJggg==';

const out = {};

function fail(e) {
  return { status: e.status, type: e.type || (e.error && e.error.type),
    error_type: e.error && e.error.error && e.error.error.type,
    name: e.constructor.name, message: String(e.message).slice(0, 200) };
}

async function responses() {
  const model = process.env.SLUICE_RESPONSES_MODEL || 'demo-responses';
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: token,
    maxRetries: 0, timeout: 20000 });
  const o = {};
  const r = await client.responses.create({ model,
    input: `hello responses ${tag}`, store: false });
  o.json = { text: r.output_text, status: r.status, usage: r.usage,
    id: r.id };

  const stream = client.responses.stream({ model,
    input: `stream responses ${tag}` });
  const types = [];
  let deltas = '';
  for await (const ev of stream) {
    types.push(ev.type);
    if (ev.type === 'response.output_text.delta') deltas += ev.delta;
  }
  const fin = await stream.finalResponse();
  o.stream = { types, deltas, text: fin.output_text, usage: fin.usage,
    status: fin.status };

  const tools = [{ type: 'function', name: 'run_shell', strict: true,
    description: 'Run a shell command',
    parameters: { type: 'object', additionalProperties: false,
      properties: { command: { type: 'string' } }, required: ['command'] } }];
  const input = [{ role: 'user', content: `run something ${tag}` }];
  const t1 = await client.responses.create({ model, input, tools });
  const call = t1.output.find((i) => i.type === 'function_call');
  o.tool_call = call ? { name: call.name, arguments: call.arguments,
    call_id: call.call_id } : null;
  if (call) {
    const t2 = await client.responses.create({ model, tools, input: [
      ...input, call,
      { type: 'function_call_output', call_id: call.call_id,
        output: `ran ${tag}` }] });
    o.tool_result = { text: t2.output_text };
  }
  const ts = client.responses.stream({ model, input, tools });
  const argDeltas = [];
  for await (const ev of ts) {
    if (ev.type === 'response.function_call_arguments.delta') {
      argDeltas.push(ev.delta);
    }
  }
  const tsf = await ts.finalResponse();
  const scall = tsf.output.find((i) => i.type === 'function_call');
  o.tool_stream = { arguments: scall && scall.arguments,
    deltas: argDeltas.join('') };

  const img = await client.responses.create({ model, input: [{ role: 'user',
    content: [{ type: 'input_text', text: 'Describe this.' },
      { type: 'input_image', image_url: `data:image/png;base64,${PNG}` }] }] });
  o.image = { text: img.output_text };

  try {
    await client.responses.create({ model, input: 'mock:status=429' });
    o.error = { status: 200 };
  } catch (e) {
    o.error = fail(e);
  }
  return o;
}

async function messages() {
  const model = process.env.SLUICE_MESSAGES_MODEL || 'demo-messages';
  const client = new Anthropic({ baseURL: base, apiKey: token,
    maxRetries: 0, timeout: 20000 });
  const o = {};
  const r = await client.messages.create({ model, max_tokens: 64,
    messages: [{ role: 'user', content: `hello messages ${tag}` }] });
  o.json = { text: r.content.map((b) => b.text || '').join(''),
    stop_reason: r.stop_reason, usage: r.usage, id: r.id };

  const stream = client.messages.stream({ model, max_tokens: 64,
    messages: [{ role: 'user', content: `stream messages ${tag}` }] });
  const types = [];
  let deltas = '';
  stream.on('streamEvent', (ev) => {
    types.push(ev.type);
    if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') {
      deltas += ev.delta.text;
    }
  });
  const fin = await stream.finalMessage();
  o.stream = { types, deltas, text: fin.content.map((b) => b.text || '')
    .join(''), usage: fin.usage, stop_reason: fin.stop_reason };

  const tools = [{ name: 'bash', description: 'Run a shell command',
    input_schema: { type: 'object', properties: {
      command: { type: 'string' } }, required: ['command'] } }];
  const msgs = [{ role: 'user', content: `run something ${tag}` }];
  const t1 = await client.messages.create({ model, max_tokens: 64, tools,
    messages: msgs });
  const use = t1.content.find((b) => b.type === 'tool_use');
  o.tool_call = use ? { name: use.name, input: use.input,
    stop_reason: t1.stop_reason } : null;
  if (use) {
    const t2 = await client.messages.create({ model, max_tokens: 64, tools,
      messages: [...msgs, { role: 'assistant', content: t1.content },
        { role: 'user', content: [{ type: 'tool_result',
          tool_use_id: use.id, content: `ran ${tag}` }] }] });
    o.tool_result = { text: t2.content.map((b) => b.text || '').join('') };
  }
  const ts = client.messages.stream({ model, max_tokens: 64, tools,
    messages: msgs });
  const tsf = await ts.finalMessage();
  const suse = tsf.content.find((b) => b.type === 'tool_use');
  o.tool_stream = { input: suse && suse.input,
    stop_reason: tsf.stop_reason };

  const img = await client.messages.create({ model, max_tokens: 64,
    messages: [{ role: 'user', content: [
      { type: 'image', source: { type: 'base64', media_type: 'image/png',
        data: PNG } },
      { type: 'text', text: 'What is in this image?' }] }] });
  o.image = { text: img.content.map((b) => b.text || '').join('') };

  const n = await client.messages.countTokens({ model,
    messages: [{ role: 'user', content: 'say hi' }] });
  o.count_tokens = n;

  try {
    await client.messages.create({ model, max_tokens: 64,
      messages: [{ role: 'user', content: 'mock:status=529' }] });
    o.error = { status: 200 };
  } catch (e) {
    o.error = fail(e);
  }
  return o;
}

for (const [name, fn] of [['responses', responses], ['messages', messages]]) {
  if (!want.has(name)) continue;
  try {
    out[name] = await fn();
  } catch (e) {
    out[name] = { crashed: fail(e), stack: String(e.stack).slice(0, 800) };
  }
}

process.stdout.write(JSON.stringify(out) + '\n');
