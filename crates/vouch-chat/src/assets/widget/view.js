/*
 * The widget's DOM: a <vouch-chat> element with an open shadow root holding the launcher and
 * the panel (the data-testid hooks of the design), and every function that changes what the
 * visitor sees. Data is rendered with textContent only, never parsed as HTML.
 */

import { applyStyles } from './styles.js';
import { t, lang, dir, formatNumber } from './strings.js';
import { el, svg, guard, contactName, formatTime } from './util.js';
import { session, phase } from './session.js';
import { buildFiles, renderAttachments, resetSurvey } from './files.js';

export const MAX_TEXT = 4000;
const TYPING_SHOW_MS = 4000;

const CHAT_ICON = 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2zm3 6a1.3 1.3 0 1 0 0 2.6A1.3 1.3 0 0 0 7 10zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6z';

export let ui = null; // DOM references, built once by buildUi
export let opened = false; // the panel is open
export let errorKind = null; // what chat-error shows: network | fatal | frame | reauth | notice | general
let hooks = {};
let typingTimer = null;

/*
 * Builds the widget into the page. `actions` are the visitor's doings: openChanged(open),
 * submit(), typed(), newChat(), sendAttachment(meta).
 */
export function buildUi(actions) {
  hooks = actions;
  const host = document.createElement('vouch-chat');
  host.setAttribute('data-vouch-chat', '');
  // The language and direction of the words inside (Arabic lays the widget out right to left).
  host.setAttribute('lang', lang);
  host.setAttribute('dir', dir);
  const shadow = host.attachShadow({ mode: 'open' });
  applyStyles(shadow);

  const root = el('div', 'root');
  root.setAttribute('lang', lang);
  root.setAttribute('dir', dir);

  const launcher = el('button', 'launcher', 'chat-launcher');
  launcher.type = 'button';
  launcher.setAttribute('aria-label', t('ui.open'));
  launcher.setAttribute('aria-expanded', 'false');
  launcher.appendChild(svg(CHAT_ICON));
  const unread = el('span', 'badge');
  unread.hidden = true;
  launcher.appendChild(unread);

  const panel = el('section', 'panel', 'chat-panel');
  panel.hidden = true;
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-modal', 'true'); // focus stays inside while it is open (trapFocus)
  panel.tabIndex = -1; // holds the focus while the composer is still disabled
  panel.id = 'vouch-chat-panel';
  launcher.setAttribute('aria-controls', panel.id);

  const head = el('div', 'head'); // not <header>: that would be a second banner landmark on the host page
  const headText = el('div', 'head-text');
  const title = el('h2', 'title');
  title.id = 'vouch-chat-title';
  title.textContent = t('ui.title');
  panel.setAttribute('aria-labelledby', title.id);
  const status = el('div', 'status', 'chat-status');
  status.setAttribute('aria-live', 'polite');
  const close = el('button', 'close');
  close.type = 'button';
  close.setAttribute('aria-label', t('ui.close'));
  close.textContent = '\u00d7';
  headText.appendChild(title);
  headText.appendChild(status);
  head.appendChild(headText);
  head.appendChild(close);

  const error = el('p', 'error', 'chat-error');
  error.setAttribute('role', 'alert');
  error.hidden = true;

  const queue = el('p', 'queue', 'chat-queue-position');
  queue.setAttribute('aria-live', 'polite');
  queue.hidden = true;

  const log = el('div', 'log');
  log.setAttribute('role', 'log');
  log.setAttribute('aria-live', 'polite');
  log.setAttribute('aria-label', t('ui.conversation'));
  log.tabIndex = 0; // a scrolling region: reachable and scrollable by keyboard
  const empty = el('div', 'empty');
  empty.textContent = t('ui.empty');
  log.appendChild(empty);

  const typing = el('div', 'typing');
  typing.hidden = true;
  typing.textContent = t('ui.agentTyping');

  const bar = el('div', 'bar');
  bar.hidden = true;
  const again = el('button', 'btn');
  again.type = 'button';
  again.textContent = t('ui.newChat');
  bar.appendChild(again);

  const composer = el('form', 'composer');
  composer.setAttribute('novalidate', '');
  const input = el('textarea', '', 'chat-input');
  input.rows = 1;
  input.maxLength = MAX_TEXT;
  input.placeholder = t('ui.placeholder');
  input.setAttribute('aria-label', t('ui.message'));
  input.setAttribute('dir', 'auto'); // the customer's words take their own direction
  const send = el('button', 'btn', 'chat-send');
  send.type = 'submit';
  send.textContent = t('ui.send');
  composer.appendChild(input);
  composer.appendChild(send);
  const attach = buildFiles(shadow, composer, panel, function (meta) {
    hooks.sendAttachment(meta);
  });

  panel.appendChild(head);
  panel.appendChild(error);
  panel.appendChild(queue);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(bar);
  panel.appendChild(composer);
  root.appendChild(panel);
  root.appendChild(launcher);
  shadow.appendChild(root);

  launcher.addEventListener('click', guard(function () {
    setOpen(!opened);
  }));
  close.addEventListener('click', guard(function () {
    setOpen(false);
    launcher.focus();
  }));
  root.addEventListener('keydown', guard(function (e) {
    if (!opened || e.isComposing) return; // Escape while composing (IME) cancels the composition only
    if (e.key === 'Escape') {
      e.preventDefault();
      setOpen(false);
      launcher.focus();
    } else if (e.key === 'Tab') {
      trapFocus(e);
    }
  }));
  composer.addEventListener('submit', guard(function (e) {
    e.preventDefault();
    hooks.submit();
  }));
  input.addEventListener('keydown', guard(function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      hooks.submit();
    }
  }));
  input.addEventListener('input', guard(function () {
    hooks.typed();
  }));
  again.addEventListener('click', guard(function () {
    hooks.newChat();
  }));

  (document.body || document.documentElement).appendChild(host);

  ui = {
    host: host, shadow: shadow, launcher: launcher, unread: unread, panel: panel, title: title,
    status: status, error: error, log: log, empty: empty, typing: typing, bar: bar, again: again,
    input: input, send: send, attach: attach, unreadCount: 0, queue: queue
  };
  return ui;
}

/* Opens or closes the panel; `auto` (a reload restoring an open chat) leaves the focus alone. */
export function setOpen(open, auto) {
  opened = open;
  ui.panel.hidden = !open;
  ui.launcher.setAttribute('aria-expanded', open ? 'true' : 'false');
  hooks.openChanged(open);
  if (open) {
    ui.unreadCount = 0;
    ui.unread.hidden = true;
    scrollToEnd();
    if (!auto) (ui.input.disabled ? ui.panel : ui.input).focus();
  }
  labelLauncher();
}

/* The launcher's name: open or close, and how many agent messages came while it was closed. */
function labelLauncher() {
  let label = opened ? t('ui.close') : t('ui.open');
  if (!opened && ui.unreadCount > 0) label += ' (' + t('ui.unread', { count: ui.unreadCount }) + ')';
  ui.launcher.setAttribute('aria-label', label);
}

/*
 * What Tab may reach inside the open panel, in document order. A group of radio buttons is one
 * stop, as the browser makes it: the checked one, or the first while none is.
 */
function tabStops() {
  const all = ui.panel.querySelectorAll('button, textarea, input, select, a[href], [tabindex]');
  const out = [];
  const groups = Object.create(null);
  for (let i = 0; i < all.length; i++) {
    const e = all[i];
    if (e.disabled || e.tabIndex < 0 || !e.getClientRects().length) continue;
    if (e.type === 'radio' && e.name) {
      const g = groups[e.name] || (groups[e.name] = { at: out.length, first: e, checked: null });
      if (e.checked) g.checked = e;
      if (g.first !== e) continue;
    }
    out.push(e);
  }
  Object.keys(groups).forEach(function (name) {
    const g = groups[name];
    if (g.checked) out[g.at] = g.checked;
  });
  return out;
}

/*
 * Keeps Tab and Shift+Tab inside the panel while it is open: from the last stop to the first
 * and back; from the launcher (or the panel itself) into the panel.
 */
function trapFocus(e) {
  const stops = tabStops();
  if (!stops.length) return;
  const at = ui.shadow.activeElement;
  const i = stops.indexOf(at);
  let next = null;
  if (i === -1) next = e.shiftKey ? stops[stops.length - 1] : stops[0];
  else if (!e.shiftKey && i === stops.length - 1) next = stops[0];
  else if (e.shiftKey && i === 0) next = stops[stops.length - 1];
  if (next) {
    e.preventDefault();
    next.focus();
  }
}

export function setTitle(text) {
  ui.title.textContent = text;
}

// ------------------------------------------------------------------ errors

export function setError(text, kind) {
  errorKind = kind || 'general';
  ui.error.textContent = text;
  ui.error.hidden = !text;
}

/* Clears chat-error; with a kind, only if it shows an error of that kind. */
export function clearError(kind) {
  if (kind && errorKind !== kind) return;
  errorKind = null;
  ui.error.textContent = '';
  ui.error.hidden = true;
}

/* chat-queue-position's sentence: the place in the queue and the estimate, if any. */
function queueText(position, secs) {
  if (position === 1) return t('queue.next');
  if (typeof secs === 'number' && secs >= 0) {
    const minutes = Math.max(1, Math.round(secs / 60));
    return t('queue.positionWait', { position: formatNumber(position), minutes: formatNumber(minutes) });
  }
  return t('queue.position', { position: formatNumber(position) });
}

/* A `queue` frame: the visitor's position (from 1) and the estimate in seconds or null. */
export function showQueue(position, secs) {
  if (!ui || typeof position !== 'number' || position < 1) return;
  ui.queue.textContent = queueText(position, secs);
  ui.queue.hidden = false;
}

/* No longer waiting: no position. */
export function hideQueue() {
  if (ui) ui.queue.hidden = true;
}

/* An exception inside the widget (see util.report). */
export function showBroken() {
  if (ui) setError(t('msg.broken'), 'general');
}

// ------------------------------------------------------------------ status

/* chat-status: who the visitor is, the conversation's state, and `extra` (connection news). */
export function renderStatus(extra) {
  const s = ui.status;
  while (s.firstChild) s.removeChild(s.firstChild);
  const parts = [];
  let cls = 'status';
  if (session) {
    if (session.verified) {
      const name = contactName(session.contact);
      parts.push(name ? t('status.signedInAsVerified', { name: name }) : t('status.signedInVerified'));
      cls += ' verified';
    } else {
      parts.push(t('status.guest'));
    }
    const st = stateText(session.state);
    if (st) parts.push(st);
  }
  if (extra) parts.push(extra);
  if (phase !== 'open' && phase !== 'ended') cls += ' offline';
  s.className = cls;
  s.appendChild(el('span', 'dot'));
  s.appendChild(document.createTextNode(parts.join(' \u00b7 ') || t('status.idle')));
}

export function setInputEnabled(on) {
  // A disabled control drops the focus to the page: the open panel keeps it instead.
  const at = ui.shadow.activeElement;
  if (!on && opened && (at === ui.input || at === ui.send)) ui.panel.focus();
  ui.input.disabled = !on;
  ui.send.disabled = !on;
  // The panel opened while connecting holds the focus: the composer takes it when it can.
  if (on && opened && ui.shadow.activeElement === ui.panel) ui.input.focus();
  ui.attach.disabled = !on;
}

/* The bar under the log with one button: "Start a new chat" or "Try again". */
export function showBar(label) {
  ui.again.textContent = label;
  ui.bar.hidden = false;
  // The chat ended or stopped under the visitor's keyboard: the way on is the next Tab stop.
  if (opened && ui.shadow.activeElement === ui.panel) ui.again.focus();
}

/* Back to an empty log with no bar, no typing indicator and no error. */
export function resetLog() {
  if (opened && ui.shadow.activeElement === ui.again) ui.panel.focus(); // the bar is about to hide
  while (ui.log.firstChild) ui.log.removeChild(ui.log.firstChild);
  ui.log.appendChild(ui.empty);
  ui.bar.hidden = true;
  ui.typing.hidden = true;
  resetSurvey();
  clearError();
}

export function scrollToEnd() {
  ui.log.scrollTop = ui.log.scrollHeight;
}

export function showAgentTyping() {
  ui.typing.hidden = false;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(function () {
    ui.typing.hidden = true;
  }, TYPING_SHOW_MS);
}

export function hideAgentTyping() {
  ui.typing.hidden = true;
}

/* An agent's message arrived: counted on the launcher's badge while the panel is closed. */
export function noteAgentMessage() {
  ui.typing.hidden = true;
  if (!opened) {
    ui.unreadCount++;
    ui.unread.textContent = formatNumber(Math.min(ui.unreadCount, 99));
    ui.unread.hidden = false;
    labelLauncher();
  }
}

// ---------------------------------------------------------------- messages

/* Puts a row in seq order; rows without a seq (still pending) stay last. */
export function insertRow(row, seq) {
  if (ui.empty.parentNode) ui.log.removeChild(ui.empty);
  const kids = ui.log.children;
  let before = null;
  if (seq) {
    for (let i = 0; i < kids.length; i++) {
      const ks = Number(kids[i].getAttribute('data-seq') || 0);
      if (!ks || ks > seq) {
        before = kids[i];
        break;
      }
    }
  }
  ui.log.insertBefore(row, before);
}

/* A message row (not yet in the log): {row, bubble, meta, time}, with its attachments. */
export function makeRow(sender, text, sentAt, attachments) {
  const s = sender === 'customer' || sender === 'agent' ? sender : 'system';
  const row = el('div', 'row ' + s);
  const bubble = el('div', 'bubble', 'chat-message');
  bubble.setAttribute('data-sender', s);
  bubble.textContent = text;
  renderAttachments(bubble, attachments);
  row.appendChild(bubble);
  const meta = el('div', 'meta');
  if (s !== 'system') {
    meta.textContent = s === 'agent' ? t('ui.agentMeta', { time: formatTime(sentAt) }) : formatTime(sentAt);
    row.appendChild(meta);
  }
  return { row: row, bubble: bubble, meta: meta, time: formatTime(sentAt) };
}

/* Moves a row to its place for `seq` and marks it with that seq. */
export function placeRow(rec, seq) {
  rec.row.setAttribute('data-seq', String(seq));
  rec.bubble.setAttribute('data-seq', String(seq));
  if (rec.row.parentNode) rec.row.parentNode.removeChild(rec.row);
  insertRow(rec.row, seq);
}

/* A conversation state in words ('' for a state this widget does not know). */
function stateText(state) {
  if (state === 'waiting') return t('state.waiting');
  if (state === 'active') return t('state.active');
  if (state === 'ended') return t('state.ended');
  return '';
}

/* A delivery state in words. */
function deliveryText(st) {
  if (st === 'pending') return t('delivery.pending');
  if (st === 'sent') return t('delivery.sent');
  if (st === 'delivered') return t('delivery.delivered');
  return t('delivery.failed');
}

/* pending | sent | delivered | failed, as data-status and in words under the bubble. */
export function setMsgStatus(rec, st) {
  rec.status = st;
  rec.bubble.setAttribute('data-status', st);
  rec.meta.textContent = rec.time + ' \u00b7 ' + deliveryText(st);
}
