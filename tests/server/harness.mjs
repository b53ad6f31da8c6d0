// harness.mjs - start a real `deepc serve`, talk to it over raw sockets,
// parse HTTP responses and server-sent events, read /metrics and the RSS of a pid.
//
// Environment: DEEPC_BIN (default build/deepc, relative to the repo root),
// DEEPC_FIXTURES (default ../shared/fixtures relative to the repo root).
// All traffic goes to 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEEPC_BIN = path.resolve(REPO_ROOT, process.env.DEEPC_BIN || 'build/deepc');
export const FIXTURES = path.resolve(REPO_ROOT, process.env.DEEPC_FIXTURES || '../shared/fixtures');

// The models the tests use (see fixtures/models/README.md).
export const MODELS = {
  // Qwen2.5 template, no thinking: the output is all `content`.
  plain: 'tiny-qwen2-tied-Q8_0.gguf',
  // DeepSeek-R1-Distill template: the generation prompt ends with `<think>\n`.
  r1: 'tiny-qwen2-Q8_0.gguf',
  // Qwen3 template (enable_thinking).
  qwen3: 'tiny-qwen3-Q8_0.gguf',
};

export function modelPath(file) {
  return path.isAbsolute(file) ? file : path.join(FIXTURES, 'models', file);
}

// The id the server reports for a model file started without --alias.
export function modelId(file) {
  return path.basename(file).replace(/\.gguf$/, '');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const live = new Set();
function killAll() {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* gone */ }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { killAll(); process.exit(130); });
}

/**
 * Spawn `deepc serve MODEL --port 0 ...args` and wait for its readiness line
 * `deepc serve: listening on http://HOST:PORT` on stderr; then (unless
 * waitHealthy is false) poll /health until 200.
 * Returns {url, baseURL, host, port, proc, model, stderr(), exited, stop()}.
 */
export async function startServer({
  model = MODELS.plain,
  args = [],
  port = true, // add `--port 0`
  waitHealthy = true,
  readyTimeoutMs = 30000,
  env = {},
} = {}) {
  const argv = ['serve', modelPath(model), ...(port ? ['--port', '0'] : []), ...args];
  if (!existsSync(DEEPC_BIN)) throw new Error(`deepc binary not found: ${DEEPC_BIN} (set DEEPC_BIN)`);
  const proc = spawn(DEEPC_BIN, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  live.add(proc);
  let stderr = '';
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  proc.stderr.setEncoding('utf8');
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(
      `deepc serve did not print its readiness line within ${readyTimeoutMs} ms; stderr:\n${stderr}`)), readyTimeoutMs);
    proc.stderr.on('data', (d) => {
      stderr += d;
      if (process.env.DEEPC_SERVER_STDERR) process.stderr.write(d);
      const m = stderr.match(/^deepc serve: listening on (http:\/\/(\S+):(\d+))\s*$/m);
      if (m) { clearTimeout(timer); resolve({ url: m[1], host: m[2], port: Number(m[3]) }); }
    });
    exited.then((x) => {
      clearTimeout(timer);
      reject(new Error(`deepc serve exited (code ${x.code}, signal ${x.signal}) before listening; stderr:\n${stderr}`));
    });
  });

  const srv = {
    proc,
    model,
    id: modelId(model),
    exited,
    stderr: () => stderr,
    exitInfo: () => exitInfo,
    async stop() {
      if (exitInfo) return exitInfo;
      try { proc.kill('SIGTERM'); } catch { /* gone */ }
      const t = setTimeout(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } }, 5000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
  let where;
  try {
    where = await ready;
  } catch (e) {
    await srv.stop();
    throw e;
  }
  Object.assign(srv, where);
  // tests never talk to a non-loopback address
  srv.local = `http://127.0.0.1:${where.port}`;
  srv.baseURL = `${srv.local}/v1`;
  if (waitHealthy) {
    try {
      await waitHealthy_(srv, readyTimeoutMs);
    } catch (e) {
      await srv.stop();
      throw e;
    }
  }
  return srv;
}

async function waitHealthy_(srv, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (srv.exitInfo()) throw new Error(`deepc serve exited while loading; stderr:\n${srv.stderr()}`);
    try {
      const r = await fetch(`${srv.local}/health`);
      const body = await r.text();
      if (r.status === 200) {
        assert.deepEqual(JSON.parse(body), { status: 'ok' }, `/health 200 body: ${body}`);
        return;
      }
      // while loading: 503 {"status":"loading"}
      assert.equal(r.status, 503, `/health answered ${r.status} while loading: ${body}`);
      assert.equal(JSON.parse(body).status, 'loading', `/health 503 body: ${body}`);
      last = body;
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      last = String(e);
    }
    await sleep(50);
  }
  throw new Error(`/health not 200 within ${timeoutMs} ms (last: ${last})`);
}

/** Run deepc with the given argv, no server readiness expected; resolves {code, signal, stderr, stdout}. */
export function runDeepc(argv, { timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(DEEPC_BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(p);
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const t = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`deepc ${argv.join(' ')} did not exit in ${timeoutMs} ms; stderr: ${err}`)); }, timeoutMs);
    p.on('exit', (code, signal) => { live.delete(p); clearTimeout(t); resolve({ code, signal, stdout: out, stderr: err }); });
  });
}

// ---------------------------------------------------------------- raw HTTP

/**
 * Parse as many complete HTTP/1.1 responses as `buf` holds.
 * `closed`: the peer closed, so a body without length runs to the end.
 * Returns {responses: [{status, reason, headers (lower-case keys, last wins), rawHeaders, body: Buffer}], rest, incomplete}.
 */
export function parseResponses(buf, closed = false) {
  const responses = [];
  let off = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', off);
    if (headEnd < 0) break;
    const head = buf.subarray(off, headEnd).toString('latin1');
    const lines = head.split('\r\n');
    const m = lines[0].match(/^HTTP\/1\.[01] (\d{3})(?: (.*))?$/);
    if (!m) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
    const headers = {};
    const rawHeaders = [];
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i < 0) throw new Error(`bad header line: ${JSON.stringify(l)}`);
      const k = l.slice(0, i).trim().toLowerCase();
      const v = l.slice(i + 1).trim();
      headers[k] = v;
      rawHeaders.push([k, v]);
    }
    const status = Number(m[1]);
    let p = headEnd + 4;
    let body;
    const noBody = status === 204 || status === 304 || (status >= 100 && status < 200);
    if (noBody) {
      body = Buffer.alloc(0);
    } else if (/chunked/i.test(headers['transfer-encoding'] || '')) {
      const parts = [];
      let done = false;
      for (;;) {
        const le = buf.indexOf('\r\n', p);
        if (le < 0) break;
        const size = parseInt(buf.subarray(p, le).toString('latin1').split(';')[0].trim(), 16);
        if (Number.isNaN(size)) throw new Error('bad chunk size in response');
        if (size === 0) {
          // optional trailer lines, then an empty line
          const te = buf.indexOf('\r\n\r\n', le);
          if (te < 0) break;
          p = te + 4;
          done = true;
          break;
        }
        if (buf.length < le + 2 + size + 2) break;
        parts.push(buf.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
      }
      if (!done) {
        if (closed) responses.push({ status, reason: m[2] || '', headers, rawHeaders, body: Buffer.concat(parts), truncated: true });
        return { responses, rest: buf.subarray(off), incomplete: true };
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (buf.length < p + n) {
        if (closed) responses.push({ status, reason: m[2] || '', headers, rawHeaders, body: buf.subarray(p), truncated: true });
        return { responses, rest: buf.subarray(off), incomplete: true };
      }
      body = buf.subarray(p, p + n);
      p += n;
    } else {
      // body runs until the connection closes
      if (!closed) return { responses, rest: buf.subarray(off), incomplete: true };
      body = buf.subarray(p);
      p = buf.length;
    }
    responses.push({ status, reason: m[2] || '', headers, rawHeaders, body });
    off = p;
  }
  return { responses, rest: buf.subarray(off), incomplete: off < buf.length };
}

/**
 * Open a socket to 127.0.0.1:port, write `data` (string/Buffer, or an array of
 * them written one after another), and read until `responses` complete
 * responses arrived, the peer closed, or timeoutMs passed.
 * Returns {responses, raw: Buffer, closed, timedOut, error, socket (if keepOpen)}.
 */
export function rawRequest(port, data, { responses: want = 1, timeoutMs = 10000, keepOpen = false } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const chunks = [];
    let closed = false, error = null, finished = false;
    const finish = (timedOut) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      let parsed;
      try { parsed = parseResponses(raw, closed); } catch (e) { parsed = { responses: [], parseError: e }; }
      if (!keepOpen) sock.destroy();
      resolve({ responses: parsed.responses, parseError: parsed.parseError, raw, closed, timedOut, error, socket: sock });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    sock.on('data', (d) => {
      chunks.push(d);
      try {
        const r = parseResponses(Buffer.concat(chunks), false);
        if (r.responses.length >= want) finish(false);
      } catch { /* wait for close */ }
    });
    sock.on('error', (e) => { error = e; });
    sock.on('close', () => { closed = true; finish(false); });
    sock.on('connect', () => {
      const list = Array.isArray(data) ? data : [data];
      for (const d of list) { if (!sock.destroyed) sock.write(d); }
    });
  });
}

/** Read from an already-open socket until `want` more responses complete, close or timeout. */
export function readResponses(sock, { responses: want = 1, timeoutMs = 10000 } = {}) {
  return new Promise((resolve) => {
    const chunks = [];
    let closed = sock.destroyed, finished = false;
    const onData = (d) => {
      chunks.push(d);
      try { if (parseResponses(Buffer.concat(chunks), false).responses.length >= want) finish(false); } catch { /* later */ }
    };
    const onClose = () => { closed = true; finish(false); };
    const finish = (timedOut) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      const raw = Buffer.concat(chunks);
      let parsed;
      try { parsed = parseResponses(raw, closed); } catch (e) { parsed = { responses: [], parseError: e }; }
      resolve({ responses: parsed.responses, parseError: parsed.parseError, raw, closed, timedOut });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    sock.on('data', onData);
    sock.on('close', onClose);
    if (closed) finish(false);
  });
}

/** An HTTP/1.1 request as bytes. body: object (JSON), string or Buffer. */
export function httpBytes(method, target, { body, headers = {}, port = 0 } = {}) {
  let b = body;
  if (b !== undefined && typeof b !== 'string' && !Buffer.isBuffer(b)) b = JSON.stringify(b);
  const h = { Host: `127.0.0.1:${port}`, ...headers };
  if (b !== undefined) {
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-length' || k.toLowerCase() === 'transfer-encoding')) {
      h['Content-Length'] = String(Buffer.byteLength(b));
    }
  }
  let s = `${method} ${target} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(h)) s += `${k}: ${v}\r\n`;
  s += '\r\n';
  return b === undefined ? Buffer.from(s, 'latin1') : Buffer.concat([Buffer.from(s, 'latin1'), Buffer.from(b)]);
}

// ---------------------------------------------------------------- SSE

/** Split an event-stream text into the `data:` payloads of its events (strings). */
export function parseSSE(text) {
  const out = [];
  for (const block of text.replace(/\r\n/g, '\n').split('\n\n')) {
    if (!block.trim()) continue;
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length) out.push(data.join('\n'));
  }
  return out;
}

/**
 * POST `body` to `url` with fetch and read the event stream as it arrives.
 * Each event: {t (ms, performance.now()), data (string), json (parsed or null)}.
 * Options: stopAfter(events) -> true to abort early; onEvent(event, res) as each arrives; timeoutMs.
 * Returns {status, headers, events, done (saw [DONE]), aborted, text, reasoning, finishReasons, error}.
 */
export async function streamPost(url, body, { headers = {}, stopAfter, onEvent, timeoutMs = 60000 } = {}) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error('timeout')), timeoutMs);
  const res = { events: [], done: false, aborted: false, text: '', reasoning: '', finishReasons: [], error: null };
  try {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: ac.signal,
    });
    res.status = r.status;
    res.headers = r.headers;
    if (r.status !== 200) { res.errorBody = await r.text(); return res; }
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    outer: for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      buf = buf.replace(/\r\n/g, '\n');
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i + 2);
        buf = buf.slice(i + 2);
        for (const data of parseSSE(block)) {
          const ev = { t: performance.now(), data, json: null };
          if (data === '[DONE]') res.done = true;
          else {
            try { ev.json = JSON.parse(data); } catch { /* kept as text */ }
            absorb(res, ev.json);
          }
          res.events.push(ev);
          if (onEvent) onEvent(ev, res);
          if (stopAfter && stopAfter(res.events, res)) {
            res.aborted = true;
            ac.abort();
            break outer;
          }
        }
      }
    }
  } catch (e) {
    if (!res.aborted) res.error = e;
  } finally {
    clearTimeout(timer);
  }
  return res;
}

function absorb(res, j) {
  if (!j) return;
  if (j.error) { res.streamError = j.error; return; }
  for (const c of j.choices || []) {
    if (c.delta) {
      if (typeof c.delta.content === 'string') res.text += c.delta.content;
      if (typeof c.delta.reasoning_content === 'string') res.reasoning += c.delta.reasoning_content;
    } else if (typeof c.text === 'string') res.text += c.text;
    if (c.finish_reason) res.finishReasons.push(c.finish_reason);
  }
  if (j.usage) res.usage = j.usage;
}

// ---------------------------------------------------------------- JSON helpers

export async function postJSON(srv, p, body, { headers = {} } = {}) {
  const r = await fetch(srv.local + p, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json };
}

export async function getJSON(srv, p, { headers = {} } = {}) {
  const r = await fetch(srv.local + p, { headers });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, text, json };
}

/** Assert the error body shape {error:{message,type,param,code}}. */
export function assertErrorBody(json, { type, code, param, status } = {}, ctx = '') {
  assert.ok(json && typeof json === 'object', `${ctx}: error body is not JSON: ${JSON.stringify(json)}`);
  const e = json.error;
  assert.ok(e && typeof e === 'object', `${ctx}: no "error" object: ${JSON.stringify(json)}`);
  for (const k of ['message', 'type', 'param', 'code']) assert.ok(k in e, `${ctx}: error lacks "${k}": ${JSON.stringify(json)}`);
  assert.equal(typeof e.message, 'string', `${ctx}: message not a string`);
  assert.ok(e.message.length > 0, `${ctx}: empty message`);
  assert.equal(typeof e.type, 'string', `${ctx}: type not a string`);
  assert.ok(e.param === null || typeof e.param === 'string', `${ctx}: param neither null nor a string`);
  assert.ok(e.code === null || typeof e.code === 'string', `${ctx}: code neither null nor a string: ${JSON.stringify(e.code)}`);
  if (type !== undefined) assert.equal(e.type, type, `${ctx}: type: ${JSON.stringify(json)}`);
  if (code !== undefined) assert.equal(e.code, code, `${ctx}: code: ${JSON.stringify(json)}`);
  if (param instanceof RegExp) assert.match(String(e.param), param, `${ctx}: param: ${JSON.stringify(json)}`);
  else if (param !== undefined) assert.equal(e.param, param, `${ctx}: param: ${JSON.stringify(json)}`);
  void status;
}

/** GET /health must answer 200 {"status":"ok"}. */
export async function assertHealthy(srv, ctx = '') {
  const r = await getJSON(srv, '/health');
  assert.equal(r.status, 200, `${ctx}: server no longer healthy: ${r.status} ${r.text}`);
  assert.deepEqual(r.json, { status: 'ok' }, `${ctx}: /health body ${r.text}`);
}

// ---------------------------------------------------------------- metrics, RSS

/** Parse Prometheus text: [{name, labels (string inside {}), value}] and the comment lines. */
export function parseMetrics(text) {
  const samples = [];
  const bad = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+-?\d+)?\s*$/);
    if (!m) { bad.push(line); continue; }
    const v = m[3] === 'NaN' ? NaN : m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    samples.push({ name: m[1], labels: m[2] ? m[2].slice(1, -1) : '', value: v });
  }
  return { samples, bad };
}

export async function metrics(srv, { headers = {} } = {}) {
  const r = await fetch(srv.local + '/metrics', { headers });
  const text = await r.text();
  return { status: r.status, contentType: r.headers.get('content-type'), text, ...parseMetrics(text) };
}

/** Value of a metric (sum over its label sets, or the one matching `labels`). */
export function metricValue(m, name, labels) {
  const s = m.samples.filter((x) => x.name === name && (labels === undefined || x.labels.replace(/\s/g, '') === labels));
  if (!s.length) return undefined;
  return s.reduce((a, x) => a + x.value, 0);
}

/** Poll deepc_slots_active until it is 0; returns the elapsed ms or throws. */
export async function waitSlotsIdle(srv, timeoutMs = 5000) {
  const t0 = Date.now();
  let v;
  while (Date.now() - t0 < timeoutMs) {
    v = metricValue(await metrics(srv), 'deepc_slots_active');
    if (v === 0) return Date.now() - t0;
    await sleep(50);
  }
  throw new Error(`deepc_slots_active still ${v} after ${timeoutMs} ms`);
}

/** Resident set size of a pid in kB (VmRSS of /proc/PID/status). */
export function rssKB(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = s.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

export function median(xs) {
  const a = [...xs].sort((x, y) => x - y);
  if (!a.length) return NaN;
  const h = a.length >> 1;
  return a.length % 2 ? a[h] : (a[h - 1] + a[h]) / 2;
}

/** Run async fns with a wall-clock bound; rejects when it passes. */
export function withTimeout(promise, ms, what = 'operation') {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what} took more than ${ms} ms`)), ms); }),
  ]);
}
