// Accessibility in Chromium: the axe audit (WCAG 2.2 AA, zero serious or critical violations)
// on the portal signed out and in, the widget open with messages, the agent console with a
// conversation and every admin tab; and the widget by keyboard alone — Tab reaches the
// launcher, Enter opens, focus stays inside the open panel, Escape closes and gives the focus
// back to the launcher, new messages land in a live region.
// Run: cd tests/e2e && VOUCH_BIN=$PWD/../../target/debug/vouch node --test ./a11y.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  withDemo, newContext, portalSignIn, openWidget, widget, widgetSend, waitDelivered, widgetState,
  agentSignIn, conversationItem, acceptConversation, agentMessage, agentReply, CUSTOMER, AGENT, ADMIN,
} from './browser.mjs';
import { audit } from './axe.mjs';

const TEST_TIMEOUT = 240_000;

/** The audit must pass; moderate and minor findings are reported in the test's diagnostics. */
async function assertAccessible(t, page, what) {
  const r = await audit(page);
  assert.ok(r.ran >= 20, `${what}: axe ran only ${r.ran} rules`);
  assert.deepEqual(r.blocking, [], `${what}: serious or critical accessibility violations`);
  for (const v of r.all) t.diagnostic(`${what}: ${v.id} (${v.impact}): ${v.help} — ${v.targets.join(' ; ')}`);
}

/** What has the keyboard focus: {where: 'widget', testid, tag} or {where: 'page', tag, id}. */
async function focused(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    if (a && a.tagName === 'VOUCH-CHAT') {
      const inner = a.shadowRoot.activeElement;
      return {
        where: 'widget',
        testid: inner ? inner.getAttribute('data-testid') || inner.className || inner.tagName.toLowerCase() : null,
        inPanel: !!(inner && inner.closest('[data-testid="chat-panel"]')),
      };
    }
    return { where: 'page', tag: a ? a.tagName.toLowerCase() : null, id: a ? a.id : null };
  });
}

test('axe finds no serious or critical violation on the portal, the widget, the console and every admin tab', { timeout: TEST_TIMEOUT }, async (t) => {
  await withDemo(async ({ demo, browser }) => {
    const customer = await newContext(browser);
    const agent = await newContext(browser);
    const page = await customer.context.newPage();

    await page.goto(new URL('/', demo.portal).href);
    await assertAccessible(t, page, 'portal home, signed out');
    await page.goto(new URL('/login', demo.portal).href);
    await assertAccessible(t, page, 'portal sign-in');

    await portalSignIn(page, demo.portal, CUSTOMER);
    await widget(page).launcher.waitFor();
    await assertAccessible(t, page, 'portal home, signed in, widget closed');

    const w = await openWidget(page);
    const text = 'Can I change my delivery address?';
    await widgetSend(page, text);
    await waitDelivered(page, text);
    const { conversationId } = await widgetState(page);

    const console_ = await agent.context.newPage();
    await agentSignIn(console_, demo.chat, AGENT);
    await assertAccessible(t, console_, 'agent console, no conversation open');
    await conversationItem(console_, conversationId).waitFor();
    await acceptConversation(console_, conversationId);
    await agentMessage(console_, text, 'customer').waitFor();
    await agentReply(console_, 'Yes — which address should we use?');
    await agentMessage(console_, 'which address', 'agent').waitFor();
    await assertAccessible(t, console_, 'agent console with a conversation');

    await w.message('which address', 'agent').waitFor();
    await assertAccessible(t, page, 'widget open with messages');

    // The admin pages: every tab the page has, as an admin sees it.
    const admin = await agent.context.newPage();
    await admin.goto(new URL('/admin', demo.chat).href);
    await assertAccessible(t, admin, 'admin sign-in');
    await admin.getByTestId('agent-email').fill(ADMIN.email);
    await admin.getByTestId('agent-password').fill(ADMIN.password);
    await admin.getByTestId('agent-login').click();
    const tabs = admin.locator('[role="tab"]');
    await tabs.first().waitFor();
    const names = await tabs.evaluateAll((els) => els.map((e) => e.getAttribute('data-testid') || e.textContent.trim()));
    assert.ok(names.length >= 3, `admin tabs: ${names}`);
    for (let i = 0; i < names.length; i++) {
      const tab = tabs.nth(i);
      await tab.click();
      assert.equal(await tab.getAttribute('aria-selected'), 'true', `${names[i]} is selected once clicked`);
      const panel = await tab.getAttribute('aria-controls');
      assert.ok(panel, `tab ${names[i]} names its panel (aria-controls)`);
      await admin.locator(`#${panel}`).waitFor({ state: 'visible' });
      await admin.waitForLoadState('networkidle');
      await assertAccessible(t, admin, `admin tab ${names[i]}`);
      // A tab with a "New …" form: the form open, too.
      const add = admin.locator(`#${panel} [data-testid$="-new"]`);
      if (await add.count() === 1 && await add.isVisible()) {
        await add.click();
        await admin.locator(`#${panel} form`).first().waitFor({ state: 'visible' });
        await assertAccessible(t, admin, `admin tab ${names[i]}, new form open`);
      }
    }
  });
});

test('the widget works by keyboard: Tab to the launcher, focus trapped while open, Escape returns it, messages announced', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const customer = await newContext(browser);
    const agent = await newContext(browser);
    const page = await customer.context.newPage();
    await portalSignIn(page, demo.portal, CUSTOMER);
    const w = widget(page);
    await w.launcher.waitFor();

    // The launcher is reached with Tab from the page (bounded: the portal has a few links).
    let at = null;
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      at = await focused(page);
      if (at.where === 'widget' && at.testid === 'chat-launcher') break;
    }
    assert.deepEqual(at, { where: 'widget', testid: 'chat-launcher', inPanel: false }, 'Tab reaches the launcher');
    assert.equal(await w.launcher.getAttribute('aria-expanded'), 'false');

    // Enter opens the panel; once connected the composer has the focus.
    await page.keyboard.press('Enter');
    await w.panel.waitFor({ state: 'visible' });
    await page.waitForFunction(() => window.VouchChat.state.phase === 'open');
    assert.equal(await w.launcher.getAttribute('aria-expanded'), 'true');
    assert.equal(await w.panel.getAttribute('role'), 'dialog');
    assert.equal(await w.panel.getAttribute('aria-modal'), 'true');
    await page.waitForFunction(() => {
      const h = document.querySelector('vouch-chat');
      return document.activeElement === h && h.shadowRoot.activeElement === h.shadowRoot.querySelector('[data-testid="chat-input"]');
    });

    // A message typed and sent with Enter alone.
    const text = 'Sent with the keyboard only';
    await page.keyboard.type(text);
    await page.keyboard.press('Enter');
    await waitDelivered(page, text);

    // New messages go to a live region: the log is role=log, aria-live=polite, and holds them.
    const live = await page.evaluate(() => {
      const root = document.querySelector('vouch-chat').shadowRoot;
      const log = root.querySelector('[role="log"]');
      const status = root.querySelector('[data-testid="chat-status"]');
      const error = root.querySelector('[data-testid="chat-error"]');
      return {
        log: log && log.getAttribute('aria-live'),
        logLabel: log && log.getAttribute('aria-label'),
        messagesInLog: log ? log.querySelectorAll('[data-testid="chat-message"]').length : 0,
        status: status.getAttribute('aria-live'),
        error: error.getAttribute('role'),
      };
    });
    assert.deepEqual(live, { log: 'polite', logLabel: 'Conversation', messagesInLog: 1, status: 'polite', error: 'alert' });

    // Tab and Shift+Tab cycle inside the panel: never the launcher, never the page.
    const seen = [];
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      const f = await focused(page);
      assert.ok(f.where === 'widget' && f.inPanel, `Tab ${i + 1} left the open panel: ${JSON.stringify(f)}`);
      seen.push(f.testid);
    }
    const stops = [...new Set(seen)];
    assert.ok(stops.includes('chat-input') && stops.includes('chat-send') && stops.includes('close'), `tab stops: ${seen}`);
    assert.ok(seen.length > stops.length, `Tab wraps around inside the panel: ${seen}`);
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Shift+Tab');
      const f = await focused(page);
      assert.ok(f.where === 'widget' && f.inPanel, `Shift+Tab ${i + 1} left the open panel: ${JSON.stringify(f)}`);
    }

    // A radio group last in the panel (as a rating may bring) is one Tab stop, and the trap holds.
    await page.evaluate(() => {
      const root = document.querySelector('vouch-chat').shadowRoot;
      const box = document.createElement('fieldset');
      box.id = 'probe-radios';
      for (let i = 1; i <= 5; i++) {
        const r = document.createElement('input');
        r.type = 'radio'; r.name = 'probe'; r.value = String(i); r.setAttribute('aria-label', String(i));
        box.appendChild(r);
      }
      root.querySelector('form').after(box); // last in the panel: the trap's end is the group
    });
    const radiosSeen = async () => {
      const hits = [];
      for (let i = 0; i < 10; i++) {
        await page.keyboard.press('Tab');
        const f = await page.evaluate(() => {
          const a = document.querySelector('vouch-chat').shadowRoot.activeElement;
          return { inPanel: !!(a && a.closest('[data-testid="chat-panel"]')), radio: a && a.type === 'radio' ? a.value : null };
        });
        assert.ok(f.inPanel, `Tab ${i + 1} left the panel with a radio group in it`);
        if (f.radio) hits.push(f.radio);
      }
      return [...new Set(hits)];
    };
    assert.deepEqual(await radiosSeen(), ['1'], 'no radio checked: the group is one stop, its first radio');
    await page.locator('vouch-chat').locator('#probe-radios input[value="3"]').check();
    assert.deepEqual(await radiosSeen(), ['3'], 'a radio checked: the group is one stop, the checked radio');
    await page.evaluate(() => document.querySelector('vouch-chat').shadowRoot.getElementById('probe-radios').remove());

    // An agent's reply arrives in the log (the live region) while the customer types.
    const { conversationId } = await widgetState(page);
    const console_ = await agent.context.newPage();
    await agentSignIn(console_, demo.chat, AGENT);
    await conversationItem(console_, conversationId).waitFor();
    await acceptConversation(console_, conversationId);
    await agentReply(console_, 'Heard you loud and clear');
    await w.message('loud and clear', 'agent').waitFor();
    assert.equal(await page.evaluate(() => document.querySelector('vouch-chat').shadowRoot
      .querySelector('[role="log"][aria-live="polite"]').textContent.includes('Heard you loud and clear')), true);

    // Escape closes the panel from wherever the focus is inside it and gives it to the launcher.
    await w.input.focus();
    await page.keyboard.press('Escape');
    await w.panel.waitFor({ state: 'hidden' });
    assert.deepEqual(await focused(page), { where: 'widget', testid: 'chat-launcher', inPanel: false });
    assert.equal(await w.launcher.getAttribute('aria-expanded'), 'false');

    // Closed, nothing is trapped: Shift+Tab from the launcher goes back into the page.
    await page.keyboard.press('Shift+Tab');
    assert.equal((await focused(page)).where, 'page', 'focus is free while the panel is closed');

    // A reply while closed is counted in the launcher's name.
    await agentReply(console_, 'One more thing');
    await page.waitForFunction(() => /\(1 new\)/.test(document.querySelector('vouch-chat').shadowRoot
      .querySelector('[data-testid="chat-launcher"]').getAttribute('aria-label')));

    // The close button also returns the focus to the launcher.
    await w.launcher.focus();
    await page.keyboard.press('Enter');
    await w.panel.waitFor({ state: 'visible' });
    assert.equal(await w.launcher.getAttribute('aria-label'), 'Close chat');
    await page.locator('vouch-chat').locator('button.close').click();
    await w.panel.waitFor({ state: 'hidden' });
    assert.deepEqual(await focused(page), { where: 'widget', testid: 'chat-launcher', inPanel: false });

    // The agent ends the chat while the customer's focus is in the composer: the focus stays in
    // the panel, on "Start a new chat", and Enter there starts a new conversation.
    await page.keyboard.press('Enter');
    await w.panel.waitFor({ state: 'visible' });
    await page.waitForFunction(() => {
      const h = document.querySelector('vouch-chat');
      return h.shadowRoot.activeElement === h.shadowRoot.querySelector('[data-testid="chat-input"]');
    });
    await console_.getByTestId('end-conversation').click();
    const again = page.locator('vouch-chat').locator('.bar button:not([data-testid="chat-transcript-email"])');
    await again.waitFor({ state: 'visible' });
    await page.waitForFunction(() => {
      const root = document.querySelector('vouch-chat').shadowRoot;
      return root.activeElement === root.querySelector('.bar button:not([data-testid="chat-transcript-email"])');
    });
    assert.equal(await again.textContent(), 'Start a new chat');
    await page.keyboard.press('Enter');
    await page.waitForFunction((old) => window.VouchChat.state.phase === 'open' && window.VouchChat.state.conversationId !== old, conversationId);
    await page.waitForFunction(() => {
      const h = document.querySelector('vouch-chat');
      return document.activeElement === h && h.shadowRoot.activeElement === h.shadowRoot.querySelector('[data-testid="chat-input"]');
    });
  });
});
