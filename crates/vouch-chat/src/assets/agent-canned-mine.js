/*
 * The agent's own canned replies (POST /api/v1/agent/canned-replies, PUT/DELETE …/{id}) in a
 * modal dialog from the top bar: a list with Edit and Delete, one form for a new reply or the
 * one being edited, a 422 shown at the field it names and a taken shortcut (409) at the
 * shortcut. After a change the composer's suggestions are reloaded. textContent only.
 */

import { $, el, clear, show, api, apiMessage } from './common.js';
import { reloadCanned } from './agent-canned.js';
import { t } from './strings.js';

var mine = [];
var editing = null;

function setText(id, text) {
  var e = $(id);
  e.textContent = text || '';
  show(e, !!text);
}

function clearErrors() {
  ['shortcut', 'text'].forEach(function (f) {
    var input = $('my-canned-' + f);
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
    setText('my-canned-' + f + '-error', '');
  });
  setText('my-canned-error', '');
}

function fieldError(field, message) {
  var input = $('my-canned-' + field);
  if (!input || (field !== 'shortcut' && field !== 'text')) return false;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', input.id + '-error');
  setText(input.id + '-error', message);
  input.focus();
  return true;
}

function edit(r) {
  editing = r;
  clearErrors();
  $('my-canned-form-title').textContent = r ? 'Edit /' + r.shortcut : 'New reply';
  $('my-canned-shortcut').value = r ? r.shortcut : '';
  $('my-canned-text').value = r ? r.text : '';
  show($('my-canned-cancel'), !!r);
  if (r) $('my-canned-shortcut').focus();
}

function render() {
  var list = $('my-canned-list');
  clear(list);
  show($('my-canned-empty'), mine.length === 0);
  mine.forEach(function (r) {
    var li = el('li', 'my-canned-item');
    li.setAttribute('data-testid', 'my-canned-item');
    var body = el('div', 'my-canned-body');
    body.appendChild(el('span', 'canned-shortcut', '/' + r.shortcut));
    body.appendChild(el('span', 'canned-text', r.text));
    li.appendChild(body);
    var e = el('button', 'btn btn-secondary', 'Edit');
    e.type = 'button';
    e.setAttribute('aria-label', 'Edit /' + r.shortcut);
    e.addEventListener('click', function () {
      edit(r);
    });
    var d = el('button', 'btn btn-secondary', 'Delete');
    d.type = 'button';
    d.setAttribute('aria-label', 'Delete /' + r.shortcut);
    d.setAttribute('data-testid', 'my-canned-delete');
    d.addEventListener('click', function () {
      remove(r);
    });
    li.appendChild(e);
    li.appendChild(d);
    list.appendChild(li);
  });
}

function load() {
  return api('GET', '/api/v1/agent/canned-replies').then(function (r) {
    if (r.status !== 200 || !r.body || !Array.isArray(r.body.canned_replies)) {
      if (r.status !== 401) setText('my-canned-error', apiMessage(r, t('loadMyCannedFailed')));
      return;
    }
    mine = r.body.canned_replies.filter(function (x) {
      return x && x.shared === false;
    });
    render();
  });
}

function changed(message) {
  $('my-canned-saved').textContent = message;
  reloadCanned();
  load();
}

function save(ev) {
  ev.preventDefault();
  clearErrors();
  $('my-canned-saved').textContent = '';
  var body = { shortcut: $('my-canned-shortcut').value.trim(), text: $('my-canned-text').value };
  var req = editing
    ? api('PUT', '/api/v1/agent/canned-replies/' + encodeURIComponent(editing.id), body)
    : api('POST', '/api/v1/agent/canned-replies', body);
  $('my-canned-save').disabled = true;
  req.then(function (r) {
    $('my-canned-save').disabled = false;
    if (r.status === 200 || r.status === 201) {
      edit(null);
      changed('Saved /' + body.shortcut + '.');
      return;
    }
    if (r.status === 401) return; // common.js has shown the sign-in form
    var msg = apiMessage(r, t('replyNotSaved'));
    if (r.status === 422 && r.body && fieldError(r.body.field, msg)) return;
    if (r.status === 409 && r.body && /shortcut/.test(r.body.message || '') && fieldError('shortcut', msg)) return;
    setText('my-canned-error', msg);
  });
}

function remove(r) {
  api('DELETE', '/api/v1/agent/canned-replies/' + encodeURIComponent(r.id)).then(function (res) {
    if (res.status === 204 || res.status === 404) {
      if (editing && editing.id === r.id) edit(null);
      changed('Deleted /' + r.shortcut + '.');
    } else if (res.status !== 401) {
      setText('my-canned-error', apiMessage(res, 'Could not delete the reply'));
    }
  });
}

export function initMyCanned() {
  var dialog = $('my-canned-dialog');
  $('my-canned-open').addEventListener('click', function () {
    edit(null);
    $('my-canned-saved').textContent = '';
    load();
    dialog.showModal(); // modal: focus stays inside, Escape closes
    $('my-canned-shortcut').focus();
  });
  $('my-canned-close').addEventListener('click', function () {
    dialog.close();
  });
  dialog.addEventListener('close', function () {
    $('my-canned-open').focus();
  });
  $('my-canned-form').addEventListener('submit', save);
  $('my-canned-cancel').addEventListener('click', function () {
    edit(null);
  });
}
