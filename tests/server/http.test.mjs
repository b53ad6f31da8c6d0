// http.test.mjs - `deepc serve` over raw sockets and fetch: every error class
// with its status and body shape, authentication, binding rules, hostile and
// malformed HTTP, keep-alive, pipelining, slow clients, disconnects, metrics.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync, openSync, closeSync, constants as fsc } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import {
  startServer, runDeepc, MODELS, modelPath, rawRequest, readResponses, httpBytes, parseSSE, postJSON, getJSON,
  assertErrorBody, assertHealthy, metrics, metricValue, waitSlotsIdle, sleep, streamPost,
} from './harness.mjs';

const CHAT = '/v1/chat/completions';
const COMPL = '/v1/completions';
const user = (content) => [{ role: 'user', content }];

// A rejected request: a 4xx response, or the connection closed without one.
// Never a 5xx, never silence until the timeout.
function assertRejectedOrClosed(res, ctx, alsoAllowed = []) {
  assert.ok(!res.timedOut || res.responses.length > 0, `${ctx}: no answer and the connection stayed open (timed out)`);
  if (res.responses.length) {
    const s = res.responses[0].status;
    assert.ok((s >= 400 && s < 500) || alsoAllowed.includes(s), `${ctx}: status ${s} (expected 4xx): ${res.responses[0].body.toString().slice(0, 200)}`);
  } else {
    assert.ok(res.closed, `${ctx}: neither a response nor a close`);
  }
}

function bodyJSON(resp) {
  try { return JSON.parse(resp.body.toString('utf8')); } catch { return null; }
}

describe('errors, transport and metrics (one server, --parallel 2)', () => {
  let srv;
  before(async () => { srv = await startServer({ model: MODELS.plain, args: ['--parallel', '2'] }); });
  after(async () => { if (srv) await srv.stop(); });

  const bad400 = [
    ['malformed JSON', '{"messages": [{"role": "user", "content": "hi"}', undefined],
    ['truncated JSON string', '{"messages": "', undefined],
    ['body an array', '[{"role":"user","content":"hi"}]', undefined],
    ['body a string', '"hello"', undefined],
    ['body a number', '42', undefined],
    ['body null', 'null', undefined],
    ['empty body', '', undefined],
    ['missing messages', {}, /messages/],
    ['empty messages', { messages: [] }, /messages/],
    ['messages a string', { messages: 'hi' }, /messages/],
    ['messages an object', { messages: { role: 'user', content: 'hi' } }, /messages/],
    ['message not an object', { messages: ['hi'] }, /messages/],
    ['unknown role', { messages: [{ role: 'wizard', content: 'hi' }] }, /messages|role/],
    ['missing role', { messages: [{ content: 'hi' }] }, /messages|role/],
    ['content a number', { messages: [{ role: 'user', content: 42 }] }, /messages|content/],
    ['content an object', { messages: [{ role: 'user', content: { text: 'hi' } }] }, /messages|content/],
    ['content part image_url', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x/y.png' } }] }] }, /messages|content/],
    ['temperature < 0', { messages: user('hi'), temperature: -0.5 }, /temperature/],
    ['temperature > 2', { messages: user('hi'), temperature: 2.5 }, /temperature/],
    ['temperature a string', { messages: user('hi'), temperature: 'hot' }, /temperature/],
    ['top_p 0', { messages: user('hi'), top_p: 0 }, /top_p/],
    ['top_p > 1', { messages: user('hi'), top_p: 1.5 }, /top_p/],
    ['top_k negative', { messages: user('hi'), top_k: -1 }, /top_k/],
    ['top_k fractional', { messages: user('hi'), top_k: 2.5 }, /top_k/],
    ['min_p > 1', { messages: user('hi'), min_p: 1.5 }, /min_p/],
    ['presence_penalty > 2', { messages: user('hi'), presence_penalty: 3 }, /presence_penalty/],
    ['frequency_penalty < -2', { messages: user('hi'), frequency_penalty: -3 }, /frequency_penalty/],
    ['repeat_penalty 0', { messages: user('hi'), repeat_penalty: 0 }, /repeat_penalty/],
    ['seed a string', { messages: user('hi'), seed: 'abc' }, /seed/],
    ['negative max_tokens', { messages: user('hi'), max_tokens: -5 }, /max_tokens/],
    ['max_tokens 0', { messages: user('hi'), max_tokens: 0 }, /max_tokens/],
    ['max_tokens fractional', { messages: user('hi'), max_tokens: 1.5 }, /max_tokens/],
    ['max_tokens a string', { messages: user('hi'), max_tokens: '10' }, /max_tokens/],
    ['max_completion_tokens negative', { messages: user('hi'), max_completion_tokens: -1 }, /max_completion_tokens/],
    ['n = 2', { messages: user('hi'), n: 2 }, /^n$/],
    ['stop a number', { messages: user('hi'), stop: 5 }, /stop/],
    ['stop: 9 strings', { messages: user('hi'), stop: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] }, /stop/],
    ['logprobs a string', { messages: user('hi'), logprobs: 'yes' }, /logprobs/],
    ['top_logprobs without logprobs', { messages: user('hi'), top_logprobs: 3 }, /top_logprobs/],
    ['top_logprobs 21', { messages: user('hi'), logprobs: true, top_logprobs: 21 }, /top_logprobs/],
    ['stream a string', { messages: user('hi'), stream: 'yes' }, /stream/],
    ['model a number', { model: 7, messages: user('hi') }, /model/],
    ['tool_choice required', { messages: user('hi'), tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'required' }, /tool_choice/],
    ['tools not an array', { messages: user('hi'), tools: 'f' }, /tools/],
    ['response_format json_schema', { messages: user('hi'), response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } } }, /response_format/],
    ['reasoning_budget a string', { messages: user('hi'), reasoning_budget: 'lots' }, /reasoning_budget/],
    ['chat_template_kwargs an array', { messages: user('hi'), chat_template_kwargs: [1] }, /chat_template_kwargs/],
    ['top_logprobs with logprobs false', { messages: user('hi'), logprobs: false, top_logprobs: 2 }, /top_logprobs/],
    ['stop array with a number', { messages: user('hi'), stop: ['a', 5] }, /stop/],
    ['tool without a function name', { messages: user('hi'), tools: [{ type: 'function', function: { description: 'x' } }] }, /tools/],
    ['user content null', { messages: [{ role: 'user', content: null }] }, /messages|content/],
    ['assistant content null without tool_calls', { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: null }, { role: 'user', content: 'b' }] }, /messages|content/],
    ['text part without text', { messages: [{ role: 'user', content: [{ type: 'text' }] }] }, /messages|content/],
  ];

  for (const [name, body, param] of bad400) {
    it(`400 chat: ${name}`, async () => {
      const r = await postJSON(srv, CHAT, body);
      assert.equal(r.status, 400, `${name}: ${r.status} ${r.text}`);
      assert.match(r.headers.get('content-type') || '', /application\/json/);
      assertErrorBody(r.json, { type: 'invalid_request_error', param }, name);
      await assertHealthy(srv, name);
    });
  }

  const badCompl = [
    ['missing prompt', {}, /prompt/],
    ['prompt a number', { prompt: 5 }, /prompt/],
    ['prompt an array of two strings', { prompt: ['a', 'b'] }, /prompt/],
    ['prompt: token id out of the vocabulary', { prompt: [1, 2, 99999999] }, /prompt/],
    ['prompt: negative token id', { prompt: [1, -2, 3] }, /prompt/],
    ['prompt: fractional token id', { prompt: [1, 2.5] }, /prompt/],
    ['echo true', { prompt: 'hi', echo: true }, /echo/],
    ['logprobs 6', { prompt: 'hi', logprobs: 6 }, /logprobs/],
    ['n = 3', { prompt: 'hi', n: 3 }, /^n$/],
    ['temperature a string', { prompt: 'hi', temperature: 'x' }, /temperature/],
  ];
  for (const [name, body, param] of badCompl) {
    it(`400 completions: ${name}`, async () => {
      const r = await postJSON(srv, COMPL, body);
      assert.equal(r.status, 400, `${name}: ${r.status} ${r.text}`);
      assertErrorBody(r.json, { type: 'invalid_request_error', param }, name);
      await assertHealthy(srv, name);
    });
  }

  it('200 baseline: a valid chat request with unknown extra fields', async () => {
    const r = await postJSON(srv, CHAT, { messages: user('hi'), max_tokens: 3, temperature: 0, some_unknown_field: { a: 1 } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.object, 'chat.completion');
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
  });

  it('200: the other valid shapes (developer role, text parts, 8 stops, top_logprobs 0, n 1, JSON nulls)', async () => {
    const cases = [
      ['developer role', { messages: [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: 'hi' }] }],
      ['text parts', { messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello ' }, { type: 'text', text: 'there' }] }] }],
      ['8 stop strings', { messages: user('hi'), stop: ['a1', 'b2', 'c3', 'd4', 'e5', 'f6', 'g7', 'h8'] }],
      ['top_logprobs 0', { messages: user('hi'), logprobs: true, top_logprobs: 0 }],
      ['n 1', { messages: user('hi'), n: 1 }],
      ['model given', { model: srv.id, messages: user('hi') }],
      // OpenAI's schema marks these nullable; SDKs and frameworks send null for "default"
      ['JSON nulls', { messages: user('hi'), temperature: null, top_p: null, stop: null, seed: null, n: null, tools: null, tool_choice: null, logprobs: null, top_logprobs: null, stream: null, stream_options: null, response_format: null, presence_penalty: null, frequency_penalty: null, user: null }],
      ['system + assistant history', { messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }] }],
      ['boundary values', { messages: user('hi'), temperature: 2, top_p: 1, top_k: 0, min_p: 0, presence_penalty: -2, frequency_penalty: 2, repeat_penalty: 0.5, top_logprobs: 20, logprobs: true }],
      ['integer temperature', { messages: user('hi'), temperature: 1 }],
      ['seed -1 and a large seed', { messages: user('hi'), seed: -1 }],
      ['large seed', { messages: user('hi'), seed: 2 ** 40 }],
      ['tool_choice none', { messages: user('hi'), tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'none' }],
      ['reasoning_budget -1 and 0', { messages: user('hi'), reasoning_budget: -1 }],
      ['reasoning_budget 0', { messages: user('hi'), reasoning_budget: 0 }],
      ['stream_options without stream', { messages: user('hi'), stream_options: { include_usage: true } }],
      ['empty user content', { messages: user('') }],
    ];
    const fails = [];
    for (const [name, body] of cases) {
      const r = await postJSON(srv, CHAT, { max_tokens: 3, ...body });
      if (r.status !== 200) fails.push(`${name}: ${r.status} ${r.text.slice(0, 200)}`);
      else if (name === 'top_logprobs 0') {
        for (const c of r.json.choices[0].logprobs.content) if (c.top_logprobs.length !== 0) fails.push('top_logprobs 0: non-empty top list');
      }
    }
    const c = await postJSON(srv, COMPL, { prompt: 'hi', max_tokens: 2, logprobs: null, stop: null, echo: false, suffix: null });
    if (c.status !== 200) fails.push(`completions with nulls / echo false: ${c.status} ${c.text.slice(0, 200)}`);
    assert.deepEqual(fails, []);
  });

  it('400: bodies that are not valid UTF-8 JSON, deep nesting; a huge prompt is refused quickly', async () => {
    const raw = async (bytes) => {
      const r = await fetch(srv.local + CHAT, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: bytes });
      return { status: r.status, json: await r.json().catch(() => null) };
    };
    const bad = [
      ['invalid UTF-8', Buffer.concat([Buffer.from('{"messages":[{"role":"user","content":"ab'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')])],
      ['overlong UTF-8', Buffer.concat([Buffer.from('{"messages":[{"role":"user","content":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}]}')])],
      ['deep array nesting', Buffer.from('['.repeat(100000) + ']'.repeat(100000))],
      ['deep nesting inside messages', Buffer.from('{"messages":' + '['.repeat(50000) + ']'.repeat(50000) + '}')],
      ['trailing garbage', Buffer.from('{"messages":[{"role":"user","content":"hi"}]} xyz')],
      ['two JSON values', Buffer.from('{"messages":[{"role":"user","content":"hi"}]}{}')],
    ];
    for (const [name, b] of bad) {
      const r = await raw(b);
      assert.equal(r.status, 400, `${name}: ${r.status}`);
      assertErrorBody(r.json, { type: 'invalid_request_error' }, name);
    }
    const t0 = performance.now();
    const big = await postJSON(srv, CHAT, { messages: user('hello world '.repeat(250000)), max_tokens: 2 });
    const dt = performance.now() - t0;
    assert.equal(big.status, 400, big.text.slice(0, 200));
    assertErrorBody(big.json, { code: 'context_length_exceeded' }, '3 MB prompt');
    assert.ok(dt < 5000, `a 3 MB prompt took ${dt.toFixed(0)} ms to refuse`);
    await assertHealthy(srv, 'bad bodies');
  });

  it('JSON strings holding \\u0000 are refused or kept whole, never cut at the NUL', async () => {
    const fails = [];
    // content: "a\u0000b" must not become "a"
    const a = await postJSON(srv, CHAT, { messages: user('a'), max_tokens: 1, temperature: 0 });
    const anb = await postJSON(srv, CHAT, { messages: user('a\u0000b'), max_tokens: 1, temperature: 0 });
    if (anb.status === 200 && anb.json.usage.prompt_tokens === a.json.usage.prompt_tokens) {
      fails.push(`content "a\\u0000b" was read as "a" (${anb.json.usage.prompt_tokens} prompt tokens, same as "a")`);
    } else if (anb.status !== 200 && anb.status !== 400) fails.push(`content with NUL: ${anb.status}`);
    // a model id with a NUL and more is not the served id
    const m = await postJSON(srv, CHAT, { model: `${srv.id}\u0000junk`, messages: user('hi'), max_tokens: 1 });
    if (m.status === 200) fails.push(`model "${srv.id}\\u0000junk" was served as "${srv.id}"`);
    // "user\u0000" is not a role
    const r = await postJSON(srv, CHAT, { messages: [{ role: 'user\u0000x', content: 'hi' }], max_tokens: 1 });
    if (r.status !== 400) fails.push(`role "user\\u0000x" answered ${r.status}`);
    await assertHealthy(srv, 'NUL in strings');
    assert.deepEqual(fails, []);
  });

  it('responses are valid UTF-8 byte for byte, streamed and not (multi-byte output)', async () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const prompts = ['你好，世界！请用中文回答。', 'Ünïcödé – ß ∑ 😀 文字', 'Hello, how are you?'];
    for (const p of prompts) {
      for (const stream of [false, true]) {
        const body = { messages: user(p), max_tokens: 40, temperature: 1.2, seed: 5, stream };
        const res = await rawRequest(srv.port, httpBytes('POST', CHAT, { port: srv.port, body }), { timeoutMs: 15000 });
        assert.equal(res.responses.length, 1, `${p} stream=${stream}: no response`);
        const resp = res.responses[0];
        assert.equal(resp.status, 200);
        let text;
        try { text = strict.decode(resp.body); } catch { assert.fail(`${p} stream=${stream}: the response body is not valid UTF-8`); }
        if (stream) {
          for (const ev of parseSSE(text)) if (ev !== '[DONE]') JSON.parse(ev);
        } else {
          JSON.parse(text);
        }
      }
    }
  });

  it('Expect: 100-continue gets 100 Continue, then the answer', async () => {
    const body = JSON.stringify({ messages: user('hi'), max_tokens: 2 });
    const sock = net.connect({ host: '127.0.0.1', port: srv.port });
    sock.on('error', () => {});
    try {
      await new Promise((r) => sock.on('connect', r));
      sock.write(`POST ${CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`);
      const first = await readResponses(sock, { timeoutMs: 3000 });
      assert.ok(first.responses.length, `no interim response (closed ${first.closed})`);
      assert.equal(first.responses[0].status, 100);
      sock.write(body);
      const second = await readResponses(sock, { timeoutMs: 10000 });
      assert.ok(second.responses.length, 'no final response');
      assert.equal(second.responses[0].status, 200);
    } finally {
      sock.destroy();
    }
  });

  it('a query string does not change the route', async () => {
    assert.equal((await getJSON(srv, '/health?probe=1')).status, 200);
    const m = await getJSON(srv, '/v1/models?limit=5');
    assert.equal(m.status, 200);
    assert.equal(m.json.object, 'list');
  });

  it('404: unknown path, unknown model id', async () => {
    for (const p of ['/nope', '/v1/nope', '/v1/chat/completion', '/v2/models']) {
      const r = await getJSON(srv, p);
      assert.equal(r.status, 404, `${p}: ${r.status}`);
      assertErrorBody(r.json, { type: 'not_found_error' }, p);
    }
    const m = await getJSON(srv, '/v1/models/not-a-model');
    assert.equal(m.status, 404);
    assertErrorBody(m.json, { type: 'not_found_error' }, 'GET /v1/models/not-a-model');
    for (const p of [CHAT, COMPL]) {
      const body = p === CHAT ? { model: 'not-a-model', messages: user('hi') } : { model: 'not-a-model', prompt: 'hi' };
      const r = await postJSON(srv, p, body);
      assert.equal(r.status, 404, `${p}: ${r.status} ${r.text}`);
      assertErrorBody(r.json, { type: 'not_found_error', code: 'model_not_found' }, `${p} unknown model`);
    }
    await assertHealthy(srv, '404');
  });

  it('405: known path, wrong method', async () => {
    for (const [method, p] of [['GET', CHAT], ['PUT', CHAT], ['GET', COMPL], ['DELETE', '/v1/models'], ['POST', '/health'], ['POST', '/v1/models']]) {
      const r = await fetch(srv.local + p, { method, headers: method === 'GET' ? {} : { 'Content-Type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
      const text = await r.text();
      assert.equal(r.status, 405, `${method} ${p}: ${r.status} ${text}`);
      let j = null;
      try { j = JSON.parse(text); } catch { /* checked below */ }
      assertErrorBody(j, {}, `${method} ${p}`);
    }
    await assertHealthy(srv, '405');
  });

  it('413: a Content-Length of 64 MiB is refused before any body is sent', async () => {
    const head = `POST ${CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`;
    const res = await rawRequest(srv.port, head, { timeoutMs: 5000 });
    assert.ok(res.responses.length >= 1, `no response within 5 s (closed ${res.closed}, timed out ${res.timedOut}): ${res.raw.toString().slice(0, 200)}`);
    const resp = res.responses[0];
    assert.equal(resp.status, 413, resp.body.toString());
    assertErrorBody(bodyJSON(resp), { code: 'request_too_large' }, '413');
    await assertHealthy(srv, '413');
  });

  it('CORS: OPTIONS -> 204 with allow headers; GET / is the web page', async () => {
    for (const p of [CHAT, COMPL, '/v1/models']) {
      const r = await fetch(srv.local + p, { method: 'OPTIONS', headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, authorization' } });
      assert.equal(r.status, 204, `OPTIONS ${p}`);
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
      assert.ok(r.headers.get('access-control-allow-methods'), 'no Access-Control-Allow-Methods');
      assert.match(r.headers.get('access-control-allow-headers') || '', /authorization|\*/i, 'Allow-Headers lacks authorization');
    }
    const e = await getJSON(srv, '/nope');
    assert.equal(e.headers.get('access-control-allow-origin'), '*', 'error responses lack CORS');
    const page = await fetch(srv.local + '/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') || '', /text\/html/);
    assert.ok((await page.text()).length > 0);
  });

  it('garbage bytes -> 4xx or a closed connection', async () => {
    const inputs = [
      Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x80, 0x0d, 0x0a, 0x0d, 0x0a]),
      Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not TLS\r\n\r\n', 'latin1'),
      Buffer.from('HELLO WORLD\r\n\r\n'),
      Buffer.from('GET /health HTTP/9.9\r\n\r\n'),
      Buffer.from('GET /health\r\n\r\n'),
    ];
    // all sent at once, each on its own socket
    const results = await Promise.all(inputs.map((b) => rawRequest(srv.port, b, { timeoutMs: 5000 })));
    const fails = [];
    for (const [i, res] of results.entries()) {
      if (res.responses.length && res.responses[0].status === 200 && i === 4) continue; // HTTP/0.9 style may be served
      // 505 HTTP Version Not Supported is the one 5xx that names a client's fault
      try {
        assertRejectedOrClosed(res, `garbage #${i} ${JSON.stringify(inputs[i].toString('latin1').slice(0, 30))}`, i === 3 ? [505] : []);
      } catch (e) { fails.push(e.message); }
    }
    await assertHealthy(srv, 'garbage');
    assert.deepEqual(fails, []);
  });

  it('a 200 KB header line and a 200 KB URI -> 4xx or closed', async () => {
    const big = 'a'.repeat(200 * 1024);
    const h = await rawRequest(srv.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${big}\r\n\r\n`, { timeoutMs: 5000 });
    assertRejectedOrClosed(h, '200 KB header');
    const many = Array.from({ length: 4000 }, (_, i) => `X-H${i}: ${'b'.repeat(50)}\r\n`).join('');
    const hm = await rawRequest(srv.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n${many}\r\n`, { timeoutMs: 5000 });
    assertRejectedOrClosed(hm, '4000 headers (200 KB)');
    const u = await rawRequest(srv.port, `GET /v1/models?${big} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, { timeoutMs: 5000 });
    assertRejectedOrClosed(u, '200 KB URI');
    await assertHealthy(srv, 'big header');
  });

  it('bad Content-Length ("abc", negative, conflicting) -> 4xx or closed', async () => {
    const body = JSON.stringify({ messages: user('hi'), max_tokens: 1 });
    const fails = [];
    for (const cl of ['abc', '-5', '1e3', ' 12x', '99999999999999999999999']) {
      const res = await rawRequest(srv.port, `POST ${CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${cl}\r\n\r\n${body}`, { timeoutMs: 5000 });
      try { assertRejectedOrClosed(res, `Content-Length: ${cl}`); } catch (e) { fails.push(e.message); }
    }
    // RFC 9112 6.3: differing Content-Length values are a framing error (request smuggling)
    const two = await rawRequest(srv.port, `POST ${CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nContent-Length: 3\r\n\r\n${body}`, { timeoutMs: 5000 });
    try { assertRejectedOrClosed(two, 'two different Content-Lengths'); } catch (e) { fails.push(e.message.slice(0, 120)); }
    await assertHealthy(srv, 'bad content-length');
    assert.deepEqual(fails, []);
  });

  it('bad chunked encoding -> 4xx or closed', async () => {
    const head = `POST ${CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    for (const [name, body] of [
      ['non-hex size', 'zz\r\nhello\r\n0\r\n\r\n'],
      ['huge size', 'ffffffffffffffffff\r\n{}\r\n0\r\n\r\n'],
      ['missing CRLF after data', '2\r\n{}XX0\r\n\r\n'],
    ]) {
      const res = await rawRequest(srv.port, head + body, { timeoutMs: 5000 });
      assertRejectedOrClosed(res, `chunked: ${name}`);
    }
    // a well-formed chunked body is accepted
    const good = JSON.stringify({ messages: user('hi'), max_tokens: 2 });
    const a = good.slice(0, 10), b = good.slice(10);
    const ok = await rawRequest(srv.port, `${head}${a.length.toString(16)}\r\n${a}\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`, { timeoutMs: 10000 });
    assert.ok(ok.responses.length, 'no answer to a valid chunked body');
    assert.equal(ok.responses[0].status, 200, ok.responses[0].body.toString());
    await assertHealthy(srv, 'chunked');
  });

  it('keep-alive: a second request on the socket after a streamed response', async () => {
    const req1 = httpBytes('POST', CHAT, { port: srv.port, body: { messages: user('hello'), max_tokens: 8, temperature: 0, stream: true } });
    const r1 = await rawRequest(srv.port, req1, { timeoutMs: 15000, keepOpen: true });
    try {
      assert.ok(r1.responses.length >= 1, `no complete streamed response: ${r1.raw.toString().slice(0, 300)}`);
      const resp = r1.responses[0];
      assert.equal(resp.status, 200);
      assert.match(resp.headers['content-type'] || '', /text\/event-stream/);
      const events = parseSSE(resp.body.toString('utf8'));
      assert.equal(events[events.length - 1], '[DONE]', 'stream does not end with [DONE]');
      assert.equal(events.filter((e) => e === '[DONE]').length, 1);
      for (const e of events.slice(0, -1)) assert.equal(JSON.parse(e).object, 'chat.completion.chunk');
      assert.ok(resp.body.toString('utf8').endsWith('data: [DONE]\n\n'), 'stream does not end with "data: [DONE]\\n\\n"');
      if (/close/i.test(resp.headers.connection || '')) {
        const rest = await readResponses(r1.socket, { timeoutMs: 3000 });
        assert.ok(rest.closed, 'Connection: close but the socket stays open');
        return;
      }
      r1.socket.write(httpBytes('GET', '/health', { port: srv.port }));
      const r2 = await readResponses(r1.socket, { timeoutMs: 5000 });
      assert.ok(r2.responses.length === 1, `no second response on a kept-alive socket (closed ${r2.closed})`);
      assert.equal(r2.responses[0].status, 200);
      // and a non-streamed request after that
      r1.socket.write(httpBytes('POST', COMPL, { port: srv.port, body: { prompt: 'hi', max_tokens: 2 } }));
      const r3 = await readResponses(r1.socket, { timeoutMs: 10000 });
      if (!/close/i.test(r2.responses[0].headers.connection || '')) {
        assert.equal(r3.responses.length, 1, 'no third response');
        assert.equal(r3.responses[0].status, 200);
      }
    } finally {
      r1.socket.destroy();
    }
  });

  it('pipelining: two requests written at once -> two responses in order', async () => {
    const a = httpBytes('POST', COMPL, { port: srv.port, body: { prompt: 'The quick brown fox', max_tokens: 8, temperature: 0 } });
    const b = httpBytes('GET', '/v1/models', { port: srv.port });
    const c = httpBytes('GET', '/health', { port: srv.port });
    const res = await rawRequest(srv.port, Buffer.concat([a, b, c]), { responses: 3, timeoutMs: 15000 });
    assert.equal(res.responses.length, 3, `got ${res.responses.length} responses (closed ${res.closed}): ${res.raw.toString().slice(0, 400)}`);
    const [x, y, z] = res.responses.map(bodyJSON);
    assert.equal(res.responses[0].status, 200);
    assert.equal(x.object, 'text_completion', 'first response is not the completion');
    assert.equal(y.object, 'list', 'second response is not the model list');
    assert.deepEqual(z, { status: 'ok' }, 'third response is not /health');
  });

  it('pipelining after a streamed request: the stream, then the next answer', async () => {
    const a = httpBytes('POST', CHAT, { port: srv.port, body: { messages: user('hello'), max_tokens: 12, temperature: 0, stream: true } });
    const b = httpBytes('GET', '/health', { port: srv.port });
    const res = await rawRequest(srv.port, Buffer.concat([a, b]), { responses: 2, timeoutMs: 15000 });
    assert.equal(res.responses.length, 2, `got ${res.responses.length} responses (closed ${res.closed})`);
    assert.match(res.responses[0].headers['content-type'] || '', /text\/event-stream/);
    const events = parseSSE(res.responses[0].body.toString('utf8'));
    assert.equal(events[events.length - 1], '[DONE]');
    assert.deepEqual(bodyJSON(res.responses[1]), { status: 'ok' });
  });

  it('slowloris: clients sending one header byte per 200 ms do not hold up a chat request', async () => {
    const head = `POST ${CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: ${'s'.repeat(40)}\r\n`;
    const slowTotalMs = head.length * 200; // ~20 s
    const socks = [];
    const timers = [];
    try {
      for (let k = 0; k < 4; k++) {
        const s = net.connect({ host: '127.0.0.1', port: srv.port });
        s.on('error', () => {});
        socks.push(s);
        let i = 0;
        timers.push(setInterval(() => { if (i < head.length && !s.destroyed) s.write(head[i++]); }, 200));
      }
      await sleep(800);
      // on a new connection (fetch could reuse a pooled one)
      const t0 = performance.now();
      const res = await rawRequest(srv.port, httpBytes('POST', CHAT, { port: srv.port, body: { messages: user('Say something.'), max_tokens: 16, temperature: 0 } }), { timeoutMs: 10000 });
      const dt = performance.now() - t0;
      assert.equal(res.responses.length, 1, `no answer next to slow clients (closed ${res.closed})`);
      assert.equal(res.responses[0].status, 200);
      assert.ok(bodyJSON(res.responses[0]).choices[0].message.content.length > 0);
      assert.ok(dt < 3000, `a chat request took ${dt.toFixed(0)} ms next to slow clients (their headers take ${slowTotalMs} ms)`);
      const h0 = performance.now();
      await assertHealthy(srv, 'slowloris');
      assert.ok(performance.now() - h0 < 1000, '/health slow next to slow clients');
    } finally {
      timers.forEach(clearInterval);
      socks.forEach((s) => s.destroy());
    }
  });

  it('slowloris: 300 connections trickling header bytes do not lock other clients out', async () => {
    const socks = [];
    let timer;
    try {
      let settled = 0;
      for (let k = 0; k < 300; k++) {
        const s = net.connect({ host: '127.0.0.1', port: srv.port });
        s.on('error', () => {});
        s.once('connect', () => settled++);
        s.once('close', () => settled++);
        socks.push(s);
      }
      for (let w = 0; w < 100 && settled < 300; w++) await sleep(50);
      let i = 0;
      const head = `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'s'.repeat(200)}`;
      timer = setInterval(() => { const ch = head[i++ % head.length]; for (const s of socks) if (!s.destroyed) s.write(ch); }, 200);
      await sleep(1000);
      // a new connection (fetch could reuse a pooled one)
      const t0 = performance.now();
      const r = await rawRequest(srv.port, httpBytes('GET', '/health', { port: srv.port }), { timeoutMs: 5000 });
      const dt = performance.now() - t0;
      const status = r.responses.length ? r.responses[0].status : r.timedOut ? 'no answer in 5 s' : 'connection closed';
      assert.equal(status, 200, `GET /health next to 300 slow connections: ${status} after ${dt.toFixed(0)} ms`);
      assert.ok(dt < 3000, `GET /health took ${dt.toFixed(0)} ms next to 300 slow connections`);
    } finally {
      clearInterval(timer);
      socks.forEach((s) => s.destroy());
    }
    await sleep(300);
    await assertHealthy(srv, 'after 300 slow connections');
  });

  it('a client disconnecting mid-stream frees its slot', async () => {
    const before = await metrics(srv);
    const gen0 = metricValue(before, 'deepc_generated_tokens_total');
    const maxTokens = 3500;
    const req = httpBytes('POST', CHAT, { port: srv.port, body: { messages: user('Tell me a very long story.'), max_tokens: maxTokens, temperature: 0, stream: true } });
    const sock = net.connect({ host: '127.0.0.1', port: srv.port });
    sock.on('error', () => {});
    let got = '';
    let activeWhileStreaming;
    try {
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no stream data within 10 s: ${got.slice(0, 200)}`)), 10000);
        sock.on('connect', () => sock.write(req));
        sock.on('data', (d) => {
          got += d.toString('latin1');
          if ((got.match(/data: /g) || []).length >= 3) { clearTimeout(t); resolve(); }
        });
      });
      sock.pause(); // stop reading: the server's writes back up, it must not finish unseen
      activeWhileStreaming = metricValue(await metrics(srv), 'deepc_slots_active');
    } finally {
      sock.resetAndDestroy ? sock.resetAndDestroy() : sock.destroy();
    }
    assert.match(got, /^HTTP\/1\.1 200/);
    const ms = await waitSlotsIdle(srv, 5000);
    const gen1 = metricValue(await metrics(srv), 'deepc_generated_tokens_total');
    assert.ok(gen1 - gen0 < maxTokens, `the server generated all ${maxTokens} tokens for a client that left (slot idle after ${ms} ms, active while streaming: ${activeWhileStreaming})`);
    await assertHealthy(srv, 'disconnect');
  });

  it('an invalid request with stream: true is a plain 400, not an event stream', async () => {
    const r = await postJSON(srv, CHAT, { messages: user('hi'), stream: true, temperature: -1 });
    assert.equal(r.status, 400);
    assertErrorBody(r.json, { param: /temperature/ }, 'stream + invalid');
  });

  it('/metrics: Prometheus text with the contract metric names', async () => {
    await postJSON(srv, CHAT, { messages: user('hi'), max_tokens: 2 });
    const m = await metrics(srv);
    assert.equal(m.status, 200);
    assert.match(m.contentType || '', /^text\/plain/);
    assert.match(m.contentType || '', /version=0\.0\.4/);
    assert.deepEqual(m.bad, [], `lines that are not Prometheus samples: ${JSON.stringify(m.bad.slice(0, 5))}`);
    for (const name of ['deepc_requests_total', 'deepc_prompt_tokens_total', 'deepc_generated_tokens_total', 'deepc_prefix_cache_hits_total',
      'deepc_cached_prompt_tokens_total', 'deepc_queue_depth', 'deepc_slots_active', 'deepc_slots_total', 'deepc_kv_cache_used_ratio',
      'deepc_tokens_per_second']) {
      const v = metricValue(m, name);
      assert.ok(v !== undefined, `metric ${name} missing`);
      assert.ok(Number.isFinite(v) && v >= 0, `${name} = ${v}`);
      assert.match(m.text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'), `no # TYPE line for ${name}`);
    }
    assert.ok(metricValue(m, 'deepc_requests_total', 'status="200"') >= 1, 'deepc_requests_total{status="200"} < 1');
    assert.ok(metricValue(m, 'deepc_requests_total', 'status="400"') >= 1, 'the 400s above were not counted');
    assert.equal(metricValue(m, 'deepc_slots_total'), 2);
    assert.ok(metricValue(m, 'deepc_prompt_tokens_total') > 0);
    assert.ok(metricValue(m, 'deepc_generated_tokens_total') > 0);
    const kv = metricValue(m, 'deepc_kv_cache_used_ratio');
    assert.ok(kv >= 0 && kv <= 1, `kv ratio ${kv}`);
  });
});

describe('context length (-c 64)', () => {
  let srv;
  before(async () => { srv = await startServer({ model: MODELS.plain, args: ['-c', '64', '-t', '1', '--kv-type', 'f32'] }); });
  after(async () => { if (srv) await srv.stop(); });

  it('a prompt longer than the context -> 400 context_length_exceeded', async () => {
    const long = 'word '.repeat(300);
    const r = await postJSON(srv, CHAT, { messages: user(long), max_tokens: 4 });
    assert.equal(r.status, 400, r.text);
    assertErrorBody(r.json, { type: 'invalid_request_error', code: 'context_length_exceeded' }, 'chat long');
    const c = await postJSON(srv, COMPL, { prompt: long, max_tokens: 4 });
    assert.equal(c.status, 400, c.text);
    assertErrorBody(c.json, { type: 'invalid_request_error', code: 'context_length_exceeded' }, 'completions long');
    const s = await streamPost(srv.local + CHAT, { messages: user(long), max_tokens: 4, stream: true });
    if (s.status === 200) {
      assert.ok(s.streamError, 'a too-long streamed prompt neither failed with 400 nor sent an error event');
      assert.equal(s.streamError.code, 'context_length_exceeded');
      assert.ok(s.done, 'no [DONE] after the error event');
    } else {
      assert.equal(s.status, 400);
    }
    await assertHealthy(srv, 'context');
    // a short prompt still works; max_tokens past the context end is either refused
    // (400 context_length_exceeded, as OpenAI does) or ends with "length" at the context end
    const ok = await postJSON(srv, CHAT, { messages: user('hi'), max_tokens: 200, temperature: 0 });
    if (ok.status === 400) {
      assertErrorBody(ok.json, { code: 'context_length_exceeded' }, 'max_tokens past the context');
    } else {
      assert.equal(ok.status, 200, ok.text);
      // the last sampled token needs no cache cell, so prompt + completion may reach 65
      assert.ok(ok.json.usage.prompt_tokens + ok.json.usage.completion_tokens <= 65, JSON.stringify(ok.json.usage));
      assert.equal(ok.json.choices[0].finish_reason, 'length');
    }
    const small = await postJSON(srv, CHAT, { messages: user('hi'), max_tokens: 4, temperature: 0 });
    assert.equal(small.status, 200, small.text);
  });
});

describe('queue limit (--parallel 1 --max-queue 1)', () => {
  let srv;
  before(async () => { srv = await startServer({ model: MODELS.plain, args: ['--parallel', '1', '--max-queue', '1'] }); });
  after(async () => { if (srv) await srv.stop(); });

  it('more requests than slots + queue -> 429 rate_limit_exceeded', async () => {
    const ac = new AbortController();
    const body = JSON.stringify({ messages: user('Tell me a long story.'), max_tokens: 3000, temperature: 0, stream: true });
    const send = () => fetch(srv.local + CHAT, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, signal: ac.signal })
      .then(async (r) => ({ status: r.status, text: r.status === 200 ? '' : await r.text(), r }));
    try {
      // 1 runs, 1 waits, the others are refused at once; the waiting one may only
      // answer after the running one, so wait for 3 answers (bounded), not all 4
      const rs = [];
      const ps = [send(), send(), send(), send()].map((p) => p.then((x) => { rs.push(x); }, () => {}));
      const t0 = Date.now();
      while (rs.length < 3 && Date.now() - t0 < 15000) await sleep(20);
      void ps;
      const statuses = rs.map((x) => x.status).sort();
      const limited = rs.filter((x) => x.status === 429);
      assert.ok(limited.length >= 1, `statuses ${statuses}`);
      for (const x of limited) assertErrorBody(JSON.parse(x.text), { code: 'rate_limit_exceeded' }, '429');
      assert.ok(rs.some((x) => x.status === 200), `statuses ${statuses}`);
    } finally {
      ac.abort();
    }
    await waitSlotsIdle(srv, 5000);
    assert.ok(metricValue(await metrics(srv), 'deepc_requests_total', 'status="429"') >= 1, '429s not counted');
    // nothing waits any more: the gauge must say so (bounded poll)
    let d;
    for (let i = 0; i < 60 && (d = metricValue(await metrics(srv), 'deepc_queue_depth')) !== 0; i++) await sleep(50);
    assert.equal(d, 0, `deepc_queue_depth stays ${d} after every client left (nothing is queued)`);
    await assertHealthy(srv, '429');
  });
});

describe('queue capacity is slots + --max-queue (--parallel 4 --max-queue 1)', () => {
  let srv;
  before(async () => { srv = await startServer({ model: MODELS.plain, args: ['--parallel', '4', '--max-queue', '1'] }); });
  after(async () => { if (srv) await srv.stop(); });

  it('a burst of 5 requests on an idle server is accepted whole (4 run, 1 waits), 5 rounds', async () => {
    const req = httpBytes('POST', CHAT, { port: srv.port, body: { messages: user('hi'), max_tokens: 200, temperature: 0 } });
    const rounds = [];
    for (let round = 0; round < 5; round++) {
      await waitSlotsIdle(srv, 5000);
      // connect first, then write all five requests at once
      const socks = await Promise.all(Array.from({ length: 5 }, () => new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: srv.port }, () => resolve(s));
        s.on('error', reject);
      })));
      const statuses = socks.map((s) => readResponses(s, { timeoutMs: 20000 }).then((r) => (r.responses[0] ? r.responses[0].status : 'none')));
      for (const s of socks) s.write(req);
      const st = await Promise.all(statuses);
      socks.forEach((s) => s.destroy());
      rounds.push(st.sort().join(','));
    }
    assert.ok(rounds.every((r) => r === '200,200,200,200,200'), `5 requests on 4 idle slots + 1 queue place: ${rounds.join(' | ')}`);
  });
});

describe('queue: a client leaving while queued (--parallel 1 --max-queue 1 -c 16384 -t 1)', () => {
  let srv;
  // a 16000-token answer with one thread keeps the one slot busy for many seconds
  before(async () => { srv = await startServer({ model: MODELS.plain, args: ['--parallel', '1', '--max-queue', '1', '-c', '16384', '-t', '1'] }); });
  after(async () => { if (srv) await srv.stop(); });

  it('frees its queue place while the slot stays busy', async () => {
    const post = (body, signal) => fetch(srv.local + CHAT, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal });
    const story = (n, extra = {}) => ({ messages: user(`Story ${n}`), max_tokens: 16000, temperature: 0, stream: true, ...extra });
    const acRun = new AbortController();
    const acQ = new AbortController();
    const ac3 = new AbortController();
    const fails = [];
    try {
      const running = await post(story(1), acRun.signal);
      assert.equal(running.status, 200);
      await running.body.getReader().read();
      // the role chunk may come before the engine thread has given the request its slot
      for (let i = 0; i < 80 && metricValue(await metrics(srv), 'deepc_slots_active') !== 1; i++) await sleep(25);
      const q = post(story(2), acQ.signal).catch(() => null);
      let depth = 0;
      for (let i = 0; i < 40 && depth === 0; i++) { depth = metricValue(await metrics(srv), 'deepc_queue_depth'); if (!depth) await sleep(25); }
      assert.equal(depth, 1, 'the second request never showed up as queued');
      acQ.abort();
      await q;
      await sleep(600); // the server looks at its clients every 100 ms
      const m = await metrics(srv);
      const stillBusy = metricValue(m, 'deepc_slots_active') === 1;
      assert.ok(stillBusy, 'the long request no longer holds the slot: this test cannot tell anything');
      if (metricValue(m, 'deepc_queue_depth') !== 0) fails.push(`deepc_queue_depth ${metricValue(m, 'deepc_queue_depth')} 600 ms after the queued client left (slot busy: ${stillBusy})`);
      // its place is free: a new request is queued, not refused
      const third = await Promise.race([post(story(3), ac3.signal).then((r) => r.status, () => 'error'), sleep(2000).then(() => 'pending')]);
      if (third === 429) fails.push(`a new request got 429 although the only queued client had left (slot busy: ${stillBusy})`);
    } finally {
      ac3.abort();
      acRun.abort();
    }
    await waitSlotsIdle(srv, 5000);
    const r = await postJSON(srv, CHAT, { messages: user('hi'), max_tokens: 2 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(fails, []);
  });
});

describe('--timeout 1 (-c 16384 -t 1: a 16000-token answer takes far longer)', () => {
  let srv;
  before(async () => { srv = await startServer({ model: MODELS.plain, args: ['--timeout', '1', '-c', '16384', '-t', '1', '--parallel', '1'] }); });
  after(async () => { if (srv) await srv.stop(); });

  it('a request running past --timeout finishes with "length", streamed or not', async () => {
    const body = { messages: user('A very long story.'), max_tokens: 16000, temperature: 0 };
    let t0 = performance.now();
    const r = await postJSON(srv, CHAT, body);
    let dt = performance.now() - t0;
    assert.equal(r.status, 200, r.text.slice(0, 200));
    assert.equal(r.json.choices[0].finish_reason, 'length');
    assert.ok(r.json.usage.completion_tokens < 16000, `all ${r.json.usage.completion_tokens} tokens although --timeout 1`);
    assert.ok(dt < 4000, `took ${dt.toFixed(0)} ms with --timeout 1`);
    t0 = performance.now();
    const s = await streamPost(srv.local + CHAT, { ...body, stream: true }, { timeoutMs: 15000 });
    dt = performance.now() - t0;
    assert.equal(s.status, 200);
    assert.deepEqual(s.finishReasons, ['length']);
    assert.ok(s.done, 'no [DONE]');
    assert.ok(dt < 4000, `the stream took ${dt.toFixed(0)} ms with --timeout 1`);
    await waitSlotsIdle(srv, 5000);
  });
});

describe('--max-body', () => {
  let srv;
  before(async () => { srv = await startServer({ model: MODELS.plain, args: ['--max-body', '2000'] }); });
  after(async () => { if (srv) await srv.stop(); });

  it('a body over --max-body -> 413 request_too_large; under it -> 200', async () => {
    const big = await postJSON(srv, CHAT, { messages: user('x'.repeat(3000)), max_tokens: 2 });
    assert.equal(big.status, 413, big.text.slice(0, 200));
    assertErrorBody(big.json, { code: 'request_too_large' }, '413 --max-body');
    const small = await postJSON(srv, CHAT, { messages: user('x'.repeat(500)), max_tokens: 2 });
    assert.equal(small.status, 200, small.text.slice(0, 200));
    // chunked bodies have no Content-Length: the limit must hold while reading
    const chunk = JSON.stringify({ messages: user('y'.repeat(3000)), max_tokens: 2 });
    const res = await rawRequest(srv.port, `POST ${CHAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`, { timeoutMs: 5000 });
    assertRejectedOrClosed(res, 'chunked body over --max-body');
    if (res.responses.length) assert.equal(res.responses[0].status, 413);
    await assertHealthy(srv, 'max-body');
  });
});

describe('API key', () => {
  let srv, dir;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'deepc-key-'));
    srv = await startServer({ model: MODELS.plain, args: ['--api-key', 'sk-secret-123'] });
  });
  after(async () => {
    if (srv) await srv.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('401 without a key or with a wrong one; 200 with the key; /health open', async () => {
    const body = { messages: user('hi'), max_tokens: 2 };
    for (const [name, headers] of [
      ['no key', {}],
      ['wrong key', { Authorization: 'Bearer sk-secret-124' }],
      ['key prefix', { Authorization: 'Bearer sk-secret-12' }],
      ['key + suffix', { Authorization: 'Bearer sk-secret-1234' }],
      ['no Bearer', { Authorization: 'sk-secret-123' }],
      ['Basic', { Authorization: 'Basic c2stc2VjcmV0LTEyMw==' }],
      ['empty', { Authorization: 'Bearer ' }],
    ]) {
      const r = await postJSON(srv, CHAT, body, { headers });
      assert.equal(r.status, 401, `${name}: ${r.status} ${r.text}`);
      assertErrorBody(r.json, { type: 'authentication_error', code: 'invalid_api_key' }, name);
      const g = await getJSON(srv, '/v1/models', { headers });
      assert.equal(g.status, 401, `${name}: GET /v1/models ${g.status}`);
    }
    const m = await fetch(srv.local + '/metrics');
    assert.equal(m.status, 401, '/metrics open without the key');
    assert.equal(m.headers.get('access-control-allow-origin'), '*', '401 without CORS: a browser page cannot read it');
    const pre = await fetch(srv.local + CHAT, { method: 'OPTIONS', headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' } });
    assert.equal(pre.status, 204, 'a CORS preflight (no credentials by design) needs no key');
    const h = await getJSON(srv, '/health');
    assert.equal(h.status, 200, '/health needs a key');
    const ok = await postJSON(srv, CHAT, body, { headers: { Authorization: 'Bearer sk-secret-123' } });
    assert.equal(ok.status, 200, ok.text);
    const lm = await getJSON(srv, '/v1/models', { headers: { Authorization: 'Bearer sk-secret-123' } });
    assert.equal(lm.status, 200);
    const mk = await metrics(srv, { headers: { Authorization: 'Bearer sk-secret-123' } });
    assert.equal(mk.status, 200);
    assert.ok(metricValue(mk, 'deepc_requests_total', 'status="401"') >= 7, '401s not counted');
  });

  it('--api-key-file', async () => {
    const f = path.join(dir, 'key');
    writeFileSync(f, 'sk-from-file-9\n'); // as `echo KEY > file` writes it
    const s = await startServer({ model: MODELS.plain, args: ['--api-key-file', f] });
    try {
      assert.equal((await getJSON(s, '/v1/models')).status, 401);
      assert.equal((await getJSON(s, '/v1/models', { headers: { Authorization: 'Bearer sk-from-file-9' } })).status, 200);
    } finally {
      await s.stop();
    }
  });
});

describe('startup, binding and shutdown', () => {
  it('a non-loopback --host without a key refuses to start (non-zero exit, one-line message)', async () => {
    const r = await runDeepc(['serve', modelPath(MODELS.plain), '--host', '0.0.0.0', '--port', '0'], { timeoutMs: 20000 });
    assert.notEqual(r.code, 0, `exit ${r.code}; stderr: ${r.stderr}`);
    assert.equal(r.code, 1, 'the contract says exit 1');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `stderr is not one line: ${JSON.stringify(r.stderr)}`);
    assert.ok(!/listening/.test(r.stderr), 'it printed a listening line');
  });

  it('with --insecure-no-auth it starts (and is stopped at once; no traffic)', async () => {
    const s = await startServer({ model: MODELS.plain, args: ['--host', '0.0.0.0', '--insecure-no-auth'], waitHealthy: false });
    try {
      assert.equal(s.host, '0.0.0.0');
      assert.ok(s.port > 0);
    } finally {
      const x = await s.stop();
      assert.ok(x.code === 0 || x.signal === 'SIGTERM', `SIGTERM -> exit ${JSON.stringify(x)}`);
    }
  });

  it('SIGINT during a stream: the stream gets data: {"error"} then [DONE]; the server exits 0 within seconds', async () => {
    // -c 16384 -t 1 and 16000 tokens: the stream is still running when the signal comes
    const s = await startServer({ model: MODELS.plain, args: ['-c', '16384', '-t', '1'] });
    try {
      let signalled = false;
      const p = streamPost(s.local + CHAT, { messages: user('A long story please.'), max_tokens: 16000, temperature: 0, stream: true }, {
        timeoutMs: 20000,
        stopAfter: (ev) => { if (ev.length === 20 && !signalled) { signalled = true; s.proc.kill('SIGINT'); } return false; },
      });
      const [res, x] = await Promise.all([p, Promise.race([s.exited, sleep(15000).then(() => 'timeout')])]);
      assert.ok(signalled, `the stream never produced 20 events: ${res.status} ${res.error}`);
      assert.notEqual(x, 'timeout', 'still running 15 s after SIGINT');
      assert.equal(x.code, 0, `exit after SIGINT: ${JSON.stringify(x)}; stderr ${s.stderr()}`);
      assert.deepEqual(res.finishReasons, [], `the cut stream claims to have finished: ${res.finishReasons}`);
      assert.ok(res.streamError, `no error event in the cut stream (last: ${res.events.slice(-2).map((e) => e.data).join(' | ')})`);
      assertErrorBody({ error: res.streamError }, {}, 'stream error event');
      assert.ok(res.done, 'no [DONE] after the error event');
      assert.equal(res.events[res.events.length - 1].data, '[DONE]');
    } finally {
      await s.stop();
    }
  });

  it('SIGTERM: exits 0', async () => {
    const s = await startServer({ model: MODELS.plain });
    const x = await s.stop();
    assert.equal(x.code, 0, `exit ${JSON.stringify(x)}; stderr ${s.stderr()}`);
  });

  it('while the model loads: /health 503 {"status":"loading"}, every other endpoint 503; a failed load exits non-zero', async () => {
    // a FIFO as the model file: the loader's open() blocks until a writer comes
    const dir = mkdtempSync(path.join(tmpdir(), 'deepc-fifo-'));
    const fifo = path.join(dir, 'model.gguf');
    execFileSync('mkfifo', [fifo]);
    const s = await startServer({ model: fifo, waitHealthy: false });
    try {
      const h = await getJSON(s, '/health');
      assert.equal(h.status, 503, `/health while loading: ${h.status} ${h.text}`);
      assert.deepEqual(h.json, { status: 'loading' });
      for (const [method, p, body] of [['GET', '/v1/models'], ['POST', CHAT, { messages: user('hi') }], ['POST', COMPL, { prompt: 'hi' }], ['GET', '/metrics']]) {
        const r = method === 'GET' ? await getJSON(s, p) : await postJSON(s, p, body);
        assert.equal(r.status, 503, `${method} ${p} while loading: ${r.status} ${r.text.slice(0, 200)}`);
        if (p !== '/metrics') assertErrorBody(r.json, {}, `${method} ${p} 503`);
      }
      // the loader may not have opened its end yet (ENXIO): retry for a while
      let fd = -1;
      for (let i = 0; fd < 0 && i < 200; i++) {
        try { fd = openSync(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK); } catch (e) { if (e.code !== 'ENXIO') throw e; await sleep(50); }
      }
      assert.ok(fd >= 0, 'the server never opened its model file');
      closeSync(fd); // EOF: not a model
      const x = await Promise.race([s.exited, sleep(15000).then(() => 'timeout')]);
      assert.notEqual(x, 'timeout', 'still running 15 s after its model failed to load');
      assert.notEqual(x.code, 0, `a failed load exited ${JSON.stringify(x)}`);
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad option values: non-zero exit with a one-line message, no listening line', async () => {
    for (const args of [['--parallel', '0'], ['--port', '70000'], ['--port', 'abc'], ['--kv-type', 'q4'], ['--max-queue', '0'],
      ['--timeout', '0'], ['--api-key-file', '/nonexistent/key'], ['-c', '-5'], ['--max-body', 'lots'], ['--api-key', '']]) {
      const r = await runDeepc(['serve', modelPath(MODELS.plain), '--port', '0', ...args], { timeoutMs: 20000 });
      assert.notEqual(r.code, 0, `${args.join(' ')}: exit 0`);
      assert.ok(!/listening/.test(r.stderr), `${args.join(' ')}: started`);
      assert.ok(r.stderr.trim().length > 0, `${args.join(' ')}: no message`);
      assert.match(r.stderr.split('\n')[0], /^deepc serve: /, `${args.join(' ')}: ${r.stderr}`);
    }
  });

  it('a model file that does not exist: non-zero exit', async () => {
    const r = await runDeepc(['serve', '/nonexistent/model.gguf', '--port', '0'], { timeoutMs: 20000 });
    assert.notEqual(r.code, 0);
  });
});
