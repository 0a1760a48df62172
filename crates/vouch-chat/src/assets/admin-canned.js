/*
 * Admin: the shared canned replies (GET/POST /api/v1/admin/canned-replies, PUT/DELETE …/{id}).
 * A table of the replies with Edit and Delete, and one form for a new reply or the one being
 * edited; a 422 is shown next to the field it names, a 409 (shortcut taken) next to the
 * shortcut. Rendered with textContent only.
 */

import { $, el, clear, show, api, apiMessage } from './common.js';
import { t } from './strings.js';

var replies = [];
var editing = null;

function setText(id, text) {
  var e = $(id);
  e.textContent = text || '';
  show(e, !!text);
}

function fieldError(field, message) {
  var input = $('canned-' + field);
  if (!input) return false;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', input.id + '-error');
  setText(input.id + '-error', message);
  input.focus();
  return true;
}

function clearErrors() {
  ['shortcut', 'text'].forEach(function (f) {
    var input = $('canned-' + f);
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
    setText(input.id + '-error', '');
  });
  setText('canned-error', '');
}

function edit(r) {
  editing = r;
  clearErrors();
  setText('canned-saved', '');
  $('canned-form-title').textContent = r ? 'Edit /' + r.shortcut : 'New shared reply';
  $('canned-shortcut').value = r ? r.shortcut : '';
  $('canned-text').value = r ? r.text : '';
  show($('canned-cancel'), !!r);
  if (r) $('canned-shortcut').focus();
}

function render() {
  var tb = $('canned-rows');
  clear(tb);
  show($('canned-empty'), replies.length === 0);
  replies.forEach(function (r) {
    var tr = el('tr');
    tr.setAttribute('data-testid', 'canned-row');
    tr.setAttribute('data-id', r.id);
    tr.appendChild(el('td', 'mono', '/' + r.shortcut));
    var text = el('td', 'canned-admin-text', r.text);
    tr.appendChild(text);
    var td = el('td', 'row-actions');
    var e = el('button', 'btn btn-secondary', 'Edit');
    e.type = 'button';
    e.setAttribute('data-testid', 'canned-edit');
    e.setAttribute('aria-label', 'Edit /' + r.shortcut);
    e.addEventListener('click', function () {
      edit(r);
    });
    var d = el('button', 'btn btn-secondary', 'Delete');
    d.type = 'button';
    d.setAttribute('data-testid', 'canned-delete');
    d.setAttribute('aria-label', 'Delete /' + r.shortcut);
    d.addEventListener('click', function () {
      remove(r);
    });
    td.appendChild(e);
    td.appendChild(d);
    tr.appendChild(td);
    tb.appendChild(tr);
  });
}

export function loadCannedAdmin() {
  return api('GET', '/api/v1/admin/canned-replies').then(function (r) {
    if (r.status !== 200 || !r.body || !Array.isArray(r.body.canned_replies)) {
      if (r.status !== 401) setText('admin-error', apiMessage(r, t('loadCannedFailed')));
      return;
    }
    replies = r.body.canned_replies;
    render();
  });
}

function save(ev) {
  ev.preventDefault();
  clearErrors();
  setText('canned-saved', '');
  var body = { shortcut: $('canned-shortcut').value.trim(), text: $('canned-text').value };
  var req = editing
    ? api('PUT', '/api/v1/admin/canned-replies/' + encodeURIComponent(editing.id), body)
    : api('POST', '/api/v1/admin/canned-replies', body);
  $('canned-save').disabled = true;
  req.then(function (r) {
    $('canned-save').disabled = false;
    if (r.status === 200 || r.status === 201) {
      var what = '/' + body.shortcut;
      edit(null);
      setText('canned-saved', t('savedWhat', { what: what }));
      loadCannedAdmin();
      return;
    }
    if (r.status === 401) return; // common.js has shown the sign-in form
    var msg = apiMessage(r, t('replyNotSaved'));
    if (r.status === 422 && r.body && fieldError(r.body.field, msg)) {
      setText('canned-error', t('notSavedField'));
    } else if (r.status === 409 && r.body && /shortcut/.test(r.body.message || '')) {
      fieldError('shortcut', msg);
      setText('canned-error', t('notSavedShortcut'));
    } else {
      setText('canned-error', msg);
    }
  });
}

function remove(r) {
  if (!window.confirm('Delete the shared reply /' + r.shortcut + '? Agents will no longer be offered it.')) return;
  api('DELETE', '/api/v1/admin/canned-replies/' + encodeURIComponent(r.id)).then(function (res) {
    if (res.status === 204 || res.status === 404) {
      if (editing && editing.id === r.id) edit(null);
      setText('canned-saved', t('deletedShortcut', { shortcut: r.shortcut }));
      loadCannedAdmin();
    } else if (res.status !== 401) {
      setText('admin-error', apiMessage(res, 'Could not delete the reply'));
    }
  });
}

export function initCannedAdmin() {
  $('canned-form').addEventListener('submit', save);
  $('canned-new').addEventListener('click', function () {
    edit(null);
    $('canned-shortcut').focus();
  });
  $('canned-cancel').addEventListener('click', function () {
    edit(null);
  });
}
