/*
 * The agent socket (/api/v1/agent/ws, cookie-authenticated): reconnect with back-off, resume
 * each of my active conversations after its last gap-free seq, write unacknowledged replies
 * again (the server stores a client_msg_id once), and apply the frames it brings.
 */

import { backoff, quietClose } from '/livechatwidget/scripts/widget/wire.js';
import { $, api } from './common.js';
import { t } from './strings.js';
import { state, conv, mergeSummary, isMine, addMessage, TYPING_SHOW_MS } from './agent-model.js';
import { setError, setConn, renderLists, renderConversation, renderTranscript, renderTyping } from './agent-view.js';
import { refreshLists, startConsole } from './agent.js';
import { onPresenceFrame } from './agent-presence.js';

const TYPING_SEND_MS = 2000;
const ACK_TIMEOUT_MS = 15000; // an open socket that acks nothing this long is presumed dead

let ws = null;
let attempt = 0; // reconnect attempts since the last open
let reconnectTimer = null;
let lastTypingSent = 0;
let ackTimer = null;

export function flush(c) {
  if (!ws || ws.readyState !== 1) return;
  var now = Date.now();
  c.pending.forEach(function (p) {
    try {
      var frame = { type: 'send', conversation_id: c.id, client_msg_id: p.client_msg_id, text: p.text };
      if (p.attachmentIds && p.attachmentIds.length) frame.attachments = p.attachmentIds;
      ws.send(JSON.stringify(frame));
      p.sentAt = now;
      if (p.status === 'pending') p.status = 'sent';
    } catch (e) {
      /* the socket is closing: the reconnect flushes again */
    }
  });
  if (c.pending.length && !ackTimer) {
    ackTimer = setInterval(checkAcks, 1000);
  }
}

function checkAcks() {
  var now = Date.now();
  var any = false;
  var stale = false;
  Object.keys(state.convs).forEach(function (k) {
    state.convs[k].pending.forEach(function (p) {
      any = true;
      if (p.sentAt && now - p.sentAt > ACK_TIMEOUT_MS) stale = true;
    });
  });
  if (!any) {
    clearInterval(ackTimer);
    ackTimer = null;
  } else if (stale && ws && ws.readyState === 1) {
    try {
      ws.close(4000, 'no ack');
    } catch (e) {
      /* ignore */
    }
  }
}

export function maybeTyping() {
  var c = state.convs[state.selected];
  var now = Date.now();
  if (!c || !ws || ws.readyState !== 1 || !isMine(c) || c.state !== 'active') return;
  if (now - lastTypingSent < TYPING_SEND_MS || !$('agent-input').value) return;
  lastTypingSent = now;
  ws.send(JSON.stringify({ type: 'typing', conversation_id: c.id }));
}

export function resume(c) {
  if (ws && ws.readyState === 1) {
    ws.send(JSON.stringify({ type: 'resume', conversation_id: c.id, after_seq: c.contiguous }));
  }
}

export function closeSocket() {
  clearTimeout(reconnectTimer);
  if (!ws) return;
  var old = ws;
  ws = null;
  quietClose(old);
}

export function connect() {
  closeSocket();
  if (!state.me) return;
  var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/agent/ws';
  var sock;
  try {
    sock = new WebSocket(url);
  } catch (e) {
    scheduleReconnect();
    return;
  }
  ws = sock;
  setConn(attempt ? t('reconnecting') : t('connecting'), false);
  sock.onopen = function () {
    if (ws !== sock) return;
    attempt = 0;
    setConn(t('online'), true);
    setError('');
    refreshLists();
    Object.keys(state.convs).forEach(function (k) {
      var c = state.convs[k];
      if (isMine(c) && c.state === 'active') {
        resume(c);
        flush(c);
      }
    });
  };
  sock.onmessage = function (ev) {
    if (ws !== sock || typeof ev.data !== 'string') return;
    var f;
    try {
      f = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    try {
      if (f && typeof f === 'object') onFrame(f);
    } catch (e) {
      setError(t('updateFailed', { detail: e && e.message ? e.message : e }));
    }
  };
  sock.onclose = function () {
    if (ws !== sock) return;
    ws = null;
    Object.keys(state.convs).forEach(function (k) {
      state.convs[k].pending.forEach(function (p) {
        p.sentAt = 0;
      });
    });
    // A refused upgrade (expired cookie) looks like any other close: ask who we are.
    // (A 401 sends the page back to sign-in: see common.js.)
    api('GET', '/api/v1/agent/me').then(function (r) {
      if (r.status !== 401) scheduleReconnect();
    });
  };
}

/* The browser is back online: connect at once if signed in and not connected. */
export function reconnectIfDown() {
  if (state.me && !ws) {
    attempt = 0;
    connect();
  }
}

export function scheduleReconnect() {
  if (!state.me) return;
  var delay = backoff(attempt++);
  setConn(t('offlineReconnecting'), false);
  if (attempt > 1) setError(t('unreachableRetrying'));
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(function () {
    if (!state.listsLoaded) startConsole();
    else connect();
  }, delay);
}

function onFrame(f) {
  var id = typeof f.conversation_id === 'string' ? f.conversation_id : null;
  switch (f.type) {
    case 'conversation': {
      if (!id) return;
      var c = conv(id);
      var wasMine = isMine(c);
      var wasWaiting = c.state === 'waiting';
      mergeSummary(c, f);
      if (state.selected === id && wasWaiting && c.state === 'active' && !isMine(c)) {
        setError(t('takenByOther'));
      }
      if (c.state === 'ended') c.keepUntilClosed = wasMine || isMine(c);
      renderLists();
      if (state.selected === id) renderConversation();
      break;
    }
    case 'message': {
      if (!id) return;
      var cm = conv(id);
      if (addMessage(cm, f)) {
        if (state.selected === id) renderTranscript();
        else if (f.sender === 'customer') {
          cm.unread++;
          renderLists();
        }
        if (f.sender === 'customer') {
          cm.typingUntil = 0;
          if (state.selected === id) renderTyping();
        }
      }
      break;
    }
    case 'ack': {
      Object.keys(state.convs).forEach(function (k) {
        var cc = state.convs[k];
        var p = cc.byClient[f.client_msg_id];
        if (!p) return;
        p.status = 'delivered';
        var s = Number(f.seq);
        if (s > 0 && !p.seq) {
          p.seq = s;
          if (!cc.messages[s]) {
            cc.messages[s] = p;
            while (cc.messages[cc.contiguous + 1]) cc.contiguous++;
          }
        }
        cc.pending = cc.pending.filter(function (x) {
          return x !== p;
        });
        if (state.selected === k) renderTranscript();
      });
      break;
    }
    case 'presence':
      onPresenceFrame(f);
      break;
    case 'typing': {
      if (!id || f.sender === 'agent') return;
      var ct = conv(id);
      ct.typingUntil = Date.now() + TYPING_SHOW_MS;
      if (state.selected === id) renderTyping();
      setTimeout(function () {
        if (state.selected === id) renderTyping();
      }, TYPING_SHOW_MS + 50);
      break;
    }
    case 'error': {
      var code = typeof f.error === 'string' ? f.error : 'error';
      if (code === 'rate_limited') {
        setTimeout(function () {
          Object.keys(state.convs).forEach(function (k) {
            flush(state.convs[k]);
          });
        }, 1500);
      }
      setError(typeof f.message === 'string' && f.message ? f.message : t('refused', { code: code }));
      break;
    }
    default:
      if (frameHandlers[f.type]) frameHandlers[f.type](f, conv);
      break;
  }
}

/* Handlers of further frame types by `type` (feature modules register theirs: `note`, …). */
export const frameHandlers = {};
