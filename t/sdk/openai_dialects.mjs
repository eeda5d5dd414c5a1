// Drives the official OpenAI SDK through the gateway against one model
// group, whatever dialect its target speaks (t/sdk_openai.t): a chat
// call, a chat stream with a tool through the stream helper
// (finalChatCompletion) and the tool result sent back, a Responses call,
// and Responses streams through the helper (finalResponse), plain and
// with a tool.  Prints one JSON object with what the SDK saw; a case that
// throws records {error: {...}} and the others still run.
//
//   SLUICE_URL=http://127.0.0.1:8080 SLUICE_TOKEN=sk-sluice-... \
//   SLUICE_MODEL=demo-chat node t/sdk/openai_dialects.mjs [tag]

import OpenAI from 'openai';

const tag = process.argv[2] || '1';
const model = process.env.SLUICE_MODEL || 'demo-chat';

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

const client = new OpenAI({
  baseURL: `${process.env.SLUICE_URL}/v1`,
  apiKey: process.env.SLUICE_TOKEN,
  maxRetries: 0,
  timeout: 30000,
  fetch: recordingFetch,
});

const SHELL_TOOL = {
  name: 'run_shell',
  description: 'Run a shell command and return its output',
  parameters: {
    type: 'object',
    properties: { command: { type: 'string', description: 'command line' } },
    required: ['command'],
    additionalProperties: false,
  },
};

const out = { sdk: (await import('openai/version')).VERSION, model };

async function run(name, fn) {
  calls = [];
  const t0 = Date.now();
  try {
    out[name] = await fn();
  } catch (e) {
    out[name] = { error: { name: e.constructor.name, status: e.status,
      message: String(e.message).slice(0, 500) } };
  }
  out[name].calls = calls;
  out[name].ms = Date.now() - t0;
}

await run('chat', async () => {
  const r = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: `hello from the sdk ${tag}` }],
  });
  return {
    object: r.object,
    role: r.choices[0].message.role,
    content: r.choices[0].message.content,
    finish_reason: r.choices[0].finish_reason,
    usage: r.usage,
    request_id: r._request_id,
  };
});

await run('chat_stream_tools', async () => {
  const messages = [{ role: 'user',
    content: `Please run the shell command \`echo hi\` (${tag}).` }];
  const tools = [{ type: 'function',
    function: { ...SHELL_TOOL, strict: true } }];
  const runner = client.chat.completions.stream({
    model, messages, tools,
    stream_options: { include_usage: true },
  });
  let chunks = 0;
  let toolArgsDeltas = 0;
  runner.on('chunk', () => { chunks++; });
  runner.on('tool_calls.function.arguments.delta', () => { toolArgsDeltas++; });
  const fin = await runner.finalChatCompletion();
  const msg = fin.choices[0].message;
  const tc = (msg.tool_calls || [])[0];
  const res = {
    chunks,
    tool_args_deltas: toolArgsDeltas,
    role: msg.role,
    content: msg.content,
    finish_reason: fin.choices[0].finish_reason,
    usage: fin.usage,
    tool_calls: (msg.tool_calls || []).length,
    tool: tc && {
      id: tc.id,
      type: tc.type,
      name: tc.function.name,
      arguments: tc.function.arguments,
      parsed: tc.function.parsed_arguments,
    },
  };
  if (tc) {
    // the tool result goes back; the answer must mention it
    const r2 = await client.chat.completions.create({
      model, tools,
      messages: [...messages, msg,
        { role: 'tool', tool_call_id: tc.id,
          content: 'MOCK_TOOL_OK from chat' }],
    });
    res.after_tool = {
      content: r2.choices[0].message.content,
      finish_reason: r2.choices[0].finish_reason,
      request_id: r2._request_id,
    };
  }
  return res;
});

await run('responses', async () => {
  const r = await client.responses.create({
    model,
    input: `hello from the sdk ${tag}`,
  });
  return {
    object: r.object,
    id: r.id,
    status: r.status,
    output_text: r.output_text,
    output_types: r.output.map((o) => o.type),
    usage: r.usage,
    request_id: r._request_id,
  };
});

await run('responses_stream', async () => {
  const stream = client.responses.stream({
    model,
    input: [{ role: 'user', content: [
      { type: 'input_text', text: `stream from the sdk ${tag}` }] }],
  });
  const types = [];
  let deltas = '';
  stream.on('event', (e) => { types.push(e.type); });
  stream.on('response.output_text.delta', (e) => { deltas += e.delta; });
  const fin = await stream.finalResponse();
  return {
    id: fin.id,
    status: fin.status,
    output_text: fin.output_text,
    deltas,
    usage: fin.usage,
    first_event: types[0],
    last_event: types[types.length - 1],
    event_types: [...new Set(types)],
  };
});

await run('responses_stream_tools', async () => {
  const input = [{ role: 'user',
    content: `Please run the shell command \`echo hi\` (${tag}).` }];
  const tools = [{ type: 'function', ...SHELL_TOOL, strict: true }];
  const stream = client.responses.stream({ model, input, tools });
  const fin = await stream.finalResponse();
  const fc = fin.output.find((o) => o.type === 'function_call');
  const res = {
    status: fin.status,
    usage: fin.usage,
    output_types: fin.output.map((o) => o.type),
    tool: fc && { name: fc.name, call_id: fc.call_id,
      arguments: fc.arguments },
  };
  if (fc) {
    const r2 = await client.responses.create({
      model, tools,
      input: [...input,
        { type: 'function_call', call_id: fc.call_id, name: fc.name,
          arguments: fc.arguments },
        { type: 'function_call_output', call_id: fc.call_id,
          output: 'MOCK_TOOL_OK from responses' }],
    });
    res.after_tool = { status: r2.status, output_text: r2.output_text };
  }
  return res;
});

process.stdout.write(JSON.stringify(out) + '\n');
