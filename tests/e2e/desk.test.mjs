// Browser tests of the support desk's notes and canned replies (issue 15, items 7 and 8): an
// agent writes an internal note that the customer's widget never shows (not in its page, not in
// any frame its socket receives), and `/shortcut` completion fills the composer with the
// server-rendered text. Run: cd tests/e2e && VOUCH_BIN=../../target/debug/vouch node --test ./desk.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot } from './lib.mjs';
import {
  withDemo, newContext, portalSignIn, openWidget, widgetSend, waitDelivered, widgetMessages,
  widgetState, agentSignIn, acceptConversation, agentMessage, CUSTOMER, ADMIN, UI_TIMEOUT,
} from './browser.mjs';

const TEST_TIMEOUT = 180_000;
// As in chat.test.mjs: VOUCH_UPDATE_SCREENSHOTS=1 refreshes docs/screenshots, else a temp dir.
const shots = process.env.VOUCH_UPDATE_SCREENSHOTS === '1'
  ? path.join(repoRoot, 'docs', 'screenshots')
  : path.join(tmpdir(), 'vouch-e2e-screenshots');

test('an internal note never reaches the widget; /shortcut fills the composer with the rendered reply', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const customer = await newContext(browser);
    const agent = await newContext(browser);
    const page = await customer.context.newPage();
    const console_ = await agent.context.newPage();
    const consoleFailures = [];
    console_.on('response', (r) => { if (r.status() >= 400) consoleFailures.push(`${r.status()} ${new URL(r.url()).pathname}`); });

    // Every frame the customer's page receives on any WebSocket.
    const customerFrames = [];
    page.on('websocket', (ws) => ws.on('framereceived', (f) => customerFrames.push(String(f.payload))));

    await portalSignIn(page, demo.portal, CUSTOMER);
    const w = await openWidget(page);
    // Whatever text the widget ever shows, recorded as it changes.
    await page.evaluate(() => {
      const root = document.querySelector('vouch-chat').shadowRoot;
      window.__vouchShown = [];
      const note = () => window.__vouchShown.push(root.textContent || '');
      new MutationObserver(note).observe(root, { childList: true, characterData: true, subtree: true });
    });
    const first = 'Hello, I need help with my order.';
    await widgetSend(page, first);
    await waitDelivered(page, first);
    const { conversationId } = await widgetState(page);

    await agentSignIn(console_, demo.chat);
    await acceptConversation(console_, conversationId);
    await agentMessage(console_, first, 'customer').waitFor();

    // The note: beside the transcript, for agents only.
    const secret = 'Internal: customer was refunded twice last month, check with billing.';
    await console_.getByTestId('note-input').fill(secret);
    await console_.getByTestId('note-send').click();
    const item = console_.getByTestId('note-item').filter({ hasText: secret });
    await item.waitFor();
    assert.equal(await console_.getByTestId('note-item').count(), 1);
    assert.equal(await console_.getByTestId('note-input').inputValue(), '', 'the note box is cleared');
    assert.equal(await agentMessage(console_, secret).count(), 0, 'a note is not a message of the transcript');

    // Canned replies: `/` offers the agent's own replies first, then the shared ones.
    const input = console_.getByTestId('agent-input');
    await input.fill('');
    await input.pressSequentially('/');
    const suggestions = console_.getByTestId('canned-suggestion');
    await suggestions.first().waitFor();
    const offered = await suggestions.evaluateAll((els) => els.map((e) => e.getAttribute('data-shortcut')));
    assert.deepEqual(offered, ['email', 'wait', 'hello', 'order', 'thanks'], 'own first, then shared');
    mkdirSync(shots, { recursive: true });
    await console_.screenshot({ path: path.join(shots, 'console-notes-canned.png') });
    // Arrows move the highlight; Escape closes without changing the text.
    await input.press('ArrowDown');
    assert.equal(await suggestions.nth(1).getAttribute('aria-selected'), 'true');
    assert.equal(await input.getAttribute('aria-activedescendant'), await suggestions.nth(1).getAttribute('id'));
    await input.press('Escape');
    await suggestions.first().waitFor({ state: 'detached' });
    assert.equal(await input.inputValue(), '/');
    // Typing narrows the list; Enter picks the highlighted one and the server renders it.
    await input.pressSequentially('hel');
    await suggestions.first().waitFor();
    assert.deepEqual(await suggestions.evaluateAll((els) => els.map((e) => e.getAttribute('data-shortcut'))), ['hello']);
    await input.press('Enter');
    const rendered = "Hi Alex, I'm Sam Rivera. How can I help you today?";
    await console_.waitForFunction((want) => document.querySelector('[data-testid="agent-input"]').value === want, rendered, { timeout: UI_TIMEOUT });
    assert.equal(await suggestions.count(), 0, 'the list closed');
    assert.equal(await agentMessage(console_, rendered).count(), 0, 'Enter picked the reply; it did not send anything');

    // The agent sends it; the customer gets the rendered text, and that is the last frame we wait for.
    await input.press('Enter');
    await w.message(rendered, 'agent').waitFor();
    await agentMessage(console_, rendered, 'agent').waitFor();

    // The customer never saw the note: not in the widget, not in any frame of its socket.
    const shown = await page.evaluate(() => window.__vouchShown);
    assert.ok(shown.length > 0, 'the observer saw the widget change');
    assert.ok(shown.every((t) => !t.includes(secret)), 'the note never appeared in the widget');
    assert.ok((await widgetMessages(page)).every((m) => !m.text.includes(secret)));
    assert.ok(customerFrames.length > 0, 'frames were recorded');
    assert.ok(customerFrames.some((f) => f.includes('How can I help you today?')), 'the reply came over the recorded socket');
    for (const f of customerFrames) {
      assert.ok(!f.includes(secret), `a customer frame held the note: ${f}`);
      assert.ok(!f.includes('"type":"note"'), `a customer frame was a note: ${f}`);
    }
    assert.deepEqual(customer.seen.pageErrors, []);
    assert.deepEqual(agent.seen.pageErrors, []);
    // The console's only refused requests: "who am I" before signing in, and the browser's favicon.
    assert.deepEqual(consoleFailures.filter((f) => f !== '401 /api/v1/agent/me' && f !== '404 /favicon.ico'), []);
    assert.deepEqual(agent.seen.consoleErrors.filter((e) => !e.startsWith('Failed to load resource')), []);
  });
});

test('an admin adds a shared canned reply (errors named by field), an agent one of their own; both are offered, own first', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const admin = await newContext(browser);
    const page = await admin.context.newPage();
    await page.goto(new URL('/admin', demo.chat).href);
    await page.getByTestId('agent-email').fill(ADMIN.email);
    await page.getByTestId('agent-password').fill(ADMIN.password);
    await page.getByTestId('agent-login').click();
    await page.getByTestId('tab-canned').click();
    const rows = page.getByTestId('canned-row');
    await rows.first().waitFor();
    assert.deepEqual(await rows.locator('td.mono').allTextContents(), ['/hello', '/order', '/thanks'], 'the demo seeds shared replies');

    // A bad shortcut is named next to its field; nothing is stored.
    await page.getByTestId('canned-shortcut').fill('Returns Policy');
    await page.getByTestId('canned-text').fill('Returns are free within 30 days, {{contact.given_name}}.');
    await page.getByTestId('canned-save').click();
    await page.getByTestId('canned-shortcut-error').waitFor();
    assert.equal(await page.getByTestId('canned-shortcut').getAttribute('aria-invalid'), 'true');
    assert.equal(await rows.count(), 3);
    // A taken shortcut: the same field.
    await page.getByTestId('canned-shortcut').fill('thanks');
    await page.getByTestId('canned-save').click();
    await page.getByTestId('canned-shortcut-error').filter({ hasText: /taken/ }).waitFor();
    await page.getByTestId('canned-shortcut').fill('returns');
    await page.getByTestId('canned-save').click();
    await rows.filter({ hasText: '/returns' }).waitFor();
    assert.equal(await page.getByTestId('canned-shortcut').getAttribute('aria-invalid'), null);

    // An agent who signs in now is offered it, and it is rendered for the conversation.
    const customer = await newContext(browser);
    const site = await customer.context.newPage();
    await portalSignIn(site, demo.portal, CUSTOMER);
    await openWidget(site);
    await widgetSend(site, 'Can I return these boots?');
    await waitDelivered(site, 'Can I return these boots?');
    const { conversationId } = await widgetState(site);
    const agent = await newContext(browser);
    const console_ = await agent.context.newPage();
    await agentSignIn(console_, demo.chat);
    await acceptConversation(console_, conversationId);
    // The agent adds one of their own with the same shortcut, in the My canned replies dialog.
    await console_.getByTestId('my-canned-open').click();
    await console_.getByTestId('my-canned-shortcut').fill('returns');
    await console_.getByTestId('my-canned-text').fill('{{agent.name}} here: I will start your return now.');
    await console_.getByTestId('my-canned-save').click();
    await console_.getByTestId('my-canned-item').filter({ hasText: '/returns' }).waitFor();
    await console_.getByTestId('my-canned-close').click();
    await console_.getByTestId('my-canned-dialog').waitFor({ state: 'hidden' });

    const input = console_.getByTestId('agent-input');
    const value = (want) => console_.waitForFunction((w) => document.querySelector('[data-testid="agent-input"]').value === w, want, { timeout: UI_TIMEOUT });
    await input.pressSequentially('/ret');
    const suggestion = console_.getByTestId('canned-suggestion');
    await suggestion.nth(1).waitFor();
    assert.deepEqual(await suggestion.evaluateAll((els) => els.map((e) => [e.getAttribute('data-shortcut'), e.querySelector('.canned-scope').textContent])),
      [['returns', 'Yours'], ['returns', 'Shared']], 'own first');
    await suggestion.nth(1).click();
    await value('Returns are free within 30 days, Alex.');
    await input.fill('');
    await input.pressSequentially('/ret');
    await suggestion.first().waitFor();
    await input.press('Enter');
    await value('Sam Rivera here: I will start your return now.');
    assert.deepEqual(admin.seen.pageErrors, []);
    assert.deepEqual(agent.seen.pageErrors, []);
  });
});
