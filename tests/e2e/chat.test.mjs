// Browser tests of the whole chat: the portal page with the widget (Debian's Chromium via
// playwright-core) and the agent console, each against its own `vouch demo` on free loopback
// ports with a fresh data dir. Run: cd tests/e2e && VOUCH_BIN=../../target/debug/vouch node --test ./chat.test.mjs
// (the whole suite: node --test --test-concurrency=1 ./*.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot } from './lib.mjs';
import {
  withDemo, newContext, portalSignIn, tokenClaims, openWidget, widget, widgetSend, waitDelivered,
  widgetMessages, widgetState, recordWidgetErrors, widgetErrorsSeen, agentSignIn, conversationItem,
  acceptConversation, agentMessage, agentReply, consoleMessages, chatLogin, conversations, api,
  demoAuthSetting, eventually, CUSTOMER, AGENT, ADMIN, UI_TIMEOUT,
} from './browser.mjs';

const TEST_TIMEOUT = 180_000;
// The screenshots in docs/screenshots are taken by this suite: run it with
// VOUCH_UPDATE_SCREENSHOTS=1 to refresh them. Otherwise they go to a temp dir, so an ordinary
// run (CI included) still renders them but leaves the working tree clean.
const shots = process.env.VOUCH_UPDATE_SCREENSHOTS === '1'
  ? path.join(repoRoot, 'docs', 'screenshots')
  : path.join(tmpdir(), 'vouch-e2e-screenshots');

/** Asserts that every message is shown once: no seq twice, no text twice (texts are unique per test). */
function assertNoDuplicates(list, where) {
  const seqs = list.map((m) => m.seq).filter(Boolean);
  assert.equal(new Set(seqs).size, seqs.length, `${where}: a seq is shown twice: ${JSON.stringify(list)}`);
  const texts = list.filter((m) => m.sender !== 'system').map((m) => m.text);
  assert.equal(new Set(texts).size, texts.length, `${where}: a message is shown twice: ${JSON.stringify(list)}`);
}

test('a signed-in customer chats with an agent who sees Verified, the contact, the context and the history', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const customer = await newContext(browser);
    const agent = await newContext(browser);
    const page = await customer.context.newPage();
    const console_ = await agent.context.newPage();

    await portalSignIn(page, demo.portal, CUSTOMER);
    assert.equal((await page.getByTestId('user-name').textContent()).trim(), 'Alex Doe');
    const claims = await tokenClaims(page);
    const contactId = claims.sub;
    const w = await openWidget(page);
    await recordWidgetErrors(page);
    await w.status.filter({ hasText: /verified/ }).waitFor();
    const status = await w.status.textContent();
    assert.match(status, /Signed in as Alex Doe/, `status line: ${status}`);
    assert.doesNotMatch(status, /not verified/i, `status line: ${status}`);
    assert.equal((await widgetState(page)).verified, true);

    const first = 'Hi, where is my order 1042?';
    await widgetSend(page, first);
    await waitDelivered(page, first);
    const { conversationId } = await widgetState(page);
    assert.ok(conversationId, 'the widget knows its conversation');

    await agentSignIn(console_, demo.chat, AGENT);
    const item = conversationItem(console_, conversationId);
    await item.waitFor();
    assert.equal(await item.getAttribute('data-state'), 'waiting');
    assert.equal(await item.getAttribute('data-verified'), 'true');
    assert.match(await item.textContent(), /Verified/);
    assert.doesNotMatch(await item.textContent(), /Not verified/);

    await acceptConversation(console_, conversationId);
    assert.equal((await console_.getByTestId('verified-badge').textContent()).trim(), 'Verified');
    await console_.getByTestId('contact-name').filter({ hasText: 'Alex Doe' }).waitFor();
    assert.equal((await console_.getByTestId('contact-name').textContent()).trim(), 'Alex Doe');
    assert.equal((await console_.getByTestId('contact-email').textContent()).trim(), CUSTOMER.email);
    assert.equal((await console_.getByTestId('contact-id').textContent()).trim(), contactId);
    // Context variables: the widget sends the page it runs on.
    const ctx = console_.getByTestId('context-vars');
    await ctx.locator('tr[data-name="page_url"]').waitFor();
    assert.match(await ctx.locator('tr[data-name="page_url"]').textContent(), new RegExp(demo.portal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    assert.ok(await ctx.locator('tr[data-name="page_title"]').count() === 1, 'page_title is among the context variables');
    // …and the user's own context variables, from the token's lwicontexts claim.
    if (claims.lwicontexts) {
      const vars = JSON.parse(claims.lwicontexts);
      const rows = await ctx.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [
        tr.querySelector('th')?.textContent.trim(), tr.querySelector('td')?.textContent.trim()]));
      for (const [name, value] of Object.entries(vars)) {
        assert.deepEqual(rows.filter(([n]) => n === name), [[name, String(value)]], `context variable ${name} in ${JSON.stringify(rows)}`);
      }
    }
    if (claims.phone_number) assert.equal((await console_.getByTestId('contact-phone').textContent()).trim(), claims.phone_number);
    await agentMessage(console_, first, 'customer').waitFor();

    const reply = 'Hello Alex, order 1042 left our warehouse today.';
    await agentReply(console_, reply);
    await w.message(reply, 'agent').waitFor();
    await agentMessage(console_, reply, 'agent').waitFor();
    assertNoDuplicates(await widgetMessages(page), 'widget');
    assertNoDuplicates(await consoleMessages(console_), 'console');

    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: path.join(shots, 'portal-widget.png') });
    await console_.screenshot({ path: path.join(shots, 'agent-console.png') });

    // The agent ends: the customer sees it; the conversation becomes an activity of the contact.
    await console_.getByTestId('end-conversation').click();
    await page.waitForFunction(() => window.VouchChat.state.conversationState === 'ended', null, { timeout: UI_TIMEOUT });
    assert.deepEqual(await widgetErrorsSeen(page), [], 'the customer saw no error during the chat');

    // A second chat of the same contact: the agent sees the first one in the history.
    await page.locator('vouch-chat').getByRole('button', { name: 'Start a new chat' }).click();
    await page.waitForFunction((old) => {
      const s = window.VouchChat.state;
      return s.phase === 'open' && s.conversationId && s.conversationId !== old;
    }, conversationId, { timeout: UI_TIMEOUT });
    const second = (await widgetState(page)).conversationId;
    const secondText = 'One more question about returns.';
    await widgetSend(page, secondText);
    await waitDelivered(page, secondText);
    assert.equal((await widgetMessages(page)).filter((m) => m.text === first).length, 0, 'a new chat starts empty');

    const item2 = conversationItem(console_, second);
    await item2.waitFor();
    assert.equal(await item2.getAttribute('data-verified'), 'true');
    await item2.click();
    const history = console_.locator(`[data-testid="history-item"][data-conversation-id="${conversationId}"]`);
    await history.waitFor();
    assert.match(await history.textContent(), /where is my order 1042/);
    await history.locator('summary').click();
    await history.getByText(reply).waitFor();
    assert.equal(await console_.locator(`[data-testid="history-item"][data-conversation-id="${second}"]`).count(), 0,
      'the open conversation is not in its own history');

    // The same activity through the API.
    const token = await chatLogin(demo.chat, AGENT);
    const list = await conversations(demo.chat, token, 'waiting');
    const summary = list.find((c) => c.id === second);
    assert.ok(summary && summary.contact && summary.contact.id, `the second conversation is waiting with a contact: ${JSON.stringify(list)}`);
    const contact = await api(demo.chat, 'GET', `/api/v1/contacts/${summary.contact.id}`, { token });
    assert.equal(contact.status, 200);
    assert.equal(contact.body.contact.external_id, contactId);
    const activity = contact.body.activities.find((a) => a.conversation_id === conversationId);
    assert.ok(activity, `activity for the ended conversation: ${JSON.stringify(contact.body.activities)}`);
    assert.ok(activity.transcript.some((m) => m.sender === 'customer' && m.text === first));
    assert.ok(activity.transcript.some((m) => m.sender === 'agent' && m.text === reply));

    for (const s of [customer.seen, agent.seen]) {
      assert.deepEqual(s.dialogs, []);
      assert.deepEqual(s.pageErrors, []);
    }
  });
});

test('a signed-out visitor chats as a guest and the agent sees Not verified', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const visitor = await newContext(browser);
    const agent = await newContext(browser);
    const page = await visitor.context.newPage();
    const console_ = await agent.context.newPage();

    await page.goto(demo.portal);
    assert.equal(await page.getByTestId('user-name').count(), 0, 'signed out');
    const w = await openWidget(page);
    const status = await w.status.textContent();
    assert.match(status, /not verified/i, `status line: ${status}`);
    assert.equal((await widgetState(page)).verified, false);

    const text = 'Do you ship to Canada?';
    await widgetSend(page, text);
    await waitDelivered(page, text);
    const { conversationId } = await widgetState(page);

    await agentSignIn(console_, demo.chat, AGENT);
    const item = conversationItem(console_, conversationId);
    await item.waitFor();
    assert.equal(await item.getAttribute('data-verified'), 'false');
    assert.match(await item.textContent(), /Not verified/);
    await item.click();
    await console_.getByTestId('verified-badge').filter({ hasText: 'Not verified' }).waitFor();
    assert.equal((await console_.getByTestId('verified-badge').textContent()).trim(), 'Not verified');
    // A guest has no contact record: nothing of the demo customer's may show.
    assert.doesNotMatch(await console_.getByTestId('contact-name').textContent(), /Alex|Doe/);
    assert.doesNotMatch(await console_.getByTestId('contact-email').textContent(), /@/);
    assert.doesNotMatch(await console_.getByTestId('contact-id').textContent(), /[0-9a-f]{8}-[0-9a-f]{4}/);
    assert.equal(await console_.getByTestId('history-item').count(), 0, 'a guest has no history');
    await console_.getByTestId('accept').click();
    await agentMessage(console_, text, 'customer').waitFor();
    await agentReply(console_, 'Yes, we do.');
    await w.message('Yes, we do.', 'agent').waitFor();
    assert.deepEqual(visitor.seen.pageErrors, []);
    assert.deepEqual(visitor.seen.dialogs, []);
  });
});

test('token expiry mid-chat: the widget re-authenticates silently and later messages are delivered', { timeout: TEST_TIMEOUT }, async () => {
  const TTL = 5;
  await withDemo({ extraArgs: ['--token-ttl', String(TTL)] }, async ({ demo, browser }) => {
    // The chat service renews identities at exp + the setting's leeway (default 60 s):
    // leeway 0 makes the expiry come at the token's own exp.
    const admin = await chatLogin(demo.chat, ADMIN);
    const setting = await demoAuthSetting(demo.chat, admin);
    const put = await api(demo.chat, 'PUT', `/api/v1/admin/auth-settings/${setting.id}`, {
      token: admin,
      body: { name: setting.name, public_key_url: setting.public_key_url, function_name: setting.function_name, issuer: setting.issuer ?? undefined, leeway_secs: 0 },
    });
    assert.equal(put.status, 200, `PUT auth-settings leeway 0: ${JSON.stringify(put.body)}`);

    const customer = await newContext(browser);
    const agent = await newContext(browser);
    const page = await customer.context.newPage();
    const console_ = await agent.context.newPage();
    const frames = { reauthRequired: 0, reauthenticated: 0, errors: [] };
    page.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => {
      let f;
      try { f = JSON.parse(String(payload)); } catch { return; }
      if (f.type === 'reauth_required') frames.reauthRequired++;
      if (f.type === 'reauthenticated') frames.reauthenticated++;
      if (f.type === 'error' && f.error !== 'reauth_required') frames.errors.push(f);
    }));

    await portalSignIn(page, demo.portal, CUSTOMER);
    const token = await page.evaluate(() => fetch('/token').then((r) => r.text()));
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    assert.equal(claims.exp - claims.iat, TTL, `the demo's portal signs ${TTL}-second tokens (VOUCH_TOKEN_TTL / --token-ttl)`);

    const w = await openWidget(page);
    await recordWidgetErrors(page);
    const before = 'Before my sign-in token expires.';
    await widgetSend(page, before);
    await waitDelivered(page, before);
    const { conversationId } = await widgetState(page);
    await agentSignIn(console_, demo.chat, AGENT);
    await acceptConversation(console_, conversationId);

    // Wait (for the event, not a duration) until the server asked for a new token and took it.
    await eventually(() => frames.reauthenticated >= 1, { timeout: (TTL + 30) * 1000, interval: 250, what: 'a reauthenticated frame' });
    assert.ok(frames.reauthRequired >= 1, 'the server asked for a fresh token');

    const after = 'After the first token expired.';
    await widgetSend(page, after);
    await waitDelivered(page, after);
    await agentMessage(console_, after, 'customer').waitFor();
    await agentReply(console_, 'Still here.');
    await w.message('Still here.', 'agent').waitFor();

    // Across a second expiry too.
    await eventually(() => frames.reauthenticated >= 2, { timeout: (TTL + 30) * 1000, interval: 250, what: 'a second reauthenticated frame' });
    const later = 'And after the second expiry.';
    await widgetSend(page, later);
    await waitDelivered(page, later);
    await agentMessage(console_, later, 'customer').waitFor();

    const state = await widgetState(page);
    assert.equal(state.conversationId, conversationId, 'the same conversation throughout');
    assert.equal(state.verified, true);
    assert.deepEqual(await widgetErrorsSeen(page), [], 'the customer never saw an error');
    assert.deepEqual(frames.errors, [], 'no error frame other than reauth_required');
    assert.doesNotMatch(await w.status.textContent(), /not verified/i);
    assertNoDuplicates(await widgetMessages(page), 'widget');
    assertNoDuplicates(await consoleMessages(console_), 'console');
  });
});

test('the network drops and comes back: every message is delivered exactly once on both sides', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const customer = await newContext(browser);
    const agent = await newContext(browser);
    const page = await customer.context.newPage();
    const console_ = await agent.context.newPage();

    await portalSignIn(page, demo.portal, CUSTOMER);
    const w = await openWidget(page);
    const m1 = 'Online before the drop.';
    await widgetSend(page, m1);
    await waitDelivered(page, m1);
    const { conversationId } = await widgetState(page);
    await agentSignIn(console_, demo.chat, AGENT);
    await acceptConversation(console_, conversationId);
    await agentMessage(console_, m1, 'customer').waitFor();

    await customer.context.setOffline(true);
    await page.waitForFunction(() => window.VouchChat.state.phase !== 'open', null, { timeout: UI_TIMEOUT });
    const offline = ['Typed while offline, one.', 'Typed while offline, two.', 'Typed while offline, three.'];
    for (const t of offline) await widgetSend(page, t);
    const pending = (await widgetMessages(page)).filter((m) => offline.includes(m.text));
    assert.equal(pending.length, 3);
    for (const m of pending) assert.notEqual(m.status, 'delivered', `not delivered while offline: ${JSON.stringify(m)}`);
    await w.error.filter({ hasText: /offline/i }).waitFor();
    // The agent writes while the customer is away: resume must bring it.
    const agentWhileAway = 'Agent wrote while you were offline.';
    await agentReply(console_, agentWhileAway);
    await agentMessage(console_, agentWhileAway, 'agent').waitFor();

    await customer.context.setOffline(false);
    for (const t of offline) await waitDelivered(page, t);
    await w.message(agentWhileAway, 'agent').waitFor();
    for (const t of offline) await agentMessage(console_, t, 'customer').waitFor();
    await w.error.waitFor({ state: 'hidden' });

    const m5 = 'Back online.';
    await widgetSend(page, m5);
    await waitDelivered(page, m5);
    await agentMessage(console_, m5, 'customer').waitFor();

    // Exactly once everywhere: the widget, the console and the stored conversation.
    const shown = await widgetMessages(page);
    assertNoDuplicates(shown, 'widget');
    const inConsole = await consoleMessages(console_);
    assertNoDuplicates(inConsole, 'console');
    const token = await chatLogin(demo.chat, AGENT);
    const stored = await api(demo.chat, 'GET', `/api/v1/agent/conversations/${conversationId}`, { token });
    assert.equal(stored.status, 200);
    const texts = stored.body.messages.map((m) => m.text);
    for (const t of [m1, ...offline, agentWhileAway, m5]) {
      assert.equal(texts.filter((x) => x === t).length, 1, `stored once: ${t} in ${JSON.stringify(texts)}`);
      assert.equal(shown.filter((m) => m.text === t).length, 1, `shown once in the widget: ${t}`);
      assert.equal(inConsole.filter((m) => m.text === t).length, 1, `shown once in the console: ${t}`);
    }
    const seqs = stored.body.messages.map((m) => m.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'seqs count from 1 without gaps');
    // The order the customer typed is kept.
    const order = offline.map((t) => stored.body.messages.find((m) => m.text === t).seq);
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
    assert.deepEqual(customer.seen.pageErrors, []);
  });
});

test('a second browser signed in as the same customer sees the same conversation and its messages', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const one = await newContext(browser);
    const two = await newContext(browser);
    const agent = await newContext(browser);
    const p1 = await one.context.newPage();
    const p2 = await two.context.newPage();
    const console_ = await agent.context.newPage();

    await portalSignIn(p1, demo.portal, CUSTOMER);
    await openWidget(p1);
    const a = 'Written in the first browser.';
    await widgetSend(p1, a);
    await waitDelivered(p1, a);
    const { conversationId } = await widgetState(p1);
    await agentSignIn(console_, demo.chat, AGENT);
    await acceptConversation(console_, conversationId);
    const reply = 'Agent reply before the second browser.';
    await agentReply(console_, reply);
    await widget(p1).message(reply, 'agent').waitFor();

    await portalSignIn(p2, demo.portal, CUSTOMER);
    const w2 = await openWidget(p2);
    assert.equal((await widgetState(p2)).conversationId, conversationId, 'the same conversation in the second browser');
    await w2.message(a, 'customer').waitFor();
    await w2.message(reply, 'agent').waitFor();

    // Live in both directions from here on.
    const b = 'Written in the second browser.';
    await widgetSend(p2, b);
    await waitDelivered(p2, b);
    await widget(p1).message(b, 'customer').waitFor();
    await agentMessage(console_, b, 'customer').waitFor();
    const c = 'Agent reply seen by both.';
    await agentReply(console_, c);
    await widget(p1).message(c, 'agent').waitFor();
    await w2.message(c, 'agent').waitFor();

    const l1 = await widgetMessages(p1);
    const l2 = await widgetMessages(p2);
    assertNoDuplicates(l1, 'first browser');
    assertNoDuplicates(l2, 'second browser');
    const bySeq = (l) => l.filter((m) => m.seq).map((m) => `${m.seq}:${m.sender}:${m.text}`).sort();
    assert.deepEqual(bySeq(l2), bySeq(l1), 'both browsers show the same messages with the same seqs');
    assertNoDuplicates(await consoleMessages(console_), 'console');
    assert.equal(await conversationItem(console_, conversationId).count(), 1, 'still one conversation for the agent');
  });
});
