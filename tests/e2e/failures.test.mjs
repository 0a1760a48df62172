// Visible failures in a real browser: each one shows a plain sentence in the widget's
// chat-error (never a blank panel) and leaves the host page working. Host pages are served
// by a tiny loopback server; widgets other than the demo's are made through the admin API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withDemo, newContext, startHostServer, hostPageHtml, snippetFor, closedPort, widget, chatLogin,
  demoAuthSetting, createWidget, conversations, AGENT, ADMIN,
} from './browser.mjs';

/** Opens the widget on a host page and waits for a sentence in chat-error. */
async function openAndReadError(page, url, { errorTimeout } = {}) {
  await page.goto(url);
  const w = widget(page);
  await w.launcher.click();
  await w.panel.waitFor({ state: 'visible' });
  await w.error.waitFor({ state: 'visible', timeout: errorTimeout });
  const text = (await w.error.textContent()).trim();
  return { w, text };
}

/** A plain sentence: words, ends with a full stop, no code or markup. */
function assertSentence(text) {
  assert.match(text, /^[A-Z][^<>{}]{10,}[.!?)]$/, `a plain sentence: ${JSON.stringify(text)}`);
}

/** The host page still works: its own button responds, and the widget threw nothing at it. */
async function assertPageWorks(page, seen) {
  await page.locator('#bump').click();
  await page.locator('#bump').click();
  assert.equal(await page.locator('#count').textContent(), '2');
  assert.deepEqual(seen.pageErrors, [], 'no uncaught error reached the host page');
  assert.deepEqual(seen.dialogs, []);
}

async function sessionRequests(page) {
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST' && /\/sessions$/.test(new URL(r.url()).pathname)) posts.push(r.url()); });
  return posts;
}

test('a require-auth widget tells a signed-out visitor to sign in and creates no session', { timeout: 120_000 }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const host = await startHostServer();
    try {
      const admin = await chatLogin(demo.chat, ADMIN);
      const setting = await demoAuthSetting(demo.chat, admin);
      const created = await createWidget(demo.chat, admin, {
        name: 'Members only', allowed_origins: [host.origin], auth_settings_id: setting.id, require_auth: true,
      });
      assert.equal(created.require_auth, true);
      assert.match(created.snippet, /id="Microsoft_Omnichannel_LCWidget"/);
      // The page carries the snippet the admin API handed out, and an auth function that
      // calls back null (signed out).
      host.setPage('/', hostPageHtml({ snippet: created.snippet, authBody: 'setTimeout(function () { callback(null); }, 20);' }));

      const { context, seen } = await newContext(browser);
      const page = await context.newPage();
      const posts = await sessionRequests(page);
      const { w, text } = await openAndReadError(page, host.url);
      assert.match(text, /sign in/i, `told to sign in: ${text}`);
      assertSentence(text);
      assert.ok(await w.input.isDisabled(), 'nothing can be typed without a session');
      assert.deepEqual(posts, [], 'the widget did not try to create a session');

      const agentToken = await chatLogin(demo.chat, AGENT);
      assert.deepEqual(await conversations(demo.chat, agentToken, 'waiting'), [], 'no conversation was created');
      await assertPageWorks(page, seen);
    } finally {
      await host.close();
    }
  });
});

test('a token the chat service refuses, and a missing auth function, each show a sentence', { timeout: 120_000 }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const host = await startHostServer();
    try {
      const admin = await chatLogin(demo.chat, ADMIN);
      const setting = await demoAuthSetting(demo.chat, admin);
      const created = await createWidget(demo.chat, admin, {
        name: 'Members only', allowed_origins: [host.origin], auth_settings_id: setting.id, require_auth: true,
      });
      host.setPage('/bad-token', hostPageHtml({ snippet: created.snippet, authBody: "callback('not.a.jwt');" }));
      host.setPage('/no-function', hostPageHtml({ snippet: created.snippet, authBody: null }));
      const agentToken = await chatLogin(demo.chat, AGENT);

      const { context, seen } = await newContext(browser);
      const page = await context.newPage();
      const bad = await openAndReadError(page, `${host.origin}/bad-token`);
      assert.match(bad.text, /sign-in/i, bad.text);
      assert.match(bad.text, /malformed/, `the reason in words: ${bad.text}`);
      assertSentence(bad.text);
      await assertPageWorks(page, seen);

      // The widget waits up to 10 s for the page to define its function, then says so.
      const missing = await openAndReadError(page, `${host.origin}/no-function`, { errorTimeout: 30_000 });
      assert.match(missing.text, /auth\.getAuthenticationToken/, missing.text);
      assert.match(missing.text, /sign in/i, missing.text);
      assertSentence(missing.text);
      await assertPageWorks(page, seen);

      assert.deepEqual(await conversations(demo.chat, agentToken, 'waiting'), [], 'no conversation was created');
    } finally {
      await host.close();
    }
  });
});

test('the chat service down, and an origin the widget does not allow, each show a sentence', { timeout: 120_000 }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const host = await startHostServer();
    try {
      const chat = demo.chat.replace(/\/+$/, '');
      const down = `http://127.0.0.1:${await closedPort()}`;
      // The widget script loads, but its data-org-url points at a port nobody listens on.
      host.setPage('/down', hostPageHtml({ snippet: snippetFor({ scriptBase: chat, orgUrl: down, appId: demo.appId }) }));
      // The demo widget allows only the portal's origin, not this host's.
      host.setPage('/refused', hostPageHtml({ snippet: snippetFor({ scriptBase: chat, orgUrl: chat, appId: demo.appId }) }));
      // An app id the chat service does not know.
      host.setPage('/unknown', hostPageHtml({ snippet: snippetFor({ scriptBase: chat, orgUrl: chat, appId: '00000000-0000-4000-8000-000000000000' }) }));

      const { context, seen } = await newContext(browser);
      const page = await context.newPage();

      const d = await openAndReadError(page, `${host.origin}/down`);
      assert.match(d.text, /can't be reached|cannot be reached|unreachable/i, d.text);
      assertSentence(d.text);
      await assertPageWorks(page, seen);

      const posts = await sessionRequests(page);
      const r = await openAndReadError(page, `${host.origin}/refused`);
      assert.match(r.text, /not allowed/i, r.text);
      assertSentence(r.text);
      await assertPageWorks(page, seen);
      assert.deepEqual(posts.filter((u) => u.startsWith(chat)), [], 'no session from a refused origin');

      const u = await openAndReadError(page, `${host.origin}/unknown`);
      assert.ok(u.text.length > 10, u.text);
      assertSentence(u.text);
      await assertPageWorks(page, seen);

      const agentToken = await chatLogin(demo.chat, AGENT);
      assert.deepEqual(await conversations(demo.chat, agentToken, 'waiting'), [], 'no conversation was created');
    } finally {
      await host.close();
    }
  });
});
