/*
 * Canned replies in the composer: typing `/` and a shortcut's start offers the agent's own
 * replies, then the shared ones (the server's order); arrows move, Enter or Tab picks, Escape
 * closes, a click picks too. A picked reply is rendered by the server for the open conversation
 * (`{{contact.given_name}}`, `{{agent.name}}`, … filled; nothing evaluated) and fills the
 * composer for the agent to read and send. The list is a listbox the composer controls
 * (aria-activedescendant), so screen readers follow the highlighted option.
 */

import { $, el, clear, show, api, apiMessage } from './common.js';
import { state } from './agent-model.js';
import { t } from './strings.js';

const MAX_SHOWN = 8;
const FRESH_MS = 30000;

var replies = [];
var loadedAt = 0;
var loading = null;
var shown = [];
var active = -1;

function load(force) {
  if (!force && loadedAt && Date.now() - loadedAt < FRESH_MS) return Promise.resolve(replies);
  if (loading) return loading;
  loading = api('GET', '/api/v1/agent/canned-replies').then(function (r) {
    loading = null;
    if (r.status === 200 && r.body && Array.isArray(r.body.canned_replies)) {
      replies = r.body.canned_replies.filter(function (x) {
        return x && typeof x.shortcut === 'string' && typeof x.text === 'string';
      });
      loadedAt = Date.now();
    }
    return replies;
  });
  return loading;
}

/* The shortcut typed so far, or null when the composer is not a `/shortcut` (one word). */
function query() {
  var v = $('agent-input').value;
  if (v.charAt(0) !== '/' || /\s/.test(v)) return null;
  return v.slice(1).toLowerCase();
}

function isOpen() {
  return !$('canned-list').hidden;
}

function close() {
  shown = [];
  active = -1;
  clear($('canned-list'));
  show($('canned-list'), false);
  $('agent-input').removeAttribute('aria-activedescendant');
}

function highlight(i) {
  active = i;
  var items = $('canned-list').children;
  for (var k = 0; k < items.length; k++) {
    items[k].setAttribute('aria-selected', k === i ? 'true' : 'false');
  }
  var input = $('agent-input');
  if (i >= 0 && items[i]) {
    input.setAttribute('aria-activedescendant', items[i].id);
    items[i].scrollIntoView({ block: 'nearest' });
  } else {
    input.removeAttribute('aria-activedescendant');
  }
}

function open(matches) {
  var list = $('canned-list');
  clear(list);
  shown = matches.slice(0, MAX_SHOWN);
  if (!shown.length) {
    close();
    return;
  }
  shown.forEach(function (r, i) {
    var li = el('li', 'canned-option');
    li.id = 'canned-opt-' + i;
    li.setAttribute('role', 'option');
    li.setAttribute('data-testid', 'canned-suggestion');
    li.setAttribute('data-shortcut', r.shortcut);
    var head = el('span', 'canned-head');
    head.appendChild(el('span', 'canned-shortcut', '/' + r.shortcut));
    head.appendChild(el('span', 'canned-scope', r.shared ? 'Shared' : 'Yours'));
    li.appendChild(head);
    li.appendChild(el('span', 'canned-text', r.text));
    li.addEventListener('mousedown', function (e) {
      e.preventDefault(); // keep the focus in the composer
    });
    li.addEventListener('click', function () {
      pick(i);
    });
    list.appendChild(li);
  });
  show(list, true);
  $('canned-status').textContent = shown.length + (shown.length === 1 ? ' canned reply' : ' canned replies') +
    ': arrows to choose, Enter to insert, Escape to close.';
  highlight(0);
}

function update() {
  var q = query();
  if (q == null) {
    close();
    return;
  }
  load(false).then(function () {
    var now = query();
    if (now == null) return;
    open(replies.filter(function (r) {
      return r.shortcut.indexOf(now) === 0;
    }));
  });
}

function pick(i) {
  var r = shown[i];
  var c = state.convs[state.selected];
  close();
  if (!r || !c) return;
  var input = $('agent-input');
  api('POST', '/api/v1/agent/conversations/' + encodeURIComponent(c.id) + '/render', { text: r.text })
    .then(function (res) {
      if (res.status === 200 && res.body && typeof res.body.text === 'string') {
        if (state.selected !== c.id) return;
        input.value = res.body.text;
        input.focus();
        input.setSelectionRange(input.value.length, input.value.length);
        $('canned-status').textContent = t('cannedInserted', { shortcut: r.shortcut });
      } else if (res.status !== 401) { // a 401: common.js has shown the sign-in form
        $('canned-status').textContent = apiMessage(res, 'Could not insert /' + r.shortcut);
      }
    });
}

function onKey(e) {
  if (!isOpen() || e.isComposing) return;
  var handled = true;
  if (e.key === 'ArrowDown') highlight((active + 1) % shown.length);
  else if (e.key === 'ArrowUp') highlight((active - 1 + shown.length) % shown.length);
  else if (e.key === 'Enter' || e.key === 'Tab') pick(active < 0 ? 0 : active);
  else if (e.key === 'Escape') close();
  else handled = false;
  if (handled) {
    // Before the composer's own Enter (send): this listener runs in the capture phase.
    e.preventDefault();
    e.stopImmediatePropagation();
  }
}

export function initCanned() {
  var input = $('agent-input');
  // A textarea keeps its textbox role (combobox is not allowed on it); these are.
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', 'canned-list');
  input.addEventListener('keydown', onKey, true);
  input.addEventListener('input', function () {
    $('canned-status').textContent = '';
    update();
  });
  input.addEventListener('focus', function () {
    load(false);
  });
  input.addEventListener('blur', close);
}

/* Forget the cached list (after a sign-in, or when the agent changed their replies). */
export function reloadCanned() {
  loadedAt = 0;
  return load(true);
}
