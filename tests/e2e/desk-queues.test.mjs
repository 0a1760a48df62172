// Browser tests of the support desk (issue 15) against `vouch demo`: the demo routes the demo
// customer (token context loyalty_tier Gold) to the Priority queue; the widget shows the
// customer's place in the queue; the agent goes available with the console's presence switch and
// the chat is assigned automatically; an admin manages agents and queues in the admin tabs.
// Run: cd tests/e2e && VOUCH_BIN=../../target/debug/vouch node --test ./desk-queues.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot } from './lib.mjs';
import {
  withDemo, newContext, portalSignIn, openWidget, widgetMessages, agentSignIn, chatLogin, conversations, api,
  eventually, AGENT, ADMIN,
} from './browser.mjs';

const TEST_TIMEOUT = 180_000;
// As in chat.test.mjs: VOUCH_UPDATE_SCREENSHOTS=1 refreshes docs/screenshots, else a temp dir.
const shots = process.env.VOUCH_UPDATE_SCREENSHOTS === '1'
  ? path.join(repoRoot, 'docs', 'screenshots')
  : path.join(tmpdir(), 'vouch-e2e-screenshots');
const GENERAL = '00000000-0000-4000-8000-000000000001';

test('a Gold customer waits in Priority with a position, then an agent who goes available gets the chat', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const customer = await newContext(browser);
    const agent = await newContext(browser);
    const page = await customer.context.newPage();
    // An agent console open before the customer comes: the queue view counts the waiting chat.
    const watcher = await (await newContext(browser)).context.newPage();
    await agentSignIn(watcher, demo.chat, ADMIN);
    await portalSignIn(page, demo.portal);
    const w = await openWidget(page);

    // Waiting: the widget says where the customer is in the queue.
    const position = page.getByTestId('chat-queue-position');
    await position.waitFor({ state: 'visible' });
    assert.match(await position.textContent(), /next in the queue/);

    // Routed by the token's context to Priority (the demo's rule).
    const adminToken = await chatLogin(demo.chat, ADMIN);
    const queues = (await api(demo.chat, 'GET', '/api/v1/admin/queues', { token: adminToken })).body.queues;
    const priority = queues.find((q) => q.name === 'Priority');
    assert.ok(priority, JSON.stringify(queues));
    const waiting = await conversations(demo.chat, adminToken, 'waiting');
    assert.equal(waiting.length, 1);
    assert.equal(waiting[0].queue_id, priority.id);
    assert.equal(waiting[0].verified, true);
    const pview = watcher.locator('[data-testid="queue-view"][data-queue-id="' + priority.id + '"]');
    await eventually(async () => /Priority\s*1/.test(await pview.textContent()), { what: 'Priority counts 1 waiting' });
    await pview.click();
    await watcher.locator('[data-testid="conversation-item"][data-conversation-id="' + waiting[0].id + '"]').waitFor();
    await watcher.locator('[data-testid="queue-view"][data-queue-id="' + GENERAL + '"]').click();
    await watcher.locator('[data-testid="conversation-item"][data-conversation-id="' + waiting[0].id + '"]').waitFor({ state: 'detached' });

    // The agent signs in (offline) and switches to available: the chat is assigned at once.
    const console_ = await agent.context.newPage();
    await agentSignIn(console_, demo.chat, AGENT);
    const presence = console_.getByTestId('presence');
    assert.equal(await presence.inputValue(), 'offline');
    await presence.selectOption('available');
    await eventually(async () => {
      const active = await conversations(demo.chat, adminToken, 'active');
      return active.length === 1 && active[0].id === waiting[0].id;
    }, { what: 'the chat assigned automatically' });
    await console_.locator(`[data-testid="my-conversations"] [data-conversation-id="${waiting[0].id}"]`).waitFor();
    // Queue views: one toggle a queue with its waiting count (none waiting now).
    const views = console_.getByTestId('queue-view');
    await eventually(async () => (await views.count()) === 3, { what: 'All, General and Priority' });
    assert.match(await console_.locator('[data-testid="queue-view"][data-queue-id="' + priority.id + '"]').textContent(), /Priority\s*0/);
    await position.waitFor({ state: 'hidden' });
    await eventually(async () => /Chatting with support/.test(await w.status.textContent()), { what: 'the widget shows the chat is active' });

    // The agent transfers the chat to the admin with a note: same conversation, new agent; the
    // customer's widget never shows the note.
    await console_.locator(`[data-testid="conversation-item"][data-conversation-id="${waiting[0].id}"]`).click();
    // An internal note first: beside the transcript for agents, never in the widget.
    await console_.getByTestId('note-input').fill('Asked twice about the boots already');
    await console_.getByTestId('note-send').click();
    await console_.getByTestId('note-item').filter({ hasText: 'Asked twice about the boots' }).waitFor();
    await console_.getByTestId('transfer').click();
    await console_.getByTestId('transfer-dialog').waitFor({ state: 'visible' });
    await eventually(async () => (await console_.locator('#transfer-target option').count()) >= 3, { what: 'agents and queues listed' });
    const adminId = (await api(demo.chat, 'GET', '/api/v1/agent/me', { token: adminToken })).body.id;
    await console_.getByTestId('transfer-target').selectOption(`agent:${adminId}`);
    await console_.getByTestId('transfer-note').fill('Gold customer, boots order late');
    mkdirSync(shots, { recursive: true });
    await console_.screenshot({ path: path.join(shots, 'console-transfer.png') });
    await console_.getByTestId('transfer-submit').click();
    await console_.getByTestId('transfer-dialog').waitFor({ state: 'hidden' });
    await eventually(async () => {
      const c = (await api(demo.chat, 'GET', `/api/v1/agent/conversations/${waiting[0].id}`, { token: adminToken })).body;
      return c.agent_id === adminId && c.state === 'active' && c.verified === true;
    }, { what: 'the conversation assigned to the admin' });
    await w.message('transferred to Kim Admin', 'system').waitFor();
    const shown = (await widgetMessages(page)).map((m) => m.text).join('\n');
    assert.ok(shown.includes('transferred to Kim Admin') && !shown.includes('boots order late'), shown);
    await watcher.locator(`[data-testid="my-conversations"] [data-conversation-id="${waiting[0].id}"]`).waitFor();
    // The admin, now assigned, sees the Verified badge, the history and both notes (the
    // transfer's note became one); the customer saw neither note.
    await watcher.locator(`[data-testid="my-conversations"] [data-conversation-id="${waiting[0].id}"]`).click();
    await eventually(async () => (await watcher.getByTestId('verified-badge').textContent()).trim() === 'Verified', { what: 'the Verified badge' });
    await watcher.getByTestId('note-item').filter({ hasText: 'boots order late' }).waitFor();
    await watcher.getByTestId('note-item').filter({ hasText: 'Asked twice about the boots' }).waitFor();
    await watcher.getByTestId('agent-message').filter({ hasText: 'transferred to Kim Admin' }).first().waitFor();
    // The history from before the transfer came with it (the first agent's joining).
    await watcher.getByTestId('agent-message').filter({ hasText: 'joined' }).first().waitFor();
    await watcher.screenshot({ path: path.join(shots, 'console-desk.png') });
    const after = (await widgetMessages(page)).map((m) => m.text).join('\n');
    assert.ok(!after.includes('Asked twice') && !after.includes('boots order late'), after);

    // Another tab of the same agent follows the status (presence frames).
    const second = await agent.context.newPage();
    await second.goto(new URL('/agent', demo.chat).href);
    await eventually(async () => (await second.getByTestId('presence').inputValue()) === 'available', { what: 'the second tab shows available' });
    await second.getByTestId('presence').selectOption('away');
    await eventually(async () => (await presence.inputValue()) === 'away', { what: 'the first tab follows' });
    for (const s of [customer, agent]) {
      assert.deepEqual(s.seen.pageErrors, []);
    }
  });
});

test('admins manage agents, queues and routing in the admin tabs', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const admin = await newContext(browser);
    const page = await admin.context.newPage();
    await page.goto(new URL('/admin', demo.chat).href);
    await page.getByTestId('agent-email').fill(ADMIN.email);
    await page.getByTestId('agent-password').fill(ADMIN.password);
    await page.getByTestId('agent-login').click();
    await page.getByTestId('tab-agents').click();
    await eventually(async () => (await page.getByTestId('agents-row').count()) === 2, { what: 'the two demo people listed' });

    // A capacity out of range is refused next to the field; nothing is created.
    await page.getByTestId('agents-email').fill('robin@example.com');
    await page.getByTestId('agents-name').fill('Robin Vale');
    await page.getByTestId('agents-password').fill('robin-pass');
    await page.getByTestId('agents-capacity').fill('150');
    await page.getByTestId('agents-save').click();
    await page.locator('#agents-capacity-error').waitFor({ state: 'visible' });
    assert.match(await page.locator('#agents-capacity-error').textContent(), /capacity/);
    assert.equal(await page.getByTestId('agents-row').count(), 2);
    await page.getByTestId('agents-capacity').fill('2');
    await page.getByTestId('agents-save').click();
    await page.getByTestId('agents-saved').waitFor({ state: 'visible' });
    await eventually(async () => (await page.getByTestId('agents-row').count()) === 3, { what: 'the new agent listed' });
    const robinRow = page.getByTestId('agents-row').filter({ hasText: 'robin@example.com' });
    assert.match(await robinRow.textContent(), /0 of 2/);
    // The new agent signs in.
    const robin = await chatLogin(demo.chat, { email: 'robin@example.com', password: 'robin-pass' });

    // Deactivated from the tab: the token ends at once.
    await robinRow.getByTestId('agents-edit').click();
    await page.getByTestId('agents-active').uncheck();
    await page.getByTestId('agents-save').click();
    await page.getByTestId('agents-saved').waitFor({ state: 'visible' });
    assert.equal((await api(demo.chat, 'GET', '/api/v1/agent/me', { token: robin })).status, 401);

    // Queues: the demo's two; a new one; its members.
    await page.getByTestId('tab-queues').click();
    await eventually(async () => (await page.getByTestId('queues-row').count()) === 2, { what: 'General and Priority listed' });
    await page.getByTestId('queues-name').fill('Returns');
    await page.getByTestId('queues-priority').fill('3');
    await page.getByTestId('queues-save').click();
    await eventually(async () => (await page.getByTestId('queues-row').count()) === 3, { what: 'the new queue listed' });
    const returns = page.getByTestId('queues-row').filter({ hasText: 'Returns' });
    await returns.getByTestId('queues-edit').click();
    await page.getByTestId('queues-member').first().check();
    await page.getByTestId('queues-save').click();
    await eventually(async () => !/Nobody/.test(await returns.textContent()), { what: 'a member saved' });

    // Routing: the demo widget's rule is shown; a second rule to Returns is saved.
    await eventually(async () => (await page.getByTestId('routing-rule').count()) === 1, { what: "the demo widget's rule shown" });
    await page.getByTestId('routing-add').click();
    const rule = page.getByTestId('routing-rule').nth(1);
    await rule.locator('textarea').fill('reason=return');
    await rule.locator('select').nth(1).selectOption({ label: 'Returns' });
    await page.getByTestId('routing-save').click();
    await page.getByTestId('routing-saved').waitFor({ state: 'visible' });
    const adminToken = await chatLogin(demo.chat, ADMIN);
    const widgets = (await api(demo.chat, 'GET', '/api/v1/admin/widgets', { token: adminToken })).body.widgets;
    const routing = (await api(demo.chat, 'GET', `/api/v1/admin/widgets/${widgets[0].app_id}/routing`, { token: adminToken })).body;
    assert.equal(routing.rules.length, 2);
    assert.deepEqual(routing.rules[1].when, { context: { reason: 'return' } });
    assert.deepEqual(admin.seen.pageErrors, []);
  });
});
