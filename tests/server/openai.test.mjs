// openai.test.mjs - `deepc serve` driven by the official `openai` npm client:
// chat and completions (plain and streamed), models, reasoning fields, usage
// and prefix caching, seeds, stop strings, logprobs, parameter validation,
// errors surfaced as APIError with the right status.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, MODELS, modelId } from './harness.mjs';

const client = (srv, apiKey = 'sk-unused') => new OpenAI({ baseURL: srv.baseURL, apiKey, maxRetries: 0, timeout: 60000 });

const PROMPT = 'Hello, how are you? Tell me about the weather today.';
const greedy = (extra = {}) => ({ temperature: 0, max_tokens: 40, ...extra });

async function collect(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}

// The streamed chat deltas: {role, text, reasoning, finishes: [reasons], order: ['r'|'c' per non-empty delta]}.
function joinChat(chunks) {
  const r = { role: undefined, text: '', reasoning: '', finishes: [], order: [], usage: undefined };
  for (const c of chunks) {
    for (const ch of c.choices) {
      const d = ch.delta || {};
      if (d.role !== undefined && r.role === undefined) r.role = d.role;
      if (typeof d.reasoning_content === 'string' && d.reasoning_content) { r.reasoning += d.reasoning_content; r.order.push('r'); }
      if (typeof d.content === 'string' && d.content) { r.text += d.content; r.order.push('c'); }
      if (ch.finish_reason) r.finishes.push(ch.finish_reason);
    }
    if (c.usage) r.usage = c.usage;
  }
  return r;
}

function assertUsage(u, ctx) {
  assert.ok(u, `${ctx}: no usage`);
  for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens']) {
    assert.ok(Number.isInteger(u[k]) && u[k] >= 0, `${ctx}: usage.${k} = ${u[k]}`);
  }
  assert.ok(u.prompt_tokens > 0, `${ctx}: prompt_tokens 0`);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens, `${ctx}: total != prompt + completion`);
  assert.ok(u.prompt_tokens_details && Number.isInteger(u.prompt_tokens_details.cached_tokens),
    `${ctx}: usage.prompt_tokens_details.cached_tokens missing: ${JSON.stringify(u)}`);
  assert.ok(u.prompt_tokens_details.cached_tokens <= u.prompt_tokens, `${ctx}: cached > prompt`);
}

async function expectAPIError(promise, status, ctx, { code, param } = {}) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${ctx}: expected an APIError ${status}, the request succeeded`);
  assert.ok(err instanceof OpenAI.APIError, `${ctx}: expected APIError, got ${err && err.constructor && err.constructor.name}: ${err}`);
  assert.equal(err.status, status, `${ctx}: status ${err.status}: ${err.message}`);
  const cls = { 400: OpenAI.BadRequestError, 401: OpenAI.AuthenticationError, 404: OpenAI.NotFoundError }[status];
  if (cls) assert.ok(err instanceof cls, `${ctx}: not a ${cls.name}`);
  assert.ok(err.error && typeof err.error.message === 'string', `${ctx}: APIError without an error body: ${JSON.stringify(err.error)}`);
  if (code !== undefined) assert.equal(err.code, code, `${ctx}: code`);
  if (param !== undefined) {
    if (param instanceof RegExp) assert.match(String(err.param), param, `${ctx}: param`);
    else assert.equal(err.param, param, `${ctx}: param`);
  }
  return err;
}

// A window of printable ASCII in the middle of `text`, of `len` characters.
function middleWindow(text, len) {
  const mid = Math.floor(text.length / 2);
  for (let d = 0; d < text.length; d++) {
    for (const a of [mid - d, mid + d]) {
      if (a < 1 || a + len > text.length) continue;
      const w = text.slice(a, a + len);
      if (/^[\x21-\x7e][\x20-\x7e]*$/.test(w)) return w;
    }
  }
  return null;
}

// Sampled answers (seeded, so the run is repeatable) whose content holds a think tag.
async function thinkTagsInContent(oa, srv, extra, n = 40) {
  const found = [];
  for (let base = 0; base < n; base += 4) {
    const rs = await Promise.all([0, 1, 2, 3].map((k) => oa.chat.completions.create({
      model: srv.id, messages: [{ role: 'user', content: 'Hello there' }], temperature: 1.0, top_k: 0, top_p: 1, min_p: 0,
      seed: base + k, max_tokens: 300, ...extra,
    })));
    rs.forEach((r, k) => {
      const c = r.choices[0].message.content || '';
      const i = c.search(/<\/?think>/);
      if (i >= 0) found.push(`seed ${base + k}: ...${JSON.stringify(c.slice(Math.max(0, i - 20), i + 28))}`);
    });
  }
  return found;
}

describe('chat and completions (Qwen2.5 template, no thinking)', () => {
  let srv, oa;
  before(async () => {
    srv = await startServer({ model: MODELS.plain, args: ['--parallel', '2'] });
    oa = client(srv);
  });
  after(async () => { if (srv) await srv.stop(); });

  it('chat, non-streamed: response shape', async () => {
    const r = await oa.chat.completions.create({ model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy() });
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.object, 'chat.completion');
    assert.equal(typeof r.system_fingerprint, 'string');
    assert.ok(Number.isInteger(r.created) && r.created > 1.6e9, `created ${r.created}`);
    assert.equal(r.model, srv.id);
    assert.equal(r.choices.length, 1);
    const c = r.choices[0];
    assert.equal(c.index, 0);
    assert.equal(c.message.role, 'assistant');
    assert.equal(typeof c.message.content, 'string');
    assert.ok(c.message.content.length > 0, 'empty content');
    assert.ok(['stop', 'length'].includes(c.finish_reason), `finish_reason ${c.finish_reason}`);
    assert.ok(!('reasoning_content' in c.message) || c.message.reasoning_content === undefined || c.message.reasoning_content === null,
      'reasoning_content present for a model without thinking');
    assertUsage(r.usage, 'chat');
    assert.ok(r.usage.completion_tokens <= 40);
    assert.ok(Math.abs(r.created - Date.now() / 1000) < 120, `created ${r.created} is not now`);
    const again = await oa.chat.completions.create({ model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy({ max_tokens: 2 }) });
    assert.notEqual(again.id, r.id, 'two requests share an id');
  });

  it('chat, streamed: role first, one finish_reason, text == non-streamed greedy text', async () => {
    const body = { model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy() };
    const whole = await oa.chat.completions.create(body);
    const chunks = await collect(await oa.chat.completions.create({ ...body, stream: true }));
    assert.ok(chunks.length >= 3, `only ${chunks.length} chunks`);
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.id, chunks[0].id, 'chunk ids differ');
      assert.match(c.id, /^chatcmpl-/);
      assert.equal(c.model, srv.id);
    }
    assert.equal(chunks[0].choices[0].delta.role, 'assistant', `first delta ${JSON.stringify(chunks[0].choices[0].delta)}`);
    assert.equal(chunks[0].choices[0].delta.content, '', 'the first delta has no content: ""');
    const j = joinChat(chunks);
    assert.equal(j.finishes.length, 1, `finish_reasons: ${JSON.stringify(j.finishes)}`);
    const last = chunks[chunks.length - 1];
    assert.ok(last.choices[0].finish_reason, 'finish_reason not in the last chunk');
    assert.deepEqual(last.choices[0].delta, {}, 'the final chunk\'s delta is not empty');
    assert.equal(j.finishes[0], whole.choices[0].finish_reason);
    assert.equal(j.text, whole.choices[0].message.content, 'streamed text != non-streamed text');
    assert.equal(j.usage, undefined, 'usage chunk without stream_options.include_usage');
  });

  it('the client\'s stream helper (chat.completions.stream) assembles the same message', async () => {
    const body = { model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy({ max_tokens: 24 }) };
    const whole = await oa.chat.completions.create(body);
    const stream = oa.chat.completions.stream({ ...body, stream_options: { include_usage: true } });
    let deltas = '';
    stream.on('content.delta', ({ delta }) => { deltas += delta; });
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0].message.content, whole.choices[0].message.content);
    assert.equal(deltas, whole.choices[0].message.content);
    assert.equal(final.choices[0].finish_reason, whole.choices[0].finish_reason);
    assert.deepEqual(final.usage && final.usage.completion_tokens, whole.usage.completion_tokens);
  });

  it('chat, streamed with include_usage: a final chunk with choices [] and usage', async () => {
    const body = { model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy({ max_tokens: 12 }) };
    const chunks = await collect(await oa.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }));
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assertUsage(last.usage, 'stream usage');
    assert.ok(last.usage.completion_tokens >= 1 && last.usage.completion_tokens <= 12);
    const whole = await oa.chat.completions.create(body);
    assert.equal(last.usage.prompt_tokens, whole.usage.prompt_tokens);
    assert.equal(last.usage.completion_tokens, whole.usage.completion_tokens);
    assert.equal(chunks.filter((c) => c.usage).length, 1, 'usage in more than one chunk');
  });

  it('completions: string prompt, non-streamed and streamed agree', async () => {
    const body = { model: srv.id, prompt: 'The quick brown fox', ...greedy({ max_tokens: 24 }) };
    const r = await oa.completions.create(body);
    assert.equal(r.object, 'text_completion');
    assert.equal(r.model, srv.id);
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].index, 0);
    assert.equal(typeof r.choices[0].text, 'string');
    assert.ok(r.choices[0].text.length > 0);
    assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
    assertUsage(r.usage, 'completions');
    const chunks = await collect(await oa.completions.create({ ...body, stream: true }));
    let text = '';
    const fins = [];
    for (const c of chunks) {
      assert.equal(c.object, 'text_completion');
      for (const ch of c.choices) {
        text += ch.text || '';
        if (ch.finish_reason) fins.push(ch.finish_reason);
      }
    }
    assert.deepEqual(fins, [r.choices[0].finish_reason]);
    assert.equal(text, r.choices[0].text);
  });

  it('completions: streamed with include_usage', async () => {
    const chunks = await collect(await oa.completions.create({ model: srv.id, prompt: 'The quick brown fox', ...greedy({ max_tokens: 6 }), stream: true, stream_options: { include_usage: true } }));
    const last = chunks[chunks.length - 1];
    assert.deepEqual(last.choices, []);
    assertUsage(last.usage, 'completions stream usage');
    assert.equal(last.usage.completion_tokens, 6);
  });

  it('completions: a prompt of token ids and an array holding one string', async () => {
    const a = await oa.completions.create({ model: srv.id, prompt: ['The quick brown fox'], ...greedy({ max_tokens: 8 }) });
    const b = await oa.completions.create({ model: srv.id, prompt: 'The quick brown fox', ...greedy({ max_tokens: 8 }) });
    assert.equal(a.choices[0].text, b.choices[0].text);
    const ids = await oa.completions.create({ model: srv.id, prompt: [1, 2, 3, 4, 5], ...greedy({ max_tokens: 8 }) });
    assert.equal(ids.usage.prompt_tokens, 5);
  });

  it('completions: legacy logprobs shape', async () => {
    const r = await oa.completions.create({ model: srv.id, prompt: 'The quick brown fox', ...greedy({ max_tokens: 6 }), logprobs: 2 });
    const lp = r.choices[0].logprobs;
    assert.ok(lp, 'no logprobs');
    const n = r.usage.completion_tokens;
    assert.equal(lp.tokens.length, n);
    assert.equal(lp.token_logprobs.length, n);
    assert.equal(lp.top_logprobs.length, n);
    assert.equal(lp.text_offset.length, n);
    for (let i = 0; i < n; i++) {
      assert.ok(lp.token_logprobs[i] <= 0);
      assert.equal(Object.keys(lp.top_logprobs[i]).length, 2, `top_logprobs[${i}] ${JSON.stringify(lp.top_logprobs[i])}`);
      if (i) assert.ok(lp.text_offset[i] >= lp.text_offset[i - 1]);
    }
    if (/^[\x00-\x7f]*$/.test(r.choices[0].text)) assert.equal(lp.tokens.join(''), r.choices[0].text);
  });

  it('logit_bias: +100 forces a token, -100 bans it; a bad key -> 400', async () => {
    const ask = (bias) => oa.completions.create({ model: srv.id, prompt: 'The quick brown fox', ...greedy({ max_tokens: 6 }), logprobs: 1, logit_bias: bias });
    const forced = await ask({ 7: 100 });
    const toks = forced.choices[0].logprobs.tokens;
    assert.equal(toks.length, 6);
    assert.ok(toks.every((t) => t === toks[0]), `+100 on token 7: ${JSON.stringify(toks)}`);
    const banned = await ask({ 7: -100 });
    assert.ok(banned.choices[0].logprobs.tokens.every((t) => t !== toks[0]), `-100 on token 7: ${JSON.stringify(banned.choices[0].logprobs.tokens)}`);
    await expectAPIError(ask({ abc: 1 }), 400, 'logit_bias key abc', { param: 'logit_bias' });
  });

  it('models.list and models.retrieve', async () => {
    const page = await oa.models.list();
    const ids = page.data.map((m) => m.id);
    assert.deepEqual(ids, [srv.id]);
    const m = page.data[0];
    assert.equal(m.object, 'model');
    assert.equal(m.owned_by, 'deepc');
    assert.ok(Number.isInteger(m.created));
    const one = await oa.models.retrieve(srv.id);
    assert.equal(one.id, srv.id);
    assert.equal(one.object, 'model');
    await expectAPIError(oa.models.retrieve('no-such-model'), 404, 'models.retrieve unknown');
  });

  it('usage: cached_tokens > 0 on a second request sharing a long system prompt', async () => {
    const system = `Session ${Date.now()}. ` + 'You are a careful assistant who answers questions about gardens, rivers, and mountains in great detail. '.repeat(12);
    const ask = (q) => oa.chat.completions.create({
      model: srv.id, max_tokens: 4, temperature: 0,
      messages: [{ role: 'system', content: system }, { role: 'user', content: q }],
    });
    const a = await ask('What grows near the river?');
    assertUsage(a.usage, 'first');
    assert.ok(a.usage.prompt_tokens > 100, `system prompt only ${a.usage.prompt_tokens} tokens`);
    const b = await ask('Which mountain is the highest?');
    assertUsage(b.usage, 'second');
    const cached = b.usage.prompt_tokens_details.cached_tokens;
    assert.ok(cached > 100, `cached_tokens ${cached} on the second request (prompt ${b.usage.prompt_tokens})`);
    assert.ok(cached < b.usage.prompt_tokens, 'everything cached although the user turn differs');
    const m = await (await fetch(srv.local + '/metrics')).text();
    const val = (name) => Number((m.match(new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm')) || [])[1]);
    assert.ok(val('deepc_prefix_cache_hits_total') >= 1, 'deepc_prefix_cache_hits_total not counted');
    assert.ok(val('deepc_cached_prompt_tokens_total') >= cached, 'deepc_cached_prompt_tokens_total < cached_tokens');
    // the same request again: everything but (at least) the last prompt token can come from the cache
    const c = await ask('Which mountain is the highest?');
    assert.ok(c.usage.prompt_tokens_details.cached_tokens >= b.usage.prompt_tokens - 1 - 8, `repeat: cached ${c.usage.prompt_tokens_details.cached_tokens} of ${c.usage.prompt_tokens}`);
    assert.equal(c.choices[0].message.content, b.choices[0].message.content, 'a cached prefix changed the greedy answer');
  });

  it('sampling knobs: top_k 1, a tiny top_p and min_p 1 are greedy at temperature 1.5; penalties change a repetitive text', async () => {
    const base = { model: srv.id, messages: [{ role: 'user', content: PROMPT }], max_tokens: 30 };
    const text = async (extra) => (await oa.chat.completions.create({ ...base, ...extra })).choices[0].message.content;
    const g = await text({ temperature: 0 });
    for (const knob of [{ top_k: 1 }, { top_p: 1e-6 }, { min_p: 1 }]) {
      assert.equal(await text({ temperature: 1.5, seed: 3, ...knob }), g, `${JSON.stringify(knob)} at temperature 1.5 is not greedy`);
    }
    const free = await Promise.all([3, 4].map((seed) => text({ temperature: 1.5, seed, top_k: 0, top_p: 1, min_p: 0 })));
    assert.ok(free.some((t) => t !== g), 'temperature 1.5 without truncation gave the greedy text twice');
    // the greedy text of this prompt repeats itself; penalties must change it
    const ids = await oa.completions.create({ model: srv.id, prompt: 'x', max_tokens: 1 }); // warm
    void ids;
    if (/(.{1,4})\1{3}/su.test(g)) {
      for (const pen of [{ frequency_penalty: 2 }, { presence_penalty: 2 }, { repeat_penalty: 1.5 }]) {
        assert.notEqual(await text({ temperature: 0, ...pen }), g, `${JSON.stringify(pen)} left a repetitive greedy text unchanged`);
      }
    }
  });

  it('seed: the same seed reproduces a sampled text, other seeds differ', async () => {
    const run = (seed) => oa.chat.completions.create({
      model: srv.id, messages: [{ role: 'user', content: 'Write a short poem.' }], temperature: 0.8, max_tokens: 24, seed,
    }).then((r) => r.choices[0].message.content);
    const a = await run(1234);
    const b = await run(1234);
    assert.equal(a, b, 'same seed, different texts');
    const others = [await run(1), await run(2), await run(3)];
    assert.ok(others.some((o) => o !== a), `seeds 1,2,3 all gave the text of seed 1234: ${JSON.stringify(a)}`);
    // a seeded run is a prefix of a longer run with the same seed (token ids via completions)
    const short = await oa.completions.create({ model: srv.id, prompt: 'Once upon a time', temperature: 0.8, seed: 77, max_tokens: 8, logprobs: 0 });
    const long = await oa.completions.create({ model: srv.id, prompt: 'Once upon a time', temperature: 0.8, seed: 77, max_tokens: 16, logprobs: 0 });
    assert.deepEqual(long.choices[0].logprobs.tokens.slice(0, short.usage.completion_tokens), short.choices[0].logprobs.tokens, 'seeded run is not a prefix of the longer one');
  });

  for (const len of [4, 14]) {
    it(`stop: a ${len}-character substring from the middle of the greedy text ends the output before it`, async () => {
      const base = { model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy({ max_tokens: 48 }) };
      const full = (await oa.chat.completions.create(base)).choices[0].message.content;
      const stop = middleWindow(full, len);
      assert.ok(stop, `no printable ${len}-char window in the greedy text ${JSON.stringify(full)}`);
      const expected = full.slice(0, full.indexOf(stop));
      const r = await oa.chat.completions.create({ ...base, stop });
      assert.equal(r.choices[0].message.content, expected, `stop ${JSON.stringify(stop)} in ${JSON.stringify(full)}`);
      assert.equal(r.choices[0].finish_reason, 'stop');
      // as an array, with a string that never occurs, and streamed
      const r2 = await oa.chat.completions.create({ ...base, stop: ['\u0001never\u0002', stop] });
      assert.equal(r2.choices[0].message.content, expected);
      const j = joinChat(await collect(await oa.chat.completions.create({ ...base, stop, stream: true })));
      assert.equal(j.text, expected, 'streamed text with stop');
      assert.deepEqual(j.finishes, ['stop']);
    });
  }

  it('stop: a stop string whose start ends the text but never completes leaves the text whole', async () => {
    const base = { model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy({ max_tokens: 32 }) };
    const whole = await oa.chat.completions.create(base);
    const full = whole.choices[0].message.content;
    assert.equal(whole.choices[0].finish_reason, 'length');
    for (const n of [1, 3, 6]) {
      const stop = full.slice(-n) + '\u0001';
      const r = await oa.chat.completions.create({ ...base, stop });
      assert.equal(r.choices[0].message.content, full, `held-back text lost (stop ${JSON.stringify(stop)})`);
      assert.equal(r.choices[0].finish_reason, 'length');
      const j = joinChat(await collect(await oa.chat.completions.create({ ...base, stop, stream: true })));
      assert.equal(j.text, full, `streamed: held-back text lost (stop ${JSON.stringify(stop)})`);
      assert.deepEqual(j.finishes, ['length']);
    }
  });

  it('logprobs with top_logprobs: shape, values <= 0, greedy token is the top one', async () => {
    const k = 3;
    const r = await oa.chat.completions.create({
      model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy({ max_tokens: 10 }), logprobs: true, top_logprobs: k,
    });
    const lp = r.choices[0].logprobs;
    assert.ok(lp && Array.isArray(lp.content), `logprobs ${JSON.stringify(lp)}`);
    assert.equal(lp.content.length, r.usage.completion_tokens);
    let joined = Buffer.alloc(0);
    for (const [i, c] of lp.content.entries()) {
      assert.equal(typeof c.token, 'string');
      assert.ok(typeof c.logprob === 'number' && c.logprob <= 0, `content[${i}].logprob ${c.logprob}`);
      assert.ok(Array.isArray(c.bytes) && c.bytes.every((b) => Number.isInteger(b) && b >= 0 && b < 256), `content[${i}].bytes`);
      joined = Buffer.concat([joined, Buffer.from(c.bytes)]);
      assert.equal(c.top_logprobs.length, k, `content[${i}].top_logprobs.length`);
      for (const t of c.top_logprobs) {
        assert.equal(typeof t.token, 'string');
        assert.ok(t.logprob <= 0);
        assert.ok(Array.isArray(t.bytes));
      }
      for (let j = 1; j < k; j++) assert.ok(c.top_logprobs[j - 1].logprob >= c.top_logprobs[j].logprob, 'top_logprobs not sorted');
      assert.ok(c.top_logprobs.some((t) => t.token === c.token), `greedy token ${JSON.stringify(c.token)} not in its top list`);
      assert.ok(Math.abs(c.logprob - c.top_logprobs[0].logprob) < 1e-4, `greedy token logprob ${c.logprob} < top ${c.top_logprobs[0].logprob}`);
    }
    let decoded = null;
    try { decoded = new TextDecoder('utf-8', { fatal: true }).decode(joined); } catch { /* invalid UTF-8 in the pieces */ }
    if (decoded !== null) assert.equal(decoded, r.choices[0].message.content, 'bytes of the tokens != content');
    const none = await oa.chat.completions.create({ model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy({ max_tokens: 4 }) });
    assert.ok(none.choices[0].logprobs === null || none.choices[0].logprobs === undefined, 'logprobs without asking');
  });

  it('logprobs streamed: the chunks carry the same entries as the non-streamed answer', async () => {
    const body = { model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy({ max_tokens: 12 }), logprobs: true, top_logprobs: 2 };
    const whole = await oa.chat.completions.create(body);
    const chunks = await collect(await oa.chat.completions.create({ ...body, stream: true }));
    const streamed = [];
    for (const c of chunks) for (const ch of c.choices) if (ch.logprobs && ch.logprobs.content) streamed.push(...ch.logprobs.content);
    const key = (e) => JSON.stringify([e.token, e.bytes, e.top_logprobs.map((t) => t.token)]);
    assert.deepEqual(streamed.map(key), whole.choices[0].logprobs.content.map(key));
    for (const [i, e] of streamed.entries()) assert.ok(Math.abs(e.logprob - whole.choices[0].logprobs.content[i].logprob) < 1e-4);
  });

  it('max_tokens and max_completion_tokens are honoured (finish_reason "length")', async () => {
    for (const field of ['max_tokens', 'max_completion_tokens']) {
      const r = await oa.chat.completions.create({ model: srv.id, messages: [{ role: 'user', content: PROMPT }], temperature: 0, [field]: 5 });
      assert.ok(r.usage.completion_tokens <= 5, `${field}: ${r.usage.completion_tokens} tokens`);
      assert.equal(r.choices[0].finish_reason, 'length', `${field}: finish_reason`);
      assert.equal(r.usage.completion_tokens, 5, `${field}`);
    }
    const c = await oa.completions.create({ model: srv.id, prompt: 'Once upon a time', temperature: 0, max_tokens: 3 });
    assert.equal(c.usage.completion_tokens, 3);
    assert.equal(c.choices[0].finish_reason, 'length');
  });

  it('n: 2 -> 400; tool_choice "required" -> 400; tools with tool_choice "auto" -> 200', async () => {
    const msg = [{ role: 'user', content: PROMPT }];
    await expectAPIError(oa.chat.completions.create({ model: srv.id, messages: msg, n: 2 }), 400, 'n=2', { param: 'n' });
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
    await expectAPIError(oa.chat.completions.create({ model: srv.id, messages: msg, tools, tool_choice: 'required' }), 400, 'tool_choice required', { param: 'tool_choice' });
    await expectAPIError(oa.chat.completions.create({ model: srv.id, messages: msg, tools, tool_choice: { type: 'function', function: { name: 'get_weather' } } }), 400, 'named tool_choice');
    const ok = await oa.chat.completions.create({ model: srv.id, messages: msg, tools, tool_choice: 'auto', max_tokens: 8, temperature: 0 });
    assert.equal(ok.choices.length, 1);
    // a conversation with an assistant tool call and a tool answer renders
    const conv = await oa.chat.completions.create({
      model: srv.id, max_tokens: 4, temperature: 0, tools,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      ],
    });
    assert.equal(conv.choices.length, 1);
  });

  it('invalid values surface as BadRequestError (400) with the param', async () => {
    const msg = [{ role: 'user', content: 'hi' }];
    await expectAPIError(oa.chat.completions.create({ model: srv.id, messages: msg, temperature: -1 }), 400, 'temperature -1', { param: 'temperature' });
    await expectAPIError(oa.chat.completions.create({ model: srv.id, messages: msg, top_p: 0 }), 400, 'top_p 0', { param: 'top_p' });
    await expectAPIError(oa.chat.completions.create({ model: srv.id, messages: msg, max_tokens: 0 }), 400, 'max_tokens 0', { param: 'max_tokens' });
    await expectAPIError(oa.chat.completions.create({ model: srv.id, messages: msg, top_logprobs: 30, logprobs: true }), 400, 'top_logprobs 30', { param: 'top_logprobs' });
    await expectAPIError(oa.chat.completions.create({ model: srv.id, messages: msg, response_format: { type: 'json_object' } }), 400, 'response_format json_object', { param: /response_format/ });
    await expectAPIError(oa.chat.completions.create({ model: srv.id, messages: [] }), 400, 'empty messages', { param: /messages/ });
    await expectAPIError(oa.completions.create({ model: srv.id, prompt: 'x', echo: true }), 400, 'echo', { param: 'echo' });
    const ok = await oa.chat.completions.create({ model: srv.id, messages: msg, max_tokens: 2, response_format: { type: 'text' }, unknown_field_is_ignored: 1 });
    assert.equal(ok.choices.length, 1);
  });

  it('unknown model -> NotFoundError (404, model_not_found)', async () => {
    await expectAPIError(oa.chat.completions.create({ model: 'gpt-nonexistent', messages: [{ role: 'user', content: 'hi' }] }), 404, 'chat unknown model', { code: 'model_not_found' });
    await expectAPIError(oa.completions.create({ model: 'gpt-nonexistent', prompt: 'hi' }), 404, 'completions unknown model', { code: 'model_not_found' });
  });
});

// The R1 fixture's template (llama.cpp's edit of the R1-Distill one) ends the
// generation prompt with `<think>\n` and adds `</think>` unless enable_thinking
// is true; llama.cpp's server passes enable_thinking=true unless told otherwise.
const THINK = { chat_template_kwargs: { enable_thinking: true } };

describe('reasoning (DeepSeek-R1-Distill template: the prompt opens <think>)', () => {
  let srv, oa;
  before(async () => { srv = await startServer({ model: MODELS.r1 }); oa = client(srv); });
  after(async () => { if (srv) await srv.stop(); });

  it('non-streamed: reasoning_content (and reasoning) non-empty, content without think tags', async () => {
    const r = await oa.chat.completions.create({ model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy(), ...THINK });
    const m = r.choices[0].message;
    assert.equal(typeof m.reasoning_content, 'string', `message ${JSON.stringify(m)}`);
    assert.ok(m.reasoning_content.length > 0, 'empty reasoning_content');
    assert.equal(m.reasoning, m.reasoning_content, '"reasoning" != "reasoning_content"');
    assert.ok(!/<\/?think>/.test(m.content || ''), `content holds think tags: ${JSON.stringify(m.content)}`);
    assert.ok(!/<\/?think>/.test(m.reasoning_content), `reasoning_content holds think tags: ${JSON.stringify(m.reasoning_content)}`);
  });

  it('default (no chat_template_kwargs): thinking is on, as in llama.cpp: the output is reasoning', async () => {
    const r = await oa.chat.completions.create({ model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy() });
    const m = r.choices[0].message;
    assert.ok(typeof m.reasoning_content === 'string' && m.reasoning_content.length > 0,
      `no reasoning_content by default (the template closes <think> when enable_thinking is not set): ${JSON.stringify(m)}`);
    const off = await oa.chat.completions.create({ model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy(), chat_template_kwargs: { enable_thinking: false } });
    assert.ok(!off.choices[0].message.reasoning_content, 'reasoning with enable_thinking false');
    assert.ok(off.choices[0].message.content.length > 0);
  });

  it('streamed == non-streamed for reasoning and content', async () => {
    const body = { model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy(), reasoning_budget: 8, ...THINK };
    const whole = (await oa.chat.completions.create(body)).choices[0].message;
    const j = joinChat(await collect(await oa.chat.completions.create({ ...body, stream: true })));
    assert.equal(j.reasoning, whole.reasoning_content || '');
    assert.equal(j.text, whole.content || '');
  });

  it('reasoning_budget 5: reasoning deltas come before content deltas, and content appears', async () => {
    const body = { model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy(), reasoning_budget: 5, ...THINK };
    const chunks = await collect(await oa.chat.completions.create({ ...body, stream: true }));
    const j = joinChat(chunks);
    assert.ok(j.reasoning.length > 0, 'no reasoning deltas');
    assert.ok(j.text.length > 0, `no content after the reasoning budget (finish ${j.finishes})`);
    const firstC = j.order.indexOf('c');
    const lastR = j.order.lastIndexOf('r');
    assert.ok(lastR < firstC, `reasoning after content: ${j.order.join('')}`);
    assert.ok(!/<\/?think>/.test(j.text), `content holds think tags: ${JSON.stringify(j.text)}`);
    assert.equal(j.finishes.length, 1);
    for (const c of chunks) {
      const d = c.choices[0]?.delta;
      if (d && d.reasoning_content) assert.equal(d.reasoning, d.reasoning_content, 'delta.reasoning != delta.reasoning_content');
    }
  });

  it('reasoning_budget 0: no reasoning at all, the answer goes to content', async () => {
    // deepc.h: the budget is the most reasoning tokens before </think> is forced
    for (const stream of [false, true]) {
      const body = { model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy({ max_tokens: 12 }), reasoning_budget: 0, ...THINK };
      let reasoning, content;
      if (stream) {
        const j = joinChat(await collect(await oa.chat.completions.create({ ...body, stream: true })));
        reasoning = j.reasoning;
        content = j.text;
      } else {
        const m = (await oa.chat.completions.create(body)).choices[0].message;
        reasoning = m.reasoning_content || '';
        content = m.content;
      }
      assert.equal(reasoning, '', `stream=${stream}: reasoning with a budget of 0: ${JSON.stringify(reasoning)}`);
      assert.ok(content.length > 0, `stream=${stream}: no content`);
    }
  });

  it('content never holds think tags, even when the model samples them after the reasoning', async () => {
    const found = await thinkTagsInContent(oa, srv, { reasoning_budget: 3, ...THINK });
    assert.deepEqual(found, [], `${found.length} of 40 sampled answers have <think>/</think> in content`);
  });

  it('max_tokens holds when the reasoning budget forces </think> (completion_tokens <= max_tokens)', async () => {
    const over = [];
    for (const max_tokens of [1, 2, 3, 6]) {
      for (const reasoning_budget of [0, 1, 2]) {
        const r = await oa.chat.completions.create({
          model: srv.id, messages: [{ role: 'user', content: PROMPT }], temperature: 0, max_tokens, reasoning_budget, ...THINK,
        });
        if (r.usage.completion_tokens > max_tokens) over.push(`max_tokens ${max_tokens}, budget ${reasoning_budget}: ${r.usage.completion_tokens} tokens`);
      }
    }
    assert.deepEqual(over, []);
  });

  it('assistant history with reasoning_content / reasoning is accepted', async () => {
    for (const key of ['reasoning_content', 'reasoning']) {
      const r = await oa.chat.completions.create({
        model: srv.id, max_tokens: 4, temperature: 0,
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello', [key]: 'the user greets me' },
          { role: 'user', content: [{ type: 'text', text: 'how are you?' }] },
        ],
      });
      assert.equal(r.choices.length, 1, key);
    }
  });
});

describe('Qwen3 template: chat_template_kwargs, tool calls', () => {
  let srv, oa;
  before(async () => { srv = await startServer({ model: MODELS.qwen3 }); oa = client(srv); });
  after(async () => { if (srv) await srv.stop(); });

  it('enable_thinking false is accepted; no think tags in content', async () => {
    const r = await oa.chat.completions.create({
      model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy({ max_tokens: 16 }),
      chat_template_kwargs: { enable_thinking: false },
    });
    assert.equal(r.choices.length, 1);
    assert.ok(!/<\/?think>/.test(r.choices[0].message.content || ''), `content ${JSON.stringify(r.choices[0].message.content)}`);
    const on = await oa.chat.completions.create({
      model: srv.id, messages: [{ role: 'user', content: PROMPT }], ...greedy({ max_tokens: 16 }),
      chat_template_kwargs: { enable_thinking: true },
    });
    // the prompts differ (the disabled one carries an empty think block), so the usage differs
    assert.notEqual(on.usage.prompt_tokens, r.usage.prompt_tokens, 'enable_thinking made no difference to the prompt');
    await expectAPIError(oa.chat.completions.create({
      model: srv.id, messages: [{ role: 'user', content: 'x' }], chat_template_kwargs: 'nope',
    }), 400, 'chat_template_kwargs not an object', { param: 'chat_template_kwargs' });
  });
  it('content never holds think tags, even when the model samples them mid-answer', async () => {
    const found = await thinkTagsInContent(oa, srv, {});
    assert.deepEqual(found, [], `${found.length} of 40 sampled answers have <think>/</think> in content`);
  });

  it('the OpenAI tool-call round trip (assistant content null + tool_calls, then a tool message) renders', async () => {
    // the contract allows content null on an assistant message with tool_calls; the
    // official client sends exactly this when it replays a tool call
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } };
    for (const content of ['', null]) {
      let r;
      try {
        r = await oa.chat.completions.create({
          model: srv.id, max_tokens: 4, temperature: 0, tools,
          messages: [
            { role: 'user', content: 'Weather in Paris?' },
            { role: 'assistant', content, tool_calls: [call] },
            { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
          ],
        });
      } catch (e) {
        assert.fail(`assistant content ${JSON.stringify(content)} with tool_calls: ${e.status} ${e.message}`);
      }
      assert.equal(r.choices.length, 1);
    }
  });
});

describe('API key and --alias', () => {
  // an alias shaped like a Hugging Face id with a tag: '/', ':' and a space
  const ALIAS = 'org-x/tiny model:q8';
  let srv;
  before(async () => { srv = await startServer({ model: MODELS.plain, args: ['--api-key', 'sk-test-key', '--alias', ALIAS] }); });
  after(async () => { if (srv) await srv.stop(); });

  it('wrong key -> AuthenticationError (401); right key works; the alias is the model id', async () => {
    const bad = client(srv, 'sk-wrong');
    await expectAPIError(bad.models.list(), 401, 'models.list wrong key', { code: 'invalid_api_key' });
    await expectAPIError(bad.chat.completions.create({ model: ALIAS, messages: [{ role: 'user', content: 'hi' }] }), 401, 'chat wrong key');
    const good = client(srv, 'sk-test-key');
    const ids = (await good.models.list()).data.map((m) => m.id);
    assert.deepEqual(ids, [ALIAS]);
    const one = await good.models.retrieve(ALIAS); // the client percent-encodes the id
    assert.equal(one.id, ALIAS);
    const r = await good.chat.completions.create({ model: ALIAS, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    assert.equal(r.model, ALIAS);
    await expectAPIError(good.chat.completions.create({ model: modelId(MODELS.plain), messages: [{ role: 'user', content: 'hi' }] }), 404, 'file name when aliased');
  });
});
