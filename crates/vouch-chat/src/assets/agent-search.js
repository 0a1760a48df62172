/*
 * The console's search box (search-input): contacts and conversations by name, email, contact
 * id or message text (GET /api/v1/agent/search). A conversation result opens it; a contact
 * result searches for that contact's conversations by their contact id. Rendered with
 * textContent only.
 */

import { $, el, clear, show, api, apiMessage } from './common.js';
import { conv, mergeSummary, contactName, fmtTime } from './agent-model.js';
import { t } from './strings.js';

const MAX_QUERY = 256;
let seq = 0; // answers to an older query are dropped

function contactLine(c) {
  return [contactName(c), c.email, c.external_id].filter(function (x) {
    return typeof x === 'string' && x;
  }).join(' \u00b7 ');
}

function result(kind, label, detail, onPick) {
  const li = el('li');
  const b = el('button', 'conv-item search-item');
  b.type = 'button';
  b.setAttribute('data-testid', 'search-result');
  b.setAttribute('data-kind', kind);
  b.appendChild(el('span', 'conv-name', label));
  if (detail) b.appendChild(el('span', 'search-detail', detail));
  b.addEventListener('click', onPick);
  li.appendChild(b);
  return li;
}

function render(body, open) {
  const list = $('search-results');
  const note = $('search-note');
  clear(list);
  const contacts = Array.isArray(body.contacts) ? body.contacts : [];
  const convs = Array.isArray(body.conversations) ? body.conversations : [];
  contacts.forEach(function (c) {
    list.appendChild(result('contact', contactLine(c), 'Contact', function () {
      $('search-input').value = c.external_id || c.email || contactName(c);
      run(open);
    }));
  });
  convs.forEach(function (r) {
    const when = r.created_at ? fmtTime(r.created_at) : '';
    const label = contactName(r.contact) + (when ? ' \u00b7 ' + when : '') + ' \u00b7 ' + r.state;
    list.appendChild(result('conversation', label, r.snippet || '', function () {
      const c = conv(r.id);
      mergeSummary(c, r);
      open(r.id);
    }));
  });
  const n = contacts.length + convs.length;
  note.textContent = n ? n + (n === 1 ? ' result' : ' results') : 'Nothing found.';
  show(note, true);
  show(list, n > 0);
}

function run(open) {
  const q = $('search-input').value.trim();
  const note = $('search-note');
  const mine = ++seq;
  if (!q) {
    clear($('search-results'));
    show($('search-results'), false);
    show(note, false);
    return;
  }
  if (q.length > MAX_QUERY) {
    note.textContent = t('searchTooLong', { max: MAX_QUERY });
    show(note, true);
    return;
  }
  note.textContent = t('searching');
  show(note, true);
  api('GET', '/api/v1/agent/search?q=' + encodeURIComponent(q)).then(function (r) {
    if (mine !== seq) return;
    if (r.status === 200 && r.body) render(r.body, open);
    else note.textContent = apiMessage(r, t('searchFailed'));
  });
}

/* Wires the search form; `open(id)` shows a conversation. */
export function initSearch(open) {
  const form = $('search-form');
  if (!form) return;
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    run(open);
  });
  $('search-input').addEventListener('keydown', function (e) {
    if (e.key === 'Escape') {
      $('search-input').value = '';
      run(open);
    }
  });
}
