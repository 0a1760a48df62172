/*
 * The agent console's rendering: the two conversation lists, the open conversation (header,
 * transcript, typing), the contact card, context variables and earlier conversations. Data is
 * rendered with textContent only.
 */

import { $, el, clear, show } from './common.js';
import { t } from './strings.js';
import { state, contactName, str, fmtTime, isMine } from './agent-model.js';
import { select } from './agent.js';
import { renderAttachments, ratingText } from './agent-files.js';
import { inView, queueName, renderQueueViews } from './agent-queues.js';

const STATUS = { pending: t('deliveryPending'), sent: t('deliverySent'), delivered: t('deliveryDelivered'), failed: t('deliveryFailed') };

export function setError(text) {
  $('console-error').textContent = text || '';
  show($('console-error'), !!text);
}

export function setConn(text, ok) {
  var c = $('conn');
  c.textContent = text;
  c.className = 'conn' + (ok ? ' ok' : '');
}

function listFor(c) {
  if (c.state === 'waiting') return 'queue';
  if (isMine(c) && (c.state === 'active' || (c.state === 'ended' && c.keepUntilClosed))) return 'mine';
  return null;
}

export function renderLists() {
  var queue = $('queue');
  var mine = $('mine');
  clear(queue);
  clear(mine);
  var all = Object.keys(state.convs).map(function (k) {
    return state.convs[k];
  });
  all.sort(function (a, b) {
    return String(a.created_at || '').localeCompare(String(b.created_at || ''));
  });
  var nq = 0;
  var nm = 0;
  all.forEach(function (c) {
    var where = listFor(c);
    if (!where || (where === 'queue' && !inView(c))) return;
    var li = el('li');
    var item = el('button', 'conv-item' + (state.selected === c.id ? ' selected' : ''));
    item.type = 'button';
    item.setAttribute('data-testid', 'conversation-item');
    item.setAttribute('data-conversation-id', c.id);
    item.setAttribute('data-state', c.state);
    item.setAttribute('data-verified', c.verified ? 'true' : 'false');
    if (state.selected === c.id) item.setAttribute('aria-current', 'true');
    var top = el('span', 'conv-item-top');
    top.appendChild(el('span', 'conv-name', contactName(c.contact)));
    top.appendChild(el('span', 'conv-time', c.created_at ? fmtTime(c.created_at) : ''));
    item.appendChild(top);
    var bottom = el('span', 'conv-item-bottom');
    bottom.appendChild(el('span', 'badge ' + (c.verified ? 'ok' : 'warn'), c.verified ? t('verified') : t('notVerified')));
    if (c.state === 'ended') bottom.appendChild(el('span', 'state', t('stateEnded')));
    if (where === 'queue' && queueName(c.queue_id)) bottom.appendChild(el('span', 'tag', queueName(c.queue_id)));
    if (c.typingUntil > Date.now()) bottom.appendChild(el('span', 'muted small', t('typing')));
    if (c.unread) bottom.appendChild(el('span', 'count unread', c.unread));
    item.appendChild(bottom);
    item.addEventListener('click', function () {
      select(c.id);
    });
    li.appendChild(item);
    if (where === 'queue') {
      queue.appendChild(li);
      nq++;
    } else {
      mine.appendChild(li);
      nm++;
    }
  });
  $('queue-count').textContent = String(nq);
  $('mine-count').textContent = String(nm);
  show($('queue-empty'), nq === 0);
  renderQueueViews(all);
  show($('mine-empty'), nm === 0);
}

export function renderConversation() {
  var c = state.convs[state.selected];
  if (!c) return;
  $('conv-title').textContent = contactName(c.contact);
  var badge = $('verified-badge');
  badge.textContent = c.verified ? t('verified') : t('notVerified');
  badge.className = 'badge ' + (c.verified ? 'ok' : 'warn');
  var st = $('conv-state');
  st.textContent = c.state === 'waiting' ? t('stateWaiting') : c.state === 'ended' ? t('stateEnded') : isMine(c) ? t('stateActive') : t('stateOtherAgent');
  st.setAttribute('data-state', c.state);
  var rating = $('conv-rating');
  rating.textContent = ratingText(c.rating);
  show(rating, !!c.rating);
  show($('accept'), c.state === 'waiting');
  show($('end-conversation'), c.state === 'active' && isMine(c));
  show($('transfer'), c.state !== 'ended' && (isMine(c) || (!!state.me && state.me.role === 'admin')));
  var canWrite = c.state === 'active' && isMine(c);
  show($('composer'), canWrite);
  $('agent-input').disabled = !canWrite;
  $('agent-send').disabled = !canWrite;

  var ct = c.contact;
  $('contact-name').textContent = ct ? contactName(ct) : 'Guest';
  $('contact-email').textContent = ct && ct.email ? ct.email : '\u2014';
  $('contact-phone').textContent = ct && ct.phone ? ct.phone : '\u2014';
  $('contact-id').textContent = ct && ct.external_id != null ? String(ct.external_id) : '\u2014';

  var body = $('context-body');
  clear(body);
  var ctx = c.context && typeof c.context === 'object' ? c.context : {};
  var names = Object.keys(ctx);
  if (!names.length) {
    var tr0 = el('tr');
    var td0 = el('td', 'muted', t('noContext'));
    td0.colSpan = 2;
    tr0.appendChild(td0);
    body.appendChild(tr0);
  }
  names.forEach(function (n) {
    var tr = el('tr');
    tr.setAttribute('data-name', n);
    tr.appendChild(el('th', '', n)).setAttribute('scope', 'row');
    tr.appendChild(el('td', '', str(ctx[n])));
    body.appendChild(tr);
  });
  renderHistory();
  renderTyping();
}

export function renderHistory() {
  var c = state.convs[state.selected];
  var list = $('history');
  var empty = $('history-empty');
  clear(list);
  if (!c) return;
  if (!c.contact) {
    empty.textContent = t('guestNoHistory');
    show(empty, true);
    return;
  }
  if (c.historyError) {
    empty.textContent = c.historyError;
    show(empty, true);
    return;
  }
  if (c.history == null) {
    empty.textContent = t('loading');
    show(empty, true);
    return;
  }
  var items = c.history.slice().sort(function (a, b) {
    return String(b.created_at || '').localeCompare(String(a.created_at || ''));
  });
  empty.textContent = t('noHistory');
  show(empty, items.length === 0);
  items.forEach(function (a) {
    var li = el('li', 'history-item');
    li.setAttribute('data-testid', 'history-item');
    li.setAttribute('data-conversation-id', str(a.conversation_id));
    var details = el('details');
    var transcript = Array.isArray(a.transcript) ? a.transcript : [];
    var first = transcript.filter(function (m) {
      return m && m.sender === 'customer';
    })[0];
    var summary = el('summary');
    summary.appendChild(el('span', 'history-time', fmtTime(a.created_at) || t('earlier')));
    summary.appendChild(el('span', 'history-preview', first ? first.text : t('messageCount', { count: transcript.length })));
    if (a.rating) {
      var stars = el('span', 'history-rating', ratingText(a.rating));
      stars.setAttribute('data-testid', 'history-rating');
      summary.appendChild(stars);
    }
    details.appendChild(summary);
    var ol = el('ol', 'history-transcript');
    transcript.forEach(function (m) {
      var row = el('li', 'hmsg ' + (m.sender === 'agent' || m.sender === 'customer' ? m.sender : 'system'));
      row.setAttribute('data-sender', str(m.sender));
      row.appendChild(el('span', 'who', m.sender === 'agent' ? t('senderAgent') : m.sender === 'customer' ? t('senderCustomer') : ''));
      row.appendChild(el('span', 'text', str(m.text)));
      ol.appendChild(row);
    });
    details.appendChild(ol);
    li.appendChild(details);
    list.appendChild(li);
  });
}

function messageRow(m) {
  var sender = m.sender === 'agent' || m.sender === 'customer' ? m.sender : 'system';
  var row = el('div', 'msg ' + sender);
  var bubble = el('div', 'bubble', m.text);
  bubble.setAttribute('data-testid', 'agent-message');
  bubble.setAttribute('data-sender', sender);
  if (m.seq) bubble.setAttribute('data-seq', String(m.seq));
  if (m.status) bubble.setAttribute('data-status', m.status);
  renderAttachments(bubble, m.attachments);
  row.appendChild(bubble);
  if (sender !== 'system') {
    var meta = (sender === 'customer' ? t('senderCustomer') : t('senderYou')) + ' \u00b7 ' + (fmtTime(m.sent_at) || fmtTime(new Date().toISOString()));
    if (sender === 'agent' && m.status) meta += ' \u00b7 ' + STATUS[m.status];
    row.appendChild(el('div', 'meta', meta));
  }
  return row;
}

export function renderTranscript() {
  var c = state.convs[state.selected];
  var box = $('transcript');
  clear(box);
  if (!c) return;
  var seqs = Object.keys(c.messages).map(Number).sort(function (a, b) {
    return a - b;
  });
  seqs.forEach(function (s) {
    box.appendChild(messageRow(c.messages[s]));
  });
  c.pending.forEach(function (p) {
    if (!p.seq) box.appendChild(messageRow(p));
  });
  if (!seqs.length && !c.pending.length) box.appendChild(el('p', 'muted center', c.loaded ? t('noMessages') : t('loading')));
  box.scrollTop = box.scrollHeight;
}

export function renderTyping() {
  var c = state.convs[state.selected];
  show($('customer-typing'), !!(c && c.typingUntil > Date.now() && c.state !== 'ended'));
}
