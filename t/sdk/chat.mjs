// Drives the official OpenAI SDK through the gateway (t/sdk.t):
// one chat call, one stream with usage, the model list and one refused
// call.  Prints one JSON object with what the SDK saw.
//
//   SLUICE_URL=http://127.0.0.1:8080 SLUICE_TOKEN=sk-sluice-... \
//   SLUICE_MODEL=demo-chat node t/sdk/chat.mjs [tag]

import OpenAI from 'openai';

const tag = process.argv[2] || '1';
const model = process.env.SLUICE_MODEL || 'demo-chat';
const client = new OpenAI({
  baseURL: `${process.env.SLUICE_URL}/v1`,
  apiKey: process.env.SLUICE_TOKEN,
  maxRetries: 0,
  timeout: 20000,
});

const out = { sdk: (await import('openai/version')).VERSION };

const r = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: `hello from the sdk ${tag}` }],
});
out.chat = {
  content: r.choices[0].message.content,
  finish_reason: r.choices[0].finish_reason,
  usage: r.usage,
  request_id: r._request_id,
};

const stream = await client.chat.completions.create({
  model,
  stream: true,
  stream_options: { include_usage: true },
  messages: [{ role: 'user', content: `stream from the sdk ${tag}` }],
});
const s = { content: '', chunks: 0, usage: null, finish_reason: null,
  role: null };
for await (const c of stream) {
  s.chunks++;
  const ch = c.choices[0];
  if (ch) {
    if (ch.delta.role) s.role = ch.delta.role;
    s.content += ch.delta.content || '';
    if (ch.finish_reason) s.finish_reason = ch.finish_reason;
  }
  if (c.usage) s.usage = c.usage;
}
out.stream = s;

out.models = [];
for await (const m of client.models.list()) out.models.push(m.id);

try {
  await client.chat.completions.create({
    model: 'no-such-group',
    messages: [{ role: 'user', content: 'refused' }],
  });
  out.refused = { status: 200 };
} catch (e) {
  out.refused = { status: e.status, type: e.type, code: e.code,
    name: e.constructor.name };
}

process.stdout.write(JSON.stringify(out) + '\n');
