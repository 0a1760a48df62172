// The widget's languages in Chromium: `data-locale="ar"` gives an Arabic widget laid out right
// to left (dir attribute and the computed layout: launcher, panel and bubbles mirrored), the
// browser's language picks the catalog when the snippet names none, and a language the widget
// does not speak falls back to English.
// With VOUCH_UPDATE_SCREENSHOTS=1 the Arabic widget is saved as docs/screenshots/widget-arabic.png.
// Run: cd tests/e2e && VOUCH_BIN=$PWD/../../target/debug/vouch node --test ./locale.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { repoRoot } from './lib.mjs';
import {
  withDemo, newContext, startHostServer, createWidget, chatLogin, widget, openWidget, widgetSend,
  waitDelivered, widgetState, agentSignIn, conversationItem, acceptConversation, agentReply, ADMIN, AGENT,
} from './browser.mjs';
import { audit } from './axe.mjs';

const TEST_TIMEOUT = 180_000;
const shots = process.env.VOUCH_UPDATE_SCREENSHOTS === '1'
  ? path.join(repoRoot, 'docs', 'screenshots')
  : path.join(tmpdir(), 'vouch-e2e-screenshots');

/** The admin API's snippet with data-locale added (or not). */
function withLocale(snippet, locale) {
  return locale ? snippet.replace('<script ', `<script data-locale="${locale}" `) : snippet;
}

/** A shop page written in `lang`, carrying the snippet. */
function shopPage({ lang, dir, title, text, snippet }) {
  return `<!doctype html>
<html lang="${lang}" dir="${dir}"><head><meta charset="utf-8"><title>${title}</title>
<style>
body{margin:0;font:16px/1.6 system-ui,sans-serif;color:#1f2933;background:#f4f6fa}
header{background:#1f2933;color:#fff;padding:18px 32px;font-size:20px;font-weight:600}
main{max-width:720px;margin:32px auto;padding:0 24px}
.card{background:#fff;border-radius:12px;padding:24px 28px;box-shadow:0 2px 8px rgba(16,24,40,.08)}
</style></head>
<body><header>${title}</header><main><div class="card"><h1>${title}</h1><p>${text}</p></div></main>
${snippet}
</body></html>`;
}

/** The widget's layout and words, read in the page. */
async function readWidget(page) {
  return page.evaluate(() => {
    const host = document.querySelector('vouch-chat');
    const root = host.shadowRoot;
    const q = (s) => root.querySelector(s);
    const rect = (e) => { const r = e.getBoundingClientRect(); return { left: r.left, right: r.right, width: r.width }; };
    return {
      dir: host.getAttribute('dir'),
      lang: host.getAttribute('lang'),
      direction: getComputedStyle(q('.root')).direction,
      viewport: window.innerWidth,
      launcher: rect(q('[data-testid="chat-launcher"]')),
      launcherLabel: q('[data-testid="chat-launcher"]').getAttribute('aria-label'),
      send: q('[data-testid="chat-send"]').textContent,
      placeholder: q('[data-testid="chat-input"]').getAttribute('placeholder'),
      inputLabel: q('[data-testid="chat-input"]').getAttribute('aria-label'),
      close: q('button.close').getAttribute('aria-label'),
      empty: q('.empty').textContent,
    };
  });
}

/** Where a bubble sits in the panel: its gap to the panel's left and right edges. */
async function bubbleGaps(page, sender) {
  return page.evaluate((s) => {
    const root = document.querySelector('vouch-chat').shadowRoot;
    const panel = root.querySelector('[data-testid="chat-panel"]').getBoundingClientRect();
    const b = [...root.querySelectorAll(`[data-testid="chat-message"][data-sender="${s}"]`)].pop().getBoundingClientRect();
    return { left: b.left - panel.left, right: panel.right - b.right };
  }, sender);
}

const ARABIC = /[\u0600-\u06FF]/;

test('the Arabic widget (data-locale="ar") is laid out right to left and speaks Arabic', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const host = await startHostServer();
    try {
      const admin = await chatLogin(demo.chat, ADMIN);
      const created = await createWidget(demo.chat, admin, {
        name: 'Arabic shop', title: 'تحدّث معنا', allowed_origins: [host.origin], require_auth: false,
      });
      host.setPage('/', shopPage({
        lang: 'ar', dir: 'rtl', title: 'متجر كونتوسو', text: 'شحن مجاني لجميع الطلبات. فريقنا هنا لمساعدتك.',
        snippet: withLocale(created.snippet, 'ar'),
      }));

      // An English-speaking browser: the snippet's data-locale wins.
      const { context, seen } = await newContext(browser, { locale: 'en-US' });
      const page = await context.newPage();
      await page.goto(host.url);
      const w = widget(page);
      await w.launcher.waitFor();

      const closed = await readWidget(page);
      assert.equal(closed.dir, 'rtl');
      assert.equal(closed.lang, 'ar');
      assert.equal(closed.direction, 'rtl', 'the computed direction inside the shadow root');
      assert.ok(closed.launcher.right < closed.viewport / 2, `launcher in the left half: ${JSON.stringify(closed.launcher)}`);
      assert.equal(closed.launcherLabel, 'فتح الدردشة');
      assert.equal(closed.send, 'إرسال');
      assert.equal(closed.placeholder, 'اكتب رسالتك…');
      assert.equal(closed.inputLabel, 'الرسالة');
      assert.equal(closed.close, 'إغلاق الدردشة');
      assert.match(closed.empty, ARABIC);

      await openWidget(page);
      const panel = await w.panel.boundingBox();
      assert.ok(panel.x + panel.width < closed.viewport / 2 + 60, `panel on the left: ${JSON.stringify(panel)}`);
      assert.ok(panel.x < 40, `panel against the left edge: ${JSON.stringify(panel)}`);
      assert.equal(await w.launcher.getAttribute('aria-label'), 'إغلاق الدردشة');
      const status = await w.status.textContent();
      assert.match(status, /تدردش كضيف/, `status line: ${status}`);
      assert.doesNotMatch(status, /[A-Za-z]/, `no English in the status line: ${status}`);

      const text = 'مرحبًا، أين طلبي رقم 1042؟';
      await widgetSend(page, text);
      await waitDelivered(page, text);
      const meta = await page.evaluate(() => [...document.querySelector('vouch-chat').shadowRoot.querySelectorAll('.row.customer .meta')].pop().textContent);
      assert.match(meta, /وصلت/, `delivery state in Arabic: ${meta}`);
      const mine = await bubbleGaps(page, 'customer');
      assert.ok(mine.left < mine.right, `the customer's bubble on the left (reading end): ${JSON.stringify(mine)}`);

      // The agent answers in the console; the reply sits on the right (reading start).
      const agent = await newContext(browser);
      const console_ = await agent.context.newPage();
      await agentSignIn(console_, demo.chat, AGENT);
      const { conversationId } = await widgetState(page);
      await conversationItem(console_, conversationId).waitFor();
      await acceptConversation(console_, conversationId);
      const reply = 'أهلًا بك! طلبك في الطريق وسيصل غدًا.';
      await agentReply(console_, reply);
      await w.message(reply, 'agent').waitFor();
      const theirs = await bubbleGaps(page, 'agent');
      assert.ok(theirs.right < theirs.left, `the agent's bubble on the right: ${JSON.stringify(theirs)}`);
      assert.match(await w.status.textContent(), /تدردش مع الدعم/);

      const r = await audit(page);
      assert.ok(r.ran >= 20, `axe ran ${r.ran} rules`);
      assert.deepEqual(r.blocking, [], 'the Arabic widget passes the audit');
      assert.deepEqual(seen.pageErrors, []);

      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: path.join(shots, 'widget-arabic.png') });
    } finally {
      await host.close();
    }
  });
});

test('the browser\'s language picks the catalog, data-locale overrides it, and an unknown one falls back to English', { timeout: TEST_TIMEOUT }, async () => {
  await withDemo(async ({ demo, browser }) => {
    const host = await startHostServer();
    try {
      const admin = await chatLogin(demo.chat, ADMIN);
      const created = await createWidget(demo.chat, admin, {
        name: 'Shop', allowed_origins: [host.origin], require_auth: false,
      });
      const page = (snippet) => shopPage({ lang: 'en', dir: 'ltr', title: 'Shop', text: 'Welcome.', snippet });
      host.setPage('/plain', page(created.snippet));
      host.setPage('/fr', page(withLocale(created.snippet, 'fr')));
      host.setPage('/unknown', page(withLocale(created.snippet, 'pt-BR')));

      const cases = [
        { browser: 'de-AT', path: '/plain', lang: 'de', send: 'Senden', open: 'Chat öffnen' },
        { browser: 'nl-NL', path: '/plain', lang: 'nl', send: 'Versturen', open: 'Chat openen' },
        { browser: 'es-MX', path: '/plain', lang: 'es', send: 'Enviar', open: 'Abrir el chat' },
        { browser: 'de-DE', path: '/fr', lang: 'fr', send: 'Envoyer', open: 'Ouvrir le chat' },
        { browser: 'pt-BR', path: '/plain', lang: 'en', send: 'Send', open: 'Open chat' },
        { browser: 'ja-JP', path: '/unknown', lang: 'en', send: 'Send', open: 'Open chat' },
        { browser: 'ar-EG', path: '/plain', lang: 'ar', send: 'إرسال', open: 'فتح الدردشة' },
      ];
      for (const c of cases) {
        const { context, seen } = await newContext(browser, { locale: c.browser });
        const p = await context.newPage();
        await p.goto(new URL(c.path, host.url).href);
        await widget(p).launcher.waitFor();
        const got = await readWidget(p);
        const where = `${c.browser} on ${c.path}`;
        assert.equal(got.lang, c.lang, where);
        assert.equal(got.dir, c.lang === 'ar' ? 'rtl' : 'ltr', where);
        assert.equal(got.send, c.send, where);
        assert.equal(got.launcherLabel, c.open, where);
        // The widget mirrors by its own direction, whatever the page's (these pages are ltr).
        if (c.lang === 'ar') assert.ok(got.launcher.right < got.viewport / 2, `${where}: launcher on the left`);
        else assert.ok(got.launcher.left > got.viewport / 2, `${where}: launcher on the right`);
        assert.deepEqual(seen.pageErrors, [], where);
        await context.close();
      }
    } finally {
      await host.close();
    }
  });
});
