// Helpers for the browser tests (chat.test.mjs, xss.test.mjs, failures.test.mjs): sign-ins on
// the portal and the agent console, the widget's hooks inside its open shadow root, a tiny
// loopback host page for widgets other than the demo's, and the chat service's JSON API.
// Everything here talks to 127.0.0.1 only.
import http from 'node:http';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { startDemo, launchBrowser, cleanup, runVouch } from './lib.mjs';

export const CUSTOMER = { email: 'customer@example.com', password: 'customer', given: 'Alex', family: 'Doe' };
export const AGENT = { email: 'agent@example.com', password: 'agent' };
export const ADMIN = { email: 'admin@example.com', password: 'admin' };

/** Short Playwright timeouts: every wait below is for a state, never for a duration. */
export const UI_TIMEOUT = 15_000;

/**
 * Runs `fn({demo, browser})` against a fresh `vouch demo` (own data dir, free ports) and a
 * fresh Chromium; stops both and removes the data dir afterwards. On failure the demo's
 * stderr tail is attached to the error, so a product bug shows its server log.
 */
export async function withDemo(opts, fn) {
  if (typeof opts === 'function') { fn = opts; opts = {}; }
  const demo = await startDemo(opts);
  let browser;
  try {
    browser = await launchBrowser();
    return await fn({ demo, browser });
  } catch (err) {
    const { err: stderr } = demo.logs();
    if (stderr && err && typeof err === 'object') {
      try { err.message += `\n--- vouch demo stderr (tail) ---\n${stderr.slice(-3000)}`; } catch { /* frozen */ }
    }
    throw err;
  } finally {
    if (browser) await browser.close().catch(() => {});
    await demo.stop();
    cleanup(demo.dataDir);
  }
}

/** A browser context with short timeouts and a record of dialogs, page errors and console errors. */
export async function newContext(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  context.setDefaultTimeout(UI_TIMEOUT);
  const seen = { dialogs: [], pageErrors: [], consoleErrors: [] };
  context.on('page', (page) => watchPage(page, seen));
  return { context, seen };
}

function watchPage(page, seen) {
  page.on('dialog', (d) => { seen.dialogs.push(`${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => seen.pageErrors.push(String(e && e.message ? e.message : e)));
  page.on('console', (m) => { if (m.type() === 'error') seen.consoleErrors.push(m.text()); });
}

// ------------------------------------------------------------------------------ JSON API

/** fetch() with JSON in and out; resolves {status, body, headers}. */
export async function api(base, method, route, { token, body, origin, headers = {} } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (origin) h.Origin = origin;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(new URL(route, base), {
    method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual',
  });
  const text = await res.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
  return { status: res.status, body: parsed, headers: res.headers };
}

export async function chatLogin(chat, who) {
  const r = await api(chat, 'POST', '/api/v1/agent/login', { body: { email: who.email, password: who.password } });
  if (r.status !== 200 || !r.body || typeof r.body.token !== 'string') {
    throw new Error(`POST /api/v1/agent/login as ${who.email}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return r.body.token;
}

/** The demo's chat authentication setting (the one whose key URL is the portal's /publickey). */
export async function demoAuthSetting(chat, adminToken) {
  const r = await api(chat, 'GET', '/api/v1/admin/auth-settings', { token: adminToken });
  if (r.status !== 200 || !Array.isArray(r.body?.auth_settings) || r.body.auth_settings.length === 0) {
    throw new Error(`GET /api/v1/admin/auth-settings: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return r.body.auth_settings[0];
}

/** Creates a widget through the admin API; resolves the 201 body ({app_id, snippet, …}). */
export async function createWidget(chat, adminToken, widget) {
  const r = await api(chat, 'POST', '/api/v1/admin/widgets', { token: adminToken, body: widget });
  if (r.status !== 201) throw new Error(`POST /api/v1/admin/widgets: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** GET /api/v1/agent/conversations?state=… → the list. */
export async function conversations(chat, token, state) {
  const r = await api(chat, 'GET', `/api/v1/agent/conversations?state=${state}`, { token });
  if (r.status !== 200 || !Array.isArray(r.body?.conversations)) {
    throw new Error(`GET conversations?state=${state}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return r.body.conversations;
}

// ---------------------------------------------------------------------------- host pages

/**
 * A loopback HTTP server for host pages. `pages` maps a path to HTML (string or
 * function(req) → string). Resolves {url, origin, port, setPage(path, html), close()}.
 */
export async function startHostServer(pages = {}) {
  const table = { ...pages };
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    const page = table[p];
    if (page === undefined) { res.writeHead(404, { 'Content-Type': 'text/plain' }); res.end('not found'); return; }
    const html = typeof page === 'function' ? page(req) : page;
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(html);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const origin = `http://127.0.0.1:${port}`;
  return {
    port, origin, url: `${origin}/`,
    setPage(p, html) { table[p] = html; },
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

/** A loopback port nothing listens on (bound, then closed). */
export async function closedPort() {
  const s = http.createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/**
 * A host page in the blog's shape: the widget snippet, then the auth function (after the
 * snippet, as the blog does, so the widget must wait for it). `authBody` is the function's
 * body with `callback` in scope; null leaves the function out entirely. A button and a
 * counter prove the page keeps working around the widget.
 */
export function hostPageHtml({ snippet, authBody = 'callback(null);', title = 'Host page' }) {
  const auth = authBody === null ? '' : `
<script>
var auth = window.auth || {};
auth.getAuthenticationToken = function (callback) { ${authBody} };
window.auth = auth;
</script>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>
<body>
<h1>${title}</h1>
<button id="bump" type="button">Count</button> <output id="count">0</output>
<script>
document.getElementById('bump').addEventListener('click', function () {
  var o = document.getElementById('count'); o.textContent = String(Number(o.textContent) + 1);
});
</script>
${snippet}${auth}
</body></html>`;
}

/** The design's snippet for a widget, with its URLs. */
export function snippetFor({ scriptBase, orgUrl, appId }) {
  return `<script id="Microsoft_Omnichannel_LCWidget" src="${scriptBase}/livechatwidget/scripts/LiveChatBootstrapper.js" data-app-id="${appId}" data-lcw-version="prod" data-org-id="vouch" data-org-url="${orgUrl}"></script>`;
}

// ----------------------------------------------------------------------------- portal

export async function portalSignIn(page, portal, who = CUSTOMER) {
  await page.goto(new URL('/login', portal).href);
  await page.getByTestId('login-email').fill(who.email);
  await page.getByTestId('login-password').fill(who.password);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/'),
    page.getByTestId('login-submit').click(),
  ]);
  await page.getByTestId('user-name').waitFor();
}

/** The claims of the token the portal signs for the page's signed-in user (GET /token). */
export async function tokenClaims(page) {
  const token = await page.evaluate(() => fetch('/token', { credentials: 'same-origin' }).then((r) => r.text()));
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

/** The signed-in customer's contact id: the `sub` of the portal's own token. */
export async function contactIdOf(page) {
  return (await tokenClaims(page)).sub;
}

// ----------------------------------------------------------------------------- widget

/** Locators for the widget's hooks (CSS locators pierce the open shadow root). */
export function widget(page) {
  return {
    launcher: page.getByTestId('chat-launcher'),
    panel: page.getByTestId('chat-panel'),
    input: page.getByTestId('chat-input'),
    send: page.getByTestId('chat-send'),
    status: page.getByTestId('chat-status'),
    error: page.getByTestId('chat-error'),
    messages: page.getByTestId('chat-message'),
    message: (text, sender) => page.locator(`[data-testid="chat-message"]${sender ? `[data-sender="${sender}"]` : ''}`).filter({ hasText: text }),
  };
}

/** Opens the widget and waits until its socket is open (VouchChat.state.phase === 'open'). */
export async function openWidget(page) {
  const w = widget(page);
  await w.launcher.click();
  await w.panel.waitFor({ state: 'visible' });
  await page.waitForFunction(() => window.VouchChat && window.VouchChat.state.phase === 'open', null, { timeout: UI_TIMEOUT });
  return w;
}

export async function widgetState(page) {
  return page.evaluate(() => window.VouchChat.state);
}

/** Types and sends a message from the widget (Send button); does not wait for delivery. */
export async function widgetSend(page, text) {
  const w = widget(page);
  await w.input.fill(text);
  await w.send.click();
}

/** Waits until the customer's own message with exactly this text is acknowledged. */
export async function waitDelivered(page, text) {
  await page.waitForFunction((t) => {
    const host = document.querySelector('vouch-chat');
    if (!host || !host.shadowRoot) return false;
    return [...host.shadowRoot.querySelectorAll('[data-testid="chat-message"][data-sender="customer"]')]
      .some((m) => m.textContent === t && m.getAttribute('data-status') === 'delivered' && m.getAttribute('data-seq'));
  }, text, { timeout: UI_TIMEOUT });
}

/** Every chat-message of the widget as {sender, seq, status, text}, in DOM order. */
export async function widgetMessages(page) {
  return page.evaluate(() => {
    const host = document.querySelector('vouch-chat');
    return [...host.shadowRoot.querySelectorAll('[data-testid="chat-message"]')].map((m) => ({
      sender: m.getAttribute('data-sender'), seq: m.getAttribute('data-seq'), status: m.getAttribute('data-status'), text: m.textContent,
    }));
  });
}

/**
 * Records every text chat-error ever shows (a MutationObserver in the page), so a test can
 * prove the customer never saw an error, not only that none is visible at the end.
 */
export async function recordWidgetErrors(page) {
  await page.evaluate(() => {
    const host = document.querySelector('vouch-chat');
    const box = host.shadowRoot.querySelector('[data-testid="chat-error"]');
    window.__vouchErrorsSeen = [];
    const note = () => { if (!box.hidden && box.textContent) window.__vouchErrorsSeen.push(box.textContent); };
    note();
    new MutationObserver(note).observe(box, { attributes: true, childList: true, characterData: true, subtree: true });
  });
}

export async function widgetErrorsSeen(page) {
  return page.evaluate(() => window.__vouchErrorsSeen || []);
}

/** Counts elements matching `selector` inside the widget's shadow root. */
export async function countInWidget(page, selector) {
  return page.evaluate((sel) => document.querySelector('vouch-chat').shadowRoot.querySelectorAll(sel).length, selector);
}

// ------------------------------------------------------------------------------ console

export async function agentSignIn(page, chat, who = AGENT) {
  await page.goto(new URL('/agent', chat).href);
  await page.getByTestId('agent-email').fill(who.email);
  await page.getByTestId('agent-password').fill(who.password);
  await page.getByTestId('agent-login').click();
  await page.getByTestId('agent-email').waitFor({ state: 'hidden' });
}

export function conversationItem(page, conversationId) {
  return page.locator(`[data-testid="conversation-item"][data-conversation-id="${conversationId}"]`);
}

/** Opens a waiting conversation in the console and accepts it. */
export async function acceptConversation(page, conversationId) {
  const item = conversationItem(page, conversationId);
  await item.click();
  await page.getByTestId('accept').click();
  await page.getByTestId('end-conversation').waitFor({ state: 'visible' });
  await page.getByTestId('agent-input').waitFor({ state: 'visible' });
}

export function agentMessage(page, text, sender) {
  return page.locator(`[data-testid="agent-message"]${sender ? `[data-sender="${sender}"]` : ''}`).filter({ hasText: text });
}

export async function agentReply(page, text) {
  await page.getByTestId('agent-input').fill(text);
  await page.getByTestId('agent-send').click();
}

/** Every agent-message of the open conversation as {sender, seq, text}. */
export async function consoleMessages(page) {
  return page.locator('[data-testid="agent-message"]').evaluateAll((els) => els.map((m) => ({
    sender: m.getAttribute('data-sender'), seq: m.getAttribute('data-seq'), text: m.textContent,
  })));
}

// ------------------------------------------------------------------------------- misc

/** The portal's data directory inside a demo data dir (the folder that holds portal.db). */
export function findPortalDataDir(root) {
  const stack = [root];
  for (let i = 0; stack.length && i < 500; i++) {
    const dir = stack.pop();
    let names;
    try { names = readdirSync(dir); } catch { continue; }
    if (names.includes('portal.db')) return dir;
    for (const n of names) {
      const p = path.join(dir, n);
      try { if (statSync(p).isDirectory()) stack.push(p); } catch { /* raced */ }
    }
  }
  throw new Error(`no portal.db under ${root}`);
}

/** `vouch portal users add` against a demo's portal data dir. */
export async function addPortalUser(dataDir, { email, given, family, password, contactId, phone, context = {} }) {
  const args = ['portal', 'users', 'add', '--data-dir', findPortalDataDir(dataDir), '--email', email,
    '--given-name', given, '--family-name', family, '--password-stdin'];
  if (contactId) args.push('--contact-id', contactId);
  if (phone) args.push('--phone', phone);
  for (const [k, v] of Object.entries(context)) args.push('--context', `${k}=${v}`);
  const r = await runVouch(args, { input: `${password}\n` });
  if (r.code !== 0) throw new Error(`vouch ${args.join(' ')} → ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Polls `check()` until it returns a truthy value; bounded in count and time. */
export async function eventually(check, { timeout = UI_TIMEOUT, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (let i = 0; i < 10_000; i++) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, interval));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}
