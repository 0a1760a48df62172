// Browser tests of offline hours and the console's search (issue 16 items 4 and 5), against a
// `vouch demo` on free loopback ports. Run: cd tests/e2e && VOUCH_BIN=../../target/debug/vouch node --test ./offline.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withDemo, newContext, portalSignIn, openWidget, widgetSend, waitDelivered, widgetState, agentSignIn,
  conversationItem, chatLogin, api, eventually, CUSTOMER, ADMIN,
} from './browser.mjs';
import { startSmtp } from './smtp.mjs';

const TEST_TIMEOUT = 180_000;

/** Gives the demo's widget these offline fields (the rest as it is). */
async function setOfflineFields(chat, fields) {
  const admin = await chatLogin(chat, ADMIN);
  const list = await api(chat, 'GET', '/api/v1/admin/widgets', { token: admin });
  assert.equal(list.status, 200, JSON.stringify(list.body));
  const w = list.body.widgets[0];
  const r = await api(chat, 'PUT', `/api/v1/admin/widgets/${w.app_id}`, {
    token: admin,
    body: {
      name: w.name, allowed_origins: w.allowed_origins, auth_settings_id: w.auth_settings_id,
      require_auth: w.require_auth, title: w.title, ...fields,
    },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return w.app_id;
}

test('outside business hours the widget says the team is offline and still takes messages', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const appId = await setOfflineFields(demo.chat, {
      business_hours: { timezone: 'Pacific/Auckland', days: {} },
      offline_message: 'We are away until Monday 9:00. Leave a message and we will reply by email.',
    });
    const config = await api(demo.chat, 'GET', `/api/v1/widgets/${appId}/config`);
    assert.equal(config.body.online, false, JSON.stringify(config.body));

    const customer = await newContext(browser);
    const page = await customer.context.newPage();
    await portalSignIn(page, demo.portal, CUSTOMER);
    await openWidget(page);
    const note = page.getByTestId('chat-offline-message');
    await note.waitFor({ state: 'visible' });
    assert.match(await note.textContent(), /offline/i);
    assert.match(await note.textContent(), /away until Monday 9:00/);

    const text = 'Offline question about invoice 5521';
    await widgetSend(page, text);
    await waitDelivered(page, text);
    const { conversationId } = await widgetState(page);
    assert.ok(conversationId);

    // The conversation waits for the team, as any other.
    const agent = await newContext(browser);
    const console_ = await agent.context.newPage();
    await agentSignIn(console_, demo.chat);
    await conversationItem(console_, conversationId).waitFor();
    assert.equal(await conversationItem(console_, conversationId).getAttribute('data-state'), 'waiting');
    assert.deepEqual([...customer.seen.pageErrors, ...agent.seen.pageErrors], []);
  });
});

test('inside business hours the widget shows no offline note', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const always = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [['00:00', '24:00']]]));
    await setOfflineFields(demo.chat, { business_hours: { timezone: 'Europe/Berlin', days: always } });
    // Online also needs someone to answer: an agent of the default queue available.
    const admin = await chatLogin(demo.chat, ADMIN);
    assert.equal((await api(demo.chat, 'PUT', '/api/v1/agent/presence', { token: admin, body: { status: 'available' } })).status, 200);
    const customer = await newContext(browser);
    const page = await customer.context.newPage();
    await portalSignIn(page, demo.portal, CUSTOMER);
    await openWidget(page);
    assert.equal(await page.getByTestId('chat-offline-message').count(), 0, 'no offline note while online');
  });
});

test('an agent finds a conversation by its words and a contact by email, and opens it from the results', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const customer = await newContext(browser);
    const page = await customer.context.newPage();
    await portalSignIn(page, demo.portal, CUSTOMER);
    await openWidget(page);
    const text = 'My kettle whistles oddly since Tuesday';
    await widgetSend(page, text);
    await waitDelivered(page, text);
    const { conversationId } = await widgetState(page);

    const agent = await newContext(browser);
    const console_ = await agent.context.newPage();
    await agentSignIn(console_, demo.chat);
    const input = console_.getByTestId('search-input');
    await input.fill('kettle whistles');
    await input.press('Enter');
    const hit = console_.locator('[data-testid="search-result"][data-kind="conversation"]');
    await hit.first().waitFor();
    assert.equal(await hit.count(), 1);
    assert.match(await hit.first().textContent(), /kettle whistles oddly/);
    await hit.first().click();
    await console_.getByTestId('verified-badge').filter({ hasText: 'Verified' }).waitFor();
    await console_.locator('[data-testid="transcript"]').filter({ hasText: text }).waitFor();
    assert.equal(await conversationItem(console_, conversationId).getAttribute('aria-current'), 'true');

    await input.fill(CUSTOMER.email);
    await input.press('Enter');
    const contact = console_.locator('[data-testid="search-result"][data-kind="contact"]');
    await contact.first().waitFor();
    assert.match(await contact.first().textContent(), /Alex Doe/);
    assert.deepEqual([...customer.seen.pageErrors, ...agent.seen.pageErrors], []);
  });
});

test('an admin sets business hours and the offline message in the widget form', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const admin = await newContext(browser);
    const page = await admin.context.newPage();
    await agentSignIn(page, demo.chat, ADMIN);
    await page.goto(new URL('/admin', demo.chat).href);
    await page.getByTestId('tab-widgets').click();
    await page.getByTestId('widget-edit').first().click();

    // A time the service cannot read: the form shows its words next to the time zone field.
    await page.getByTestId('widget-tz').fill('Europe/Berlin');
    await page.getByTestId('widget-hours-mon').fill('9-17');
    await page.getByTestId('widget-save').click();
    await page.getByTestId('widget-tz-error').filter({ hasText: /is not a time/ }).waitFor();

    await page.getByTestId('widget-hours-mon').fill('09:00-12:00, 13:00-17:00');
    await page.getByTestId('widget-hours-sat').fill('10:00-14:00');
    await page.getByTestId('widget-offline').fill('Back on Monday.');
    await page.getByTestId('widget-save').click();
    await page.getByTestId('widget-saved').filter({ hasText: 'Saved.' }).waitFor();

    const token = await chatLogin(demo.chat, ADMIN);
    const list = await api(demo.chat, 'GET', '/api/v1/admin/widgets', { token });
    const w = list.body.widgets[0];
    assert.deepEqual(w.business_hours, {
      timezone: 'Europe/Berlin', days: { mon: [['09:00', '12:00'], ['13:00', '17:00']], sat: [['10:00', '14:00']] },
    });
    assert.equal(w.offline_message, 'Back on Monday.');
    assert.deepEqual(admin.seen.pageErrors, []);
  });
});

test('a verified customer has the transcript emailed to their own address after the chat ends', { timeout: TEST_TIMEOUT }, async () => {
  const smtp = await startSmtp();
  try {
    await withDemo({ extraArgs: ['--smtp-url', smtp.url] }, async ({ demo, browser }) => {
      const customer = await newContext(browser);
      const page = await customer.context.newPage();
      await portalSignIn(page, demo.portal, CUSTOMER);
      await openWidget(page);
      const text = 'Please confirm my return label 8841';
      await widgetSend(page, text);
      await waitDelivered(page, text);
      const { conversationId } = await widgetState(page);

      const admin = await chatLogin(demo.chat, ADMIN);
      assert.equal((await api(demo.chat, 'POST', `/api/v1/agent/conversations/${conversationId}/accept`, { token: admin })).status, 200);
      assert.equal((await api(demo.chat, 'POST', `/api/v1/agent/conversations/${conversationId}/end`, { token: admin })).status, 200);

      const offer = page.getByTestId('chat-transcript-email');
      await offer.waitFor({ state: 'visible' });
      await offer.click();
      await offer.filter({ hasText: /sent/i }).waitFor();
      await eventually(() => smtp.messages.length === 1, { what: 'the transcript email' });
      assert.deepEqual(smtp.messages[0].to, [CUSTOMER.email]);
      assert.match(smtp.messages[0].data, /return label 8841/);
      assert.deepEqual(customer.seen.pageErrors, []);
    });
  } finally {
    await smtp.close();
  }
});
