/*
 * vouch agent console (/agent), an ES module. Same origin as the API; the HttpOnly cookie set
 * by POST /api/v1/agent/login authenticates fetch() and the agent WebSocket, so this script
 * never sees a token (see common.js). All data is rendered with textContent.
 *
 * agent-model.js holds the state, agent-view.js renders it, agent-socket.js keeps the socket;
 * this module signs in and out and carries out the agent's actions.
 */

import { $, show, api, apiMessage, onSignedOut, SESSION_ENDED } from './common.js';
import { t } from './strings.js';
import { randomId } from '/livechatwidget/scripts/widget/wire.js';
import { state, conv, mergeSummary, isMine, addMessage } from './agent-model.js';
import {
  setError, renderLists, renderConversation, renderHistory, renderTranscript
} from './agent-view.js';
import { connect, closeSocket, scheduleReconnect, reconnectIfDown, flush, resume, maybeTyping, frameHandlers } from './agent-socket.js';
import { uploadAttachment, FILES_TEXT } from './agent-files.js';
import { initNotes, setNotes, renderNotes, onNoteFrame } from './agent-notes.js';
import { initCanned, reloadCanned } from './agent-canned.js';
import { initMyCanned } from './agent-canned-mine.js';
import { initPresence, bindPresence } from './agent-presence.js';
import { loadQueues } from './agent-queues.js';
import { bindTransfer } from './agent-transfer.js';
import { initSearch } from './agent-search.js';

const UNREACHABLE_RETRYING = t('unreachableRetrying');

export function showLogin(message) {
  state.me = null;
  closeSocket();
  show($('console'), false);
  show($('who'), false);
  show($('login'), true);
  var e = $('login-error');
  e.textContent = message || '';
  show(e, !!message);
  $('agent-email').focus();
}

function onLogin(ev) {
  ev.preventDefault();
  var email = $('agent-email').value.trim();
  var password = $('agent-password').value;
  var err = $('login-error');
  if (!email || !password) {
    err.textContent = t('enterEmailPassword');
    show(err, true);
    return;
  }
  $('agent-login').disabled = true;
  api('POST', '/api/v1/agent/login', { email: email, password: password })
    .then(function (r) {
      if (r.status === 200) {
        $('agent-password').value = '';
        show(err, false);
        return loadMe();
      }
      if (r.status === 0) err.textContent = t('signInUnreachable');
      else if (r.status === 401) err.textContent = t('wrongPassword');
      else if (r.status === 429) err.textContent = apiMessage(r, t('tooManySignIns'));
      else err.textContent = apiMessage(r, t('signInFailed'));
      show(err, true);
    })
    .then(function () {
      $('agent-login').disabled = false;
    });
}

function loadMe() {
  return api('GET', '/api/v1/agent/me').then(function (r) {
    if (r.status === 0) {
      showLogin(t('reloadUnreachable'));
      return;
    }
    if (r.status !== 200 || !r.body) {
      showLogin(r.status === 401 ? '' : apiMessage(r, t('loadAccountFailed')));
      return;
    }
    state.me = r.body;
    startConsole();
  });
}

function logout() {
  api('POST', '/api/v1/agent/logout').then(function () {
    state.convs = {};
    state.selected = null;
    state.listsLoaded = false;
    show($('conv'), false);
    show($('details'), false);
    show($('placeholder'), true);
    showLogin(t('signedOut'));
  });
}

export function startConsole() {
  show($('login'), false);
  show($('console'), true);
  show($('who'), true);
  $('who-name').textContent = (state.me.name || state.me.email || '') + (state.me.role ? ' \u00b7 ' + state.me.role : '');
  reloadCanned();
  initPresence(state.me);
  loadQueues(renderLists);
  refreshLists().then(function (ok) {
    if (ok) connect();
    else scheduleReconnect();
  });
}

/* Loads waiting + active conversations; a waiting one that is no longer listed was taken. */
export function refreshLists() {
  return Promise.all([
    api('GET', '/api/v1/agent/conversations?state=waiting'),
    api('GET', '/api/v1/agent/conversations?state=active')
  ]).then(function (rs) {
    if (rs.some(function (r) { return r.status === 0; })) {
      setError(UNREACHABLE_RETRYING);
      return false;
    }
    var seen = {};
    rs.forEach(function (r) {
      if (r.status === 401) return; // common.js has shown the sign-in form
      if (r.status !== 200 || !r.body || !Array.isArray(r.body.conversations)) {
        setError(apiMessage(r, t('loadConversationsFailed')));
        return;
      }
      r.body.conversations.forEach(function (s) {
        if (!s || typeof s.id !== 'string') return;
        seen[s.id] = true;
        mergeSummary(conv(s.id), s);
      });
    });
    if (rs.every(function (r) { return r.status === 200; })) {
      Object.keys(state.convs).forEach(function (k) {
        var c = state.convs[k];
        if (!seen[k] && c.state === 'waiting') c.state = 'gone';
      });
    }
    state.listsLoaded = true;
    renderLists();
    if (state.selected && state.convs[state.selected]) renderConversation();
    return true;
  });
}

export function select(id) {
  if (state.selected && state.convs[state.selected]) state.convs[state.selected].draft = $('agent-input').value;
  state.selected = id;
  var c = state.convs[id];
  if (!c) return;
  c.unread = 0;
  setError('');
  show($('placeholder'), false);
  show($('conv'), true);
  show($('details'), true);
  $('agent-input').value = c.draft || '';
  renderConversation();
  renderTranscript();
  renderNotes();
  renderLists();
  loadDetail(c);
}

function loadDetail(c) {
  api('GET', '/api/v1/agent/conversations/' + encodeURIComponent(c.id)).then(function (r) {
    if (r.status === 0) {
      if (state.selected === c.id) setError(t('unreachableNow'));
      return;
    }
    if (r.status === 401) return; // common.js has shown the sign-in form
    if (r.status !== 200 || !r.body) {
      if (state.selected === c.id) setError(apiMessage(r, t('loadConversationFailed')));
      return;
    }
    mergeSummary(c, r.body);
    c.rating = r.body.rating || null;
    c.loaded = true;
    if (Array.isArray(r.body.messages)) {
      r.body.messages.forEach(function (m) {
        addMessage(c, m);
      });
    }
    setNotes(c, r.body.notes);
    if (isMine(c)) resume(c);
    if (state.selected === c.id) {
      renderConversation();
      renderTranscript();
    }
    renderLists();
    if (c.contact && c.contact.id != null) loadHistory(c);
    else {
      c.history = [];
      if (state.selected === c.id) renderHistory();
    }
  });
}

function loadHistory(c) {
  api('GET', '/api/v1/contacts/' + encodeURIComponent(c.contact.id)).then(function (r) {
    if (r.status === 0) {
      c.historyError = t('historyUnreachable');
      if (state.selected === c.id) renderHistory();
      return;
    }
    if (r.status === 401) return; // common.js has shown the sign-in form
    if (r.status !== 200 || !r.body) {
      c.history = null;
      c.historyError = apiMessage(r, t('loadHistoryFailed'));
    } else {
      c.historyError = null;
      c.history = Array.isArray(r.body.activities) ? r.body.activities : [];
      if (r.body.contact && typeof r.body.contact === 'object') c.contact = r.body.contact;
    }
    if (state.selected === c.id) {
      renderConversation();
      renderHistory();
    }
  });
}

function sendReply() {
  var c = state.convs[state.selected];
  if (!c || !(c.state === 'active' && isMine(c))) return;
  var input = $('agent-input');
  var text = input.value;
  if (!text.trim()) return;
  if (text.length > 4000) {
    setError(t('textTooLong'));
    return;
  }
  input.value = '';
  c.draft = '';
  var p = { seq: 0, sender: 'agent', text: text, sent_at: new Date().toISOString(), client_msg_id: randomId(), status: 'pending', sentAt: 0 };
  c.byClient[p.client_msg_id] = p;
  c.pending.push(p);
  flush(c);
  renderTranscript();
}

/* A file from attach-input: uploaded into the open conversation, then sent as a message. */
function attachFile() {
  var input = $('attach-input');
  var file = input.files && input.files[0];
  input.value = '';
  var c = state.convs[state.selected];
  if (!file || !c) return;
  if (!(c.state === 'active' && isMine(c))) {
    setError(FILES_TEXT.notYours);
    return;
  }
  setError(FILES_TEXT.uploading);
  uploadAttachment(c.id, file).then(function (meta) {
    setError('');
    var p = { seq: 0, sender: 'agent', text: '', attachments: [meta], attachmentIds: [meta.id], sent_at: new Date().toISOString(), client_msg_id: randomId(), status: 'pending', sentAt: 0 };
    c.byClient[p.client_msg_id] = p;
    c.pending.push(p);
    flush(c);
    renderTranscript();
  }, function (why) {
    setError(String(why));
  });
}

function accept() {
  var c = state.convs[state.selected];
  if (!c) return;
  $('accept').disabled = true;
  api('POST', '/api/v1/agent/conversations/' + encodeURIComponent(c.id) + '/accept').then(function (r) {
    if (r.status === 200) {
      if (r.body && typeof r.body === 'object') mergeSummary(c, r.body);
      c.state = 'active';
      c.agent_id = state.me.id;
      setError('');
      renderLists();
      renderConversation();
      resume(c);
      loadDetail(c);
      $('agent-input').focus();
    } else if (r.status === 409) {
      setError(t('takenByOther'));
      c.state = 'active';
      c.agent_id = r.body && r.body.agent_id != null ? r.body.agent_id : 'other';
      renderLists();
      renderConversation();
    } else if (r.status !== 401) { // a 401: common.js has shown the sign-in form
      setError(apiMessage(r, t('acceptFailed')));
    }
  }).then(function () {
    $('accept').disabled = false;
  });
}

function endConversation() {
  var c = state.convs[state.selected];
  if (!c) return;
  $('end-conversation').disabled = true;
  api('POST', '/api/v1/agent/conversations/' + encodeURIComponent(c.id) + '/end').then(function (r) {
    if (r.status === 200) {
      c.state = 'ended';
      c.keepUntilClosed = true;
      setError('');
      renderLists();
      renderConversation();
    } else if (r.status !== 401) { // a 401: common.js has shown the sign-in form
      setError(apiMessage(r, t('endFailed')));
    }
  }).then(function () {
    $('end-conversation').disabled = false;
  });
}

function boot() {
  $('login-form').addEventListener('submit', onLogin);
  bindPresence();
  bindTransfer();
  $('logout').addEventListener('click', logout);
  $('accept').addEventListener('click', accept);
  $('end-conversation').addEventListener('click', endConversation);
  $('composer').addEventListener('submit', function (e) {
    e.preventDefault();
    sendReply();
  });
  $('agent-input').addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendReply();
    }
  });
  $('agent-input').addEventListener('input', maybeTyping);
  $('attach-input').addEventListener('change', attachFile);
  initNotes();
  initCanned();
  initMyCanned();
  frameHandlers.note = onNoteFrame;
  initSearch(select);
  window.addEventListener('online', reconnectIfDown);
  onSignedOut(function () {
    return state.me != null;
  }, function () {
    showLogin(SESSION_ENDED);
  });
  loadMe();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
