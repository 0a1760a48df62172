// Stored XSS in a real browser: markup in messages (both directions), in the website user's
// name, phone and context variables must render as text in the widget, the agent console's
// queue, contact card, context table, transcript and history — never as HTML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withDemo, newContext, openWidget, widget, widgetSend, waitDelivered, widgetMessages,
  widgetState, countInWidget, agentSignIn, conversationItem, acceptConversation, agentMessage,
  agentReply, addPortalUser, chatLogin, demoAuthSetting, createWidget, startHostServer, hostPageHtml,
  AGENT, ADMIN, UI_TIMEOUT,
} from './browser.mjs';

const X = '<img src=x onerror=alert(1)>';
const NAME_GIVEN = '<img src=x onerror=alert(2)>';
const NAME_FAMILY = '<b>Bold</b><script>alert(3)</script>';
const PHONE = '<svg onload=alert(4)>';
const CTX_NAME = '<i>plan</i>';
const CTX_VALUE = '<iframe src="javascript:alert(5)"></iframe>';
const EMAIL = '<b>mallory</b>@example.com';
const EVIL = { email: EMAIL, password: 'mallory-pass', given: NAME_GIVEN, family: NAME_FAMILY };

/** Elements that markup in the data would have created, anywhere in the document (or a root). */
const INJECTED = 'img, script, svg:not([aria-hidden="true"]), iframe, b, i';

async function injectedIn(page, rootSelector) {
  return page.evaluate(({ sel, root }) => {
    const r = root ? document.querySelector(root) : document;
    return r ? [...r.querySelectorAll(sel)].map((e) => e.outerHTML) : ['(root missing)'];
  }, { sel: INJECTED, root: rootSelector });
}

test('markup in messages, names, phone and context variables renders as text on both sides', { timeout: 180_000 }, async () => {
  await withDemo(async ({ demo, browser }) => {
    await addPortalUser(demo.dataDir, {
      email: EVIL.email, given: NAME_GIVEN, family: NAME_FAMILY, password: EVIL.password, phone: PHONE,
      context: { [CTX_NAME]: CTX_VALUE },
    });
    const customer = await newContext(browser);
    const agent = await newContext(browser);
    const page = await customer.context.newPage();
    const console_ = await agent.context.newPage();
    // A flag any injected handler would trip, beside the dialog watch.
    for (const c of [customer.context, agent.context]) {
      await c.addInitScript(() => { window.alert = (m) => { window.__xssFired = (window.__xssFired || []).concat(String(m)); }; });
    }
    // Record dialogs too, in case a handler runs before the init script's override.
    const dialogs = [];
    for (const p of [page, console_]) p.on('dialog', (d) => dialogs.push(d.message()));

    // The portal itself shows the name as text. (The address is no valid type=email value,
    // so the form is submitted without the browser's constraint check.)
    await page.goto(new URL('/login', demo.portal).href);
    await page.getByTestId('login-email').fill(EVIL.email);
    await page.getByTestId('login-password').fill(EVIL.password);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/'),
      page.getByTestId('login-email').evaluate((i) => i.form.submit()),
    ]);
    assert.equal(await page.getByTestId('user-name').textContent(), `${NAME_GIVEN} ${NAME_FAMILY}`);
    assert.deepEqual(await injectedIn(page, 'main'), [], 'no element from the user name on the portal page');

    const w = await openWidget(page);
    const status = await w.status.textContent();
    assert.ok(status.includes(`${NAME_GIVEN} ${NAME_FAMILY}`), `the status line names the user as text: ${status}`);
    await widgetSend(page, X);
    await waitDelivered(page, X);
    const { conversationId } = await widgetState(page);

    await agentSignIn(console_, demo.chat, AGENT);
    const item = conversationItem(console_, conversationId);
    await item.waitFor();
    assert.ok((await item.textContent()).includes(NAME_GIVEN), 'the queue shows the name as text');
    await acceptConversation(console_, conversationId);

    await console_.getByTestId('contact-name').filter({ hasText: NAME_GIVEN }).waitFor();
    assert.equal(await console_.getByTestId('contact-name').textContent(), `${NAME_GIVEN} ${NAME_FAMILY}`);
    assert.equal(await console_.getByTestId('contact-phone').textContent(), PHONE);
    assert.equal(await console_.getByTestId('contact-email').textContent(), EMAIL);
    const row = console_.getByTestId('context-vars').locator('tbody tr').filter({ hasText: CTX_NAME });
    await row.waitFor();
    assert.equal(await row.locator('th').textContent(), CTX_NAME);
    assert.equal(await row.locator('td').textContent(), CTX_VALUE);

    // Customer → agent.
    const inConsole = agentMessage(console_, X, 'customer');
    await inConsole.waitFor();
    assert.equal(await inConsole.textContent(), X);
    // Agent → customer.
    await agentReply(console_, X);
    await agentMessage(console_, X, 'agent').waitFor();
    await w.message(X, 'agent').waitFor();
    const shown = await widgetMessages(page);
    assert.equal(shown.filter((m) => m.text === X && m.sender === 'customer').length, 1);
    assert.equal(shown.filter((m) => m.text === X && m.sender === 'agent').length, 1);
    assert.equal(await countInWidget(page, 'img, script, iframe, b, i, svg:not([aria-hidden="true"])'), 0, 'nothing injected in the widget');
    assert.equal(await page.locator('img').count(), 0, 'no <img> anywhere in the host page');

    // Earlier conversations show their transcript as text too.
    await console_.getByTestId('end-conversation').click();
    await page.waitForFunction(() => window.VouchChat.state.conversationState === 'ended', null, { timeout: UI_TIMEOUT });
    await page.locator('vouch-chat').getByRole('button', { name: 'Start a new chat' }).click();
    await page.waitForFunction((old) => {
      const s = window.VouchChat.state;
      return s.phase === 'open' && s.conversationId && s.conversationId !== old;
    }, conversationId, { timeout: UI_TIMEOUT });
    const second = (await widgetState(page)).conversationId;
    await widgetSend(page, 'second chat');
    await waitDelivered(page, 'second chat');
    await conversationItem(console_, second).click();
    const hist = console_.locator(`[data-testid="history-item"][data-conversation-id="${conversationId}"]`);
    await hist.waitFor();
    await hist.locator('summary').click();
    assert.ok((await hist.textContent()).includes(X), 'the history shows the message as text');

    assert.deepEqual(await injectedIn(console_, 'body'), [], 'no element from the data in the console');
    assert.equal(await console_.evaluate(() => window.__xssFired || null), null, 'no handler ran in the console');
    assert.equal(await page.evaluate(() => window.__xssFired || null), null, 'no handler ran on the host page');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(customer.seen.dialogs, []);
    assert.deepEqual(agent.seen.dialogs, []);
    assert.deepEqual(agent.seen.pageErrors, []);
    assert.deepEqual(customer.seen.pageErrors, []);
  });
});

test('markup in an admin-set widget title and in the host page title renders as text', { timeout: 120_000 }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const host = await startHostServer();
    try {
      const TITLE = '<img src=x onerror=alert(6)>Help';
      const PAGE_TITLE = '<img src=x onerror=alert(7)>Shop';
      const admin = await chatLogin(demo.chat, ADMIN);
      const setting = await demoAuthSetting(demo.chat, admin);
      const created = await createWidget(demo.chat, admin, {
        name: 'Markup', title: TITLE, allowed_origins: [host.origin], auth_settings_id: setting.id, require_auth: false,
      });
      // hostPageHtml puts the title in <title> and <h1> unescaped: escape it so the page's own
      // markup stays inert and document.title is the raw string the widget sends as page_title.
      const escaped = PAGE_TITLE.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      host.setPage('/', hostPageHtml({ snippet: created.snippet, title: escaped }));

      const visitor = await newContext(browser);
      const agent = await newContext(browser);
      const page = await visitor.context.newPage();
      const console_ = await agent.context.newPage();
      await page.goto(host.url);
      assert.equal(await page.title(), PAGE_TITLE);
      const w = await openWidget(page);
      const panelText = await w.panel.textContent();
      assert.ok(panelText.includes(TITLE), `the widget title is shown as text: ${panelText.slice(0, 200)}`);
      assert.equal(await countInWidget(page, 'img, script, iframe, b, i'), 0);
      await widgetSend(page, 'hello');
      await waitDelivered(page, 'hello');
      const { conversationId } = await widgetState(page);

      await agentSignIn(console_, demo.chat, AGENT);
      await conversationItem(console_, conversationId).click();
      const row = console_.getByTestId('context-vars').locator('tbody tr').filter({ hasText: 'page_title' });
      await row.waitFor();
      assert.equal(await row.locator('td').textContent(), PAGE_TITLE);
      assert.deepEqual(await injectedIn(console_, 'body'), []);
      for (const s of [visitor.seen, agent.seen]) {
        assert.deepEqual(s.dialogs, []);
        assert.deepEqual(s.pageErrors, []);
      }
    } finally {
      await host.close();
    }
  });
});
