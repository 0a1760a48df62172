/*
 * vouch agent console (/agent), an ES module. Same origin as the API; the HttpOnly cookie set
 * by POST /api/v1/agent/login authenticates fetch() and the agent WebSocket, so this script
 * never sees a token (see common.js). All data is rendered with textContent.
 *
 * agent-model.js holds the state, agent-view.js renders it, agent-socket.js keeps the socket;
 * this module signs in and out and carries out the agent's actions.
 */

import { $, show, api, apiMessage, onSignedOut, SESSION_ENDED } from './common.js';
import { randomId } from '/livechatwidget/scripts/widget/wire.js';
import { state, conv, mergeSummary, isMine, addMessage } from './agent-model.js';
import {
  setError, renderLists, renderConversation, renderHistory, renderTranscript
} from './agent-view.js';
import { initSearch } from './agent-search.js';
import { connect, closeSocket, scheduleReconnect, reconnectIfDown, flush, resume, maybeTyping } from './agent-socket.js';

const UNREACHABLE_RETRYING = "The chat service can't be reached right now. We'll keep trying.";

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
    err.textContent = 'Enter your email and password.';
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
      if (r.status === 0) err.textContent = "The chat service can't be reached. Check your connection and try again.";
      else if (r.status === 401) err.textContent = 'Wrong email or password.';
      else if (r.status === 429) err.textContent = apiMessage(r, 'Too many sign-in attempts. Please wait a moment and try again.');
      else err.textContent = apiMessage(r, 'Sign-in failed');
      show(err, true);
    })
    .then(function () {
      $('agent-login').disabled = false;
    });
}

function loadMe() {
  return api('GET', '/api/v1/agent/me').then(function (r) {
    if (r.status === 0) {
      showLogin("The chat service can't be reached. Reload the page to try again.");
      return;
    }
    if (r.status !== 200 || !r.body) {
      showLogin(r.status === 401 ? '' : apiMessage(r, 'Could not load your account'));
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
    showLogin('You have signed out.');
  });
}

export function startConsole() {
  show($('login'), false);
  show($('console'), true);
  show($('who'), true);
  $('who-name').textContent = (state.me.name || state.me.email || '') + (state.me.role ? ' \u00b7 ' + state.me.role : '');
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
        setError(apiMessage(r, 'Could not load conversations'));
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
  renderLists();
  loadDetail(c);
}

function loadDetail(c) {
  api('GET', '/api/v1/agent/conversations/' + encodeURIComponent(c.id)).then(function (r) {
    if (r.status === 0) {
      if (state.selected === c.id) setError("The chat service can't be reached right now.");
      return;
    }
    if (r.status === 401) return; // common.js has shown the sign-in form
    if (r.status !== 200 || !r.body) {
      if (state.selected === c.id) setError(apiMessage(r, 'Could not load this conversation'));
      return;
    }
    mergeSummary(c, r.body);
    c.loaded = true;
    if (Array.isArray(r.body.messages)) {
      r.body.messages.forEach(function (m) {
        addMessage(c, m);
      });
    }
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
      c.historyError = "Earlier conversations can't be loaded right now.";
      if (state.selected === c.id) renderHistory();
      return;
    }
    if (r.status === 401) return; // common.js has shown the sign-in form
    if (r.status !== 200 || !r.body) {
      c.history = null;
      c.historyError = apiMessage(r, 'Could not load earlier conversations');
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
    setError('That message is too long (at most 4,000 characters).');
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
      setError('Another agent took this conversation.');
      c.state = 'active';
      c.agent_id = r.body && r.body.agent_id != null ? r.body.agent_id : 'other';
      renderLists();
      renderConversation();
    } else if (r.status !== 401) { // a 401: common.js has shown the sign-in form
      setError(apiMessage(r, 'Could not accept this conversation'));
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
      setError(apiMessage(r, 'Could not end this conversation'));
    }
  }).then(function () {
    $('end-conversation').disabled = false;
  });
}

function boot() {
  $('login-form').addEventListener('submit', onLogin);
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
