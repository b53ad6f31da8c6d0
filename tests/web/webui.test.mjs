// webui.test.mjs - the built-in web chat page (GET /) end to end: the real
// `deepc serve` on a fixture model, driven by Debian's headless Chromium
// through playwright-core. Run: DEEPC_BIN=build/deepc node --test tests/web/
//
// Checks: the page source has no HTML sinks (innerHTML...) and names no other
// host; the page loads (200, with a CSP) with no request to any other host
// and no script or CSP error; a message streams back with the reasoning in a "Thinking" block
// and the whole conversation is sent; Stop ends a stream and keeps the partial
// answer; a reload keeps the conversation (localStorage); a phone viewport has
// no horizontal scroll; with --api-key the 401 is shown and entering the key in
// the settings makes the next send succeed. Screenshots: webui.png and
// webui-phone.png in $DEEPC_SCREENSHOT_DIR (default build/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.resolve(process.env.DEEPC_BIN || path.join(root, 'build/deepc'));
const fixtures = path.resolve(root, process.env.DEEPC_FIXTURES || '../shared/fixtures');
const model = path.join(fixtures, 'models/tiny-qwen2-Q8_0.gguf'); // R1 template: opens <think>
const modelId = 'tiny-qwen2-Q8_0';
const shots = path.resolve(root, process.env.DEEPC_SCREENSHOT_DIR || 'build');
const chromiumPath = process.env.DEEPC_CHROMIUM || '/usr/bin/chromium';
const T = 20000; // the longest any single wait may take (ms)

// ---- the server ------------------------------------------------------------
const children = new Set();
function killAll() { for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } } }
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); process.exit(1); });

// Starts `deepc serve MODEL --port 0 ...`, reads the listening line from
// stderr, then polls /health until the model is loaded. Returns {url, stop}.
async function startServer(extra = []) {
  const proc = spawn(bin, ['serve', model, '--port', '0', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(proc);
  let log = '';
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => { children.delete(proc); resolve(code ?? sig); }));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no "listening on" line within 20 s')), T);
      proc.on('error', (e) => { clearTimeout(timer); reject(e); });
      proc.stderr.setEncoding('utf8');
      proc.stderr.on('data', (d) => {
        log += d;
        const m = log.match(/deepc serve: listening on (http:\/\/\S+)/);
        if (m) { clearTimeout(timer); resolve(m[1].replace(/\/$/, '')); }
      });
      exited.then((code) => { clearTimeout(timer); reject(new Error(`deepc serve exited (${code}) before listening`)); });
    });
    const deadline = Date.now() + 60000;
    for (;;) {
      const r = await fetch(url + '/health', { signal: AbortSignal.timeout(5000) }).catch(() => null);
      if (r && r.status === 200) break;
      if (Date.now() > deadline) throw new Error('/health never answered 200');
      await new Promise((res) => setTimeout(res, 100));
    }
    return { url, stop, log: () => log };
  } catch (e) {
    await stop();
    throw new Error(`${e.message}\n${bin} serve stderr:\n${log}`);
  }
}

// ---- the browser -----------------------------------------------------------
let browser;
before(async () => {
  assert.ok(existsSync(bin), `deepc binary not found: ${bin} (set DEEPC_BIN)`);
  assert.ok(existsSync(model), `fixture model not found: ${model} (set DEEPC_FIXTURES)`);
  assert.ok(existsSync(chromiumPath), `Chromium not found at ${chromiumPath}`);
  mkdirSync(shots, { recursive: true });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    timeout: T,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { if (browser) await browser.close(); killAll(); });

// A fresh context (empty localStorage) on the server; records every request
// that leaves for another origin and every page error / console error.
async function openPage(url, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(T);
  const page = await context.newPage();
  const origin = new URL(url).origin;
  const foreign = [], errors = [], chats = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') return;
    if (u.origin !== origin) foreign.push(r.url());
    if (u.pathname === '/v1/chat/completions') chats.push(r);
  });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    // a failed fetch the page handles (401, the aborted stream) is logged by
    // Chromium as a resource error; that is not a page error
    if (m.type() === 'error' && !/Failed to load resource|net::ERR_ABORTED/.test(m.text())) errors.push('console: ' + m.text());
  });
  const res = await page.goto(url + '/', { waitUntil: 'load' });
  // the page itself needs no key (a browser cannot send one); its API calls do
  assert.equal(res.status(), 200, `GET / answered ${res.status()}: ${(await res.text()).slice(0, 200)}`);
  assert.match(res.headers()['content-type'] || '', /^text\/html/);
  assert.match(res.headers()['content-security-policy'] || '', /default-src 'self'/, 'no CSP on GET /');
  return { context, page, foreign, errors, chats };
}

const textOf = (loc) => loc.evaluateAll((els) => els.map((e) => e.textContent).join(''));
async function waitFor(what, fn, ms = T) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 25));
  }
}
async function setSettings(page, values) {
  await page.click('#open-settings');
  await page.locator('#settings').waitFor({ state: 'visible' });
  for (const [sel, v] of Object.entries(values)) {
    if (sel === '#thinking') await page.selectOption(sel, v); else await page.fill(sel, v);
  }
  await page.click('#settings-done');
  await page.locator('#settings').waitFor({ state: 'hidden' });
}

// ---- the tests -------------------------------------------------------------
test('the page source: no HTML sinks, no other host named', () => {
  const html = readFileSync(path.join(root, 'src/server/webui.html'), 'utf8');
  const code = html.replace(/<!--[\s\S]*?-->/, ''); // the explanatory comment at the top
  assert.doesNotMatch(code, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  assert.doesNotMatch(code, /(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i, 'a URL of another host');
  assert.doesNotMatch(code, /<(script|link|img|iframe)[^>]+(src|href)="(?!data:)/i, 'an external resource');
});

test('web chat page: stream, reasoning, stop, reload, phone', { timeout: 50000 }, async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const { context, page, foreign, errors, chats } = await openPage(server.url);
  t.after(() => context.close());

  await waitFor('the model name', async () => (await page.textContent('#model')) === modelId);
  // the fixture's R1-Distill template opens <think> when enable_thinking is set
  await setSettings(page, { '#max-tokens': '200', '#temperature': '0', '#system-prompt': '', '#thinking': 'on' });

  // 1. one whole answer: it streams into the Thinking block and finishes
  await page.fill('#input', 'Hello! Who are you?');
  await page.click('#send');
  const first = page.locator('.msg.assistant').nth(0);
  await first.locator('details.reasoning').waitFor({ state: 'visible' });
  await page.locator('#send').waitFor({ state: 'visible' }); // the stream ended
  assert.ok(await page.locator('#stop').isHidden(), 'Stop still shown after the answer');
  const r1 = await first.locator('.reasoning-text').textContent();
  const c1 = await first.locator('.content').textContent();
  assert.ok(r1.length > 0, 'no reasoning text streamed');
  assert.match(await first.locator('details.reasoning summary').textContent(), /Thinking/);
  assert.match(await first.locator('.meta').textContent(), /\d+ tokens · [\d.]+ tokens\/s/);
  assert.equal(await page.locator('#error').isVisible(), false, 'an error is shown: ' + await page.textContent('#error'));
  const body1 = JSON.parse(chats[0].postData());
  assert.equal(body1.stream, true);
  assert.deepEqual(body1.stream_options, { include_usage: true });
  assert.equal(body1.max_tokens, 200);
  assert.equal(body1.temperature, 0);
  assert.deepEqual(body1.chat_template_kwargs, { enable_thinking: true });
  assert.deepEqual(body1.messages, [{ role: 'user', content: 'Hello! Who are you?' }]);

  // 2. a second answer, slowed down by Chromium's network throttling so that
  // it is still streaming when Stop is pressed (the tiny model is quick)
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: 3000, uploadThroughput: -1 });
  await page.fill('#input', 'Tell me more.');
  await page.press('#input', 'Enter');
  const second = page.locator('.msg.assistant').nth(1);
  await second.locator('details.reasoning[open]').waitFor({ state: 'visible' }); // open while thinking
  const streamed = () => textOf(second.locator('.reasoning-text, .content'));
  const len1 = (await streamed()).length;
  await waitFor('the answer to grow', async () => (await streamed()).length > len1);
  assert.ok(await page.locator('#stop').isVisible(), 'no Stop button while streaming');
  await page.click('#stop');
  await page.locator('#send').waitFor({ state: 'visible' });
  assert.ok(await page.locator('#stop').isHidden(), 'Stop still shown after stopping');
  const partial = await streamed();
  assert.ok(partial.length > len1, 'the partial answer was not kept');
  assert.match(await second.locator('.meta').textContent(), /stopped/);
  await page.waitForTimeout(500);
  assert.equal(await streamed(), partial, 'the answer kept growing after Stop');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const body2 = JSON.parse(chats[1].postData());
  assert.deepEqual(body2.messages, [
    { role: 'user', content: 'Hello! Who are you?' },
    { role: 'assistant', content: c1 },
    { role: 'user', content: 'Tell me more.' },
  ]);
  await page.screenshot({ path: path.join(shots, 'webui.png') });

  // 3. a reload keeps the conversation and the settings
  const shown = await textOf(page.locator('#messages'));
  await page.reload({ waitUntil: 'load' });
  await page.locator('.msg.assistant').nth(1).waitFor({ state: 'attached' });
  assert.equal(await page.locator('.msg.user').count(), 2);
  assert.equal(await page.locator('.msg.assistant').count(), 2);
  assert.equal(await textOf(page.locator('#messages')), shown, 'the conversation changed across a reload');
  assert.equal(await page.locator('#conversations li').count(), 1);
  assert.equal(await page.locator('#conversations li').textContent(), 'Hello! Who are you?✕');
  await page.click('#open-settings');
  assert.equal(await page.inputValue('#max-tokens'), '200');
  await page.click('#settings-done');

  // 4. a phone: no horizontal scroll, the sidebar tucked away
  await page.setViewportSize({ width: 375, height: 740 });
  await page.waitForTimeout(300); // the sidebar's transition
  const m = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth,
    bw: document.body.scrollWidth, side: document.querySelector('#sidebar').getBoundingClientRect().right }));
  assert.ok(m.sw <= m.cw && m.bw <= m.cw, `horizontal scroll on a phone: ${JSON.stringify(m)}`);
  assert.ok(m.side <= 0, 'the sidebar is not collapsed on a phone');
  assert.ok(await page.locator('#input').isVisible() && await page.locator('#send').isVisible());
  const box = await page.locator('#send').boundingBox();
  assert.ok(box.x + box.width <= 375, 'Send is off screen on a phone');
  await page.screenshot({ path: path.join(shots, 'webui-phone.png') });
  await page.click('#menu');
  await page.waitForTimeout(300);
  assert.ok(await page.locator('#new-chat').isVisible(), 'the menu does not open the sidebar');

  assert.deepEqual(foreign, [], 'requests to other hosts');
  assert.deepEqual(errors, [], 'page errors');
});

test('web chat page with --api-key: 401 shown, then the key from the settings works', { timeout: 40000 }, async (t) => {
  const server = await startServer(['--api-key', 'secret']);
  t.after(() => server.stop());
  const { context, page, foreign, errors, chats } = await openPage(server.url);
  t.after(() => context.close());

  // /v1/models already fails: the error says 401 and offers to set the key
  await page.locator('#error').waitFor({ state: 'visible' });
  assert.match(await page.textContent('#error'), /401/);
  await setSettings(page, { '#max-tokens': '40', '#temperature': '0', '#thinking': 'on' });
  await page.fill('#input', 'Hi');
  await page.click('#send');
  await page.locator('#send').waitFor({ state: 'visible' });
  await waitFor('the 401 error', async () => /401/.test(await page.textContent('#error')) && await page.locator('#error').isVisible());
  assert.ok(await page.locator('#error-set-key').isVisible(), 'no "Set API key" button on a 401');
  assert.equal(await page.locator('.msg.assistant').count(), 0, 'a failed turn stays in the conversation');
  assert.equal(await page.inputValue('#input'), 'Hi', 'the unsent text was not given back');

  await page.click('#error-set-key');
  await page.locator('#settings').waitFor({ state: 'visible' });
  await page.fill('#api-key', 'secret');
  await page.click('#settings-done');
  await waitFor('the model name', async () => (await page.textContent('#model')) === modelId);
  assert.equal(await page.locator('#error').isVisible(), false);
  await page.click('#send');
  await page.locator('.msg.assistant').waitFor({ state: 'visible' });
  await page.locator('#send').waitFor({ state: 'visible' });
  assert.ok((await textOf(page.locator('.msg.assistant').locator('.reasoning-text, .content'))).length > 0, 'empty answer');
  assert.equal(await page.locator('#error').isVisible(), false, 'error after entering the key: ' + await page.textContent('#error'));
  assert.match(await page.locator('.msg.assistant .meta').textContent(), /tokens\/s/);
  assert.equal(chats.at(-1).headers()['authorization'], 'Bearer secret');

  assert.deepEqual(foreign, [], 'requests to other hosts');
  assert.deepEqual(errors, [], 'page errors');
});
