// Interop: the CRM receiver of docs/integrate.md ("Sync to your CRM", docs/examples/crm_receiver.py,
// Python standard library only) against a live `vouch demo`: a verified customer's conversation,
// accepted and ended by an agent, ends up in the receiver's SQLite as a contact and an activity
// with its transcript; forged, tampered and replayed deliveries are refused by the receiver;
// `vouch webhooks verify` agrees with it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startDemo, startProcess, portalLogin, agentToken, tempDir, cleanup, repoRoot, runVouch, launchBrowser } from './lib.mjs';
import { ADMIN, UI_TIMEOUT } from './browser.mjs';

const dir = tempDir('vouch-crm-');
const demo = await startDemo();
const secretFile = path.join(dir, 'secret');
const crmDb = path.join(dir, 'crm.db');
const receiver = await startProcess('python3', [path.join(repoRoot, 'docs', 'examples', 'crm_receiver.py')], {
  env: { PORT: '0', CRM_DB: crmDb, VOUCH_WEBHOOK_SECRET_FILE: secretFile },
  waitFor: { port: /^listening (\d+)$/m },
});
after(async () => { await receiver.stop(); await demo.stop(); cleanup(dir); cleanup(demo.dataDir); });
const hookUrl = `http://127.0.0.1:${receiver.port}/vouch-webhook`;

/** Rows of a query on the receiver's database (through Python's sqlite3, as the receiver writes it). */
function crm(sql) {
  const script = 'import json,sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.row_factory=sqlite3.Row; '
    + 'print(json.dumps([dict(r) for r in c.execute(sys.argv[2])]))';
  return JSON.parse(execFileSync('python3', ['-c', script, crmDb, sql]).toString());
}

async function eventually(what, probe, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function sign(secret, t, body) {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

test('a verified conversation syncs into the Python CRM receiver; forgeries and replays are refused', async () => {
  const admin = await agentToken(demo.chat, 'admin@example.com', 'admin');
  const auth = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  const created = await fetch(`${demo.chat}/api/v1/admin/webhooks`, {
    method: 'POST', headers: auth,
    body: JSON.stringify({ url: hookUrl, events: ['conversation.created', 'conversation.assigned', 'message.created', 'conversation.ended'] }),
  });
  assert.equal(created.status, 201);
  const hook = await created.json();
  assert.match(hook.secret, /^whsec_/);
  writeFileSync(secretFile, hook.secret);

  // The demo customer signs in on the portal, the widget opens a verified session with /token.
  const customer = await portalLogin(demo.portal, 'customer@example.com', 'customer');
  const jwt = (await (await customer.fetch(`${demo.portal}/token`)).text()).trim();
  const session = await fetch(`${demo.chat}/api/v1/widgets/${demo.appId}/sessions`, {
    method: 'POST', headers: { origin: demo.portal, AuthenticatedUserToken: jwt, 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(session.status, 201);
  const { conversation_id: conv, contact } = await session.json();
  assert.equal(contact.given_name, 'Alex');

  // An agent takes it and ends it.
  const agent = await agentToken(demo.chat, 'agent@example.com', 'agent');
  for (const step of ['accept', 'end']) {
    const r = await fetch(`${demo.chat}/api/v1/agent/conversations/${conv}/${step}`, {
      method: 'POST', headers: { authorization: `Bearer ${agent}` },
    });
    assert.equal(r.status, 200, step);
  }

  // The CRM has the contact and the activity with its transcript.
  const [activity] = await eventually('the activity is ended in the CRM', () => {
    const rows = crm(`SELECT * FROM activities WHERE conversation_id = '${conv}' AND state = 'ended'`);
    return rows.length ? rows : null;
  });
  assert.equal(activity.contact_id, contact.id);
  assert.ok(activity.ended_at);
  const transcript = JSON.parse(activity.transcript);
  assert.equal(transcript.length, 2); // joined, ended (system messages)
  assert.deepEqual(transcript.map((m) => m.seq), [1, 2]);
  const [row] = crm(`SELECT * FROM contacts WHERE id = '${contact.id}'`);
  assert.equal(row.external_id, contact.external_id);
  assert.equal(row.given_name, 'Alex');
  assert.equal(row.family_name, 'Doe');
  const messages = crm(`SELECT seq, sender FROM messages WHERE conversation_id = '${conv}' ORDER BY seq`);
  assert.deepEqual(messages, [{ seq: 1, sender: 'system' }, { seq: 2, sender: 'system' }]);
  const events = crm('SELECT type FROM processed_events ORDER BY received_at');
  assert.equal(events.length, 5); // created, joined message, assigned, ended message, ended

  // vouch's view: every delivery delivered with the receiver's 204.
  const list = await (await fetch(`${demo.chat}/api/v1/admin/webhooks/${hook.id}/deliveries`, { headers: auth })).json();
  assert.equal(list.deliveries.length, 5);
  for (const d of list.deliveries) {
    assert.equal(d.status, 'delivered');
    assert.equal(d.last_status_code, 204);
  }
  assert.ok(!JSON.stringify(list).includes(hook.secret));

  // The receiver refuses what vouch did not sign, tampered bodies and replays older than 5 minutes.
  const body = JSON.stringify({ id: 'f0f0f0f0-0000-4000-8000-000000000000', type: 'message.created', created_at: new Date().toISOString(),
    data: { conversation_id: conv, message: { seq: 99, sender: 'customer', text: 'forged', sent_at: new Date().toISOString(), client_msg_id: null } } });
  const now = Math.floor(Date.now() / 1000);
  const post = (sig, b = body) => fetch(hookUrl, {
    method: 'POST', body: b,
    headers: { 'content-type': 'application/json', 'vouch-event-id': 'f0f0f0f0-0000-4000-8000-000000000000', 'vouch-signature': sig },
  });
  assert.equal((await post(sign('whsec_not-the-secret', now, body))).status, 401);
  assert.equal((await post(sign(hook.secret, now, body), body.replace('forged', 'Forged'))).status, 401);
  assert.equal((await post(sign(hook.secret, now - 301, body))).status, 401);
  assert.equal(crm(`SELECT * FROM messages WHERE seq = 99`).length, 0);
  // … and the same body, freshly signed, goes in (a retry of it would be applied once).
  assert.equal((await post(sign(hook.secret, now, body))).status, 204);
  assert.equal((await post(sign(hook.secret, now, body))).status, 204);
  assert.equal(crm(`SELECT * FROM messages WHERE seq = 99`).length, 1);

  // `vouch webhooks verify` agrees with the receiver.
  const bodyFile = path.join(dir, 'body.json');
  writeFileSync(bodyFile, body);
  const ok = await runVouch(['webhooks', 'verify', '--secret', hook.secret, '--header', sign(hook.secret, now, body), '--body', bodyFile]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^valid signature/);
  const stale = await runVouch(['webhooks', 'verify', '--secret', hook.secret, '--header', sign(hook.secret, now - 301, body), '--body', bodyFile]);
  assert.equal(stale.code, 1);
  assert.match(stale.stderr, /^invalid signature: the timestamp/);
});

test('the admin Webhooks tab: create by keyboard (secret shown once, never again), the status of a delivery, delete', async () => {
  const browser = await launchBrowser();
  try {
    // Its own context (newContext's helper dismisses dialogs; the delete confirmation is accepted here).
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(UI_TIMEOUT);
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(new URL('/admin', demo.chat).href);
    await page.getByTestId('agent-email').fill(ADMIN.email);
    await page.getByTestId('agent-password').fill(ADMIN.password);
    await page.getByTestId('agent-password').press('Enter');
    await page.getByTestId('agent-email').waitFor({ state: 'hidden' });

    // Keyboard only: focus the tab and press Enter; fill the form and submit with Enter.
    await page.getByTestId('tab-webhooks').focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.getByTestId('tab-webhooks').getAttribute('aria-selected'), 'true');
    // A port nothing listens on: deliveries fail (connection refused) and stay visible as such.
    const dead = `http://127.0.0.1:9/nowhere`;
    await page.getByTestId('webhook-url').fill('not a url');
    await page.getByTestId('webhook-url').press('Enter');
    await page.getByTestId('webhook-url-error').waitFor();
    await page.getByTestId('webhook-url').fill(dead);
    await page.getByTestId('webhook-url').press('Enter');
    const secret = page.getByTestId('webhook-secret');
    await secret.waitFor();
    const shown = await secret.inputValue();
    assert.match(shown, /^whsec_/);
    const row = page.getByTestId('webhook-row').filter({ hasText: dead });
    await row.waitFor();

    // An event for it: a new anonymous-looking session from the demo customer.
    const customer = await portalLogin(demo.portal, 'customer@example.com', 'customer');
    const jwt = (await (await customer.fetch(`${demo.portal}/token`)).text()).trim();
    const r = await fetch(`${demo.chat}/api/v1/widgets/${demo.appId}/sessions`, {
      method: 'POST', headers: { origin: demo.portal, AuthenticatedUserToken: jwt },
    });
    assert.equal(r.status, 201);

    await row.getByTestId('webhook-deliveries').click();
    const delivery = page.getByTestId('delivery-row').first();
    await delivery.waitFor();
    assert.equal(await delivery.getAttribute('data-status'), 'pending');
    // After a reload the secret is nowhere on the page.
    await page.reload();
    await page.getByTestId('tab-webhooks').click();
    await page.getByTestId('webhook-row').first().waitFor();
    const html = await page.content();
    assert.ok(!html.includes(shown) && !/whsec_/.test(html), 'the secret is not shown again');

    // Delete (confirm dialog accepted) removes the row.
    page.once('dialog', (d) => d.accept());
    await page.getByTestId('webhook-row').filter({ hasText: dead }).getByTestId('webhook-delete').click();
    await page.getByTestId('webhook-row').filter({ hasText: dead }).waitFor({ state: 'detached', timeout: UI_TIMEOUT });
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
  }
});
