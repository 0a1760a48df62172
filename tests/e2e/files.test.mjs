// Browser tests of attachments and ratings (issue 16): a signed-in customer sends an image from
// the widget (file picker); the agent sees its preview in the console and downloads it; the
// agent ends the chat and the customer rates it with the widget's stars; the demo's seeded
// rated conversation is on the admin Reports tab. Run:
// cd tests/e2e && VOUCH_BIN=../../target/debug/vouch node --test ./files.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot } from './lib.mjs';
import {
  withDemo, newContext, portalSignIn, openWidget, widget, widgetState, agentSignIn,
  conversationItem, acceptConversation, chatLogin, api, eventually, AGENT, ADMIN, UI_TIMEOUT,
} from './browser.mjs';

const TEST_TIMEOUT = 180_000;
// Screenshots of the widget with an attachment and with the rating: into docs/screenshots with
// VOUCH_UPDATE_SCREENSHOTS=1, else a temp dir (rendered, the working tree left clean).
const shots = process.env.VOUCH_UPDATE_SCREENSHOTS === '1'
  ? path.join(repoRoot, 'docs', 'screenshots')
  : path.join(tmpdir(), 'vouch-e2e-screenshots');

/** A 16×16 red PNG (the "photo"). */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFklEQVR42mO4qatAEmIY1TCqYfhqAAAGfSYQ1GNgPgAAAABJRU5ErkJggg==',
  'base64',
);

/** Whether an <img> in the widget's shadow root (or the page) finished loading with pixels. */
async function imageLoaded(locator) {
  return locator.evaluate((img) => img.complete && img.naturalWidth > 0);
}

test('a customer sends an image that the agent previews and downloads; the customer rates the chat', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const customer = await newContext(browser);
    const agent = await newContext(browser, { acceptDownloads: true });
    const page = await customer.context.newPage();
    const console_ = await agent.context.newPage();

    await portalSignIn(page, demo.portal);
    const w = await openWidget(page);
    await page.getByTestId('chat-attach-input').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: PNG });
    // The customer's own message carries the file: a preview and a link, delivered.
    const mine = w.message('photo.png', 'customer');
    await mine.waitFor();
    await page.waitForFunction(() => {
      const host = document.querySelector('vouch-chat');
      return [...host.shadowRoot.querySelectorAll('[data-testid="chat-message"][data-sender="customer"]')]
        .some((m) => m.getAttribute('data-status') === 'delivered' && m.querySelector('[data-testid="chat-attachment-link"]'));
    }, null, { timeout: UI_TIMEOUT });
    const preview = mine.locator('img');
    await eventually(() => imageLoaded(preview), { what: 'the widget shows the image preview' });
    assert.equal((await mine.getByTestId('chat-attachment-link').textContent()).trim(), 'photo.png');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: path.join(shots, 'widget-attachment.png') });
    const { conversationId } = await widgetState(page);

    // Drag and drop onto the panel sends a file too.
    const dataTransfer = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['Order 10482, size 44'], 'notes.txt', { type: 'text/plain' }));
      return dt;
    });
    await w.panel.dispatchEvent('dragover', { dataTransfer });
    await w.panel.dispatchEvent('drop', { dataTransfer });
    await w.message('notes.txt', 'customer').getByTestId('chat-attachment-link').waitFor();

    // The agent sees the preview and downloads the file.
    await agentSignIn(console_, demo.chat, AGENT);
    await conversationItem(console_, conversationId).waitFor();
    await acceptConversation(console_, conversationId);
    const link = console_.getByTestId('attachment-link').filter({ hasText: 'photo.png' });
    await link.waitFor();
    const agentPreview = console_.locator('[data-testid="agent-message"] img[alt="photo.png"]');
    await eventually(() => imageLoaded(agentPreview), { what: 'the console shows the image preview' });
    const [download] = await Promise.all([console_.waitForEvent('download'), link.click()]);
    assert.equal(download.suggestedFilename(), 'photo.png');
    const saved = await download.path();
    assert.deepEqual(readFileSync(saved), PNG, 'the downloaded bytes are the uploaded ones');

    // The agent sends a file back from the console; it reaches the widget.
    await console_.getByTestId('attach-input').setInputFiles({ name: 'label.txt', mimeType: 'text/plain', buffer: Buffer.from('Return label #123') });
    await w.message('label.txt', 'agent').waitFor();

    // The end asks for a rating: five stars, a comment, submit.
    await console_.getByTestId('end-conversation').click();
    const stars = page.getByTestId('chat-rating-star');
    await stars.first().waitFor();
    assert.equal(await stars.count(), 5);
    assert.deepEqual(await stars.evaluateAll((s) => s.map((b) => b.getAttribute('data-score'))), ['1', '2', '3', '4', '5']);
    await page.locator('[data-testid="chat-rating-star"][data-score="4"]').click();
    assert.equal(await page.locator('[data-testid="chat-rating-star"][data-score="4"]').getAttribute('aria-pressed'), 'true');
    await page.getByTestId('chat-rating-comment').fill('Quick help, thanks');
    await page.screenshot({ path: path.join(shots, 'widget-rating.png') });
    await page.getByTestId('chat-rating-submit').click();
    await page.getByTestId('chat-rating-thanks').waitFor();

    // The console shows the rating on the conversation (its detail is read again on select).
    await conversationItem(console_, conversationId).click();
    await console_.getByTestId('conversation-rating').filter({ hasText: '4/5' }).waitFor();
    assert.match(await console_.getByTestId('conversation-rating').textContent(), /Quick help, thanks/);

    const token = await chatLogin(demo.chat, AGENT);
    const detail = await api(demo.chat, 'GET', `/api/v1/agent/conversations/${conversationId}`, { token });
    assert.equal(detail.status, 200);
    assert.deepEqual(detail.body.rating, { score: 4, comment: 'Quick help, thanks' });
    assert.equal(detail.body.messages.find((m) => m.sender === 'customer').attachments[0].filename, 'photo.png');
    assert.deepEqual(customer.seen.pageErrors, []);
    assert.deepEqual(agent.seen.pageErrors, []);
  });
});

test('the admin Reports tab shows the period, the demo\'s rated conversation included', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const admin = await newContext(browser);
    const page = await admin.context.newPage();
    await page.goto(new URL('/admin', demo.chat).href);
    await page.getByTestId('agent-email').fill(ADMIN.email);
    await page.getByTestId('agent-password').fill(ADMIN.password);
    await page.getByTestId('agent-login').click();
    await page.getByTestId('tab-reports').click();
    await page.getByTestId('report-conversations').filter({ hasText: /^[1-9]/ }).waitFor();
    assert.match(await page.getByTestId('report-rating').textContent(), /5\.0 \/ 5 \(1 rated\)/);
    assert.match(await page.getByTestId('report-ended').textContent(), /^1$/);
    assert.deepEqual(admin.seen.pageErrors, []);
  });
});
