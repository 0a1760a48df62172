/*
 * The customer socket: connecting with back-off, resuming after the last message held
 * without a gap, writing the outbox (every un-acked message, again after each reconnect: the
 * server stores a client_msg_id once), noticing a socket that acks nothing, and going back to
 * a new session when the service keeps refusing this one. Frames are handed to the handler
 * main.js registers.
 */

import { t } from './strings.js';
import { guard } from './util.js';
import { backoff, quietClose } from './wire.js';
import { socketUrl, reachable } from './http.js';
import { renderStatus, setError, clearError, setInputEnabled, setMsgStatus, ui } from './view.js';
import { contiguous, outbox, markUnsent } from './messages.js';
import { reauthing, endReauth } from './auth.js';
import { session, phase, setPhase, expired, renewSession, stop } from './session.js';

const TYPING_SEND_MS = 2000;
const ACK_TIMEOUT_MS = 15000; // an open socket that acks nothing this long is presumed dead

let ws = null;
let wsOpened = false; // the current socket reached onopen
let attempt = 0; // reconnect attempts since the last open
let failsBeforeOpen = 0; // sockets in a row that closed before opening
let reconnectTimer = null;
let ackTimer = null;
let flushTimer = null;
let lastTypingSent = 0;
let onFrame = function () {};

/* Where parsed frames (JSON objects) go. */
export function onFrames(handler) {
  onFrame = handler;
}

export function isOpen() {
  return !!ws && ws.readyState === 1;
}

export function canSend() {
  return isOpen() && phase === 'open' && !reauthing;
}

export function sendFrame(obj) {
  try {
    ws.send(JSON.stringify(obj));
    return true;
  } catch (e) {
    return false;
  }
}

/* Closes the socket without reacting to its close. */
export function closeSocket() {
  if (!ws) return;
  const old = ws;
  ws = null;
  quietClose(old);
}

/* Stops reconnecting (a new chat starts). */
export function cancelReconnect() {
  clearTimeout(reconnectTimer);
}

/* A new session: sockets refused before it no longer count. */
export function forgetFailures() {
  failsBeforeOpen = 0;
}

/* Opens the socket for the current session (unless ended, stopped or offline). */
export function connect() {
  clearTimeout(reconnectTimer);
  reconnectTimer = null;
  if (!session || phase === 'ended' || phase === 'stopped') return;
  setInputEnabled(true); // while (re)connecting, messages wait in the outbox
  if (navigator.onLine === false) {
    setPhase('connecting');
    setError(t('msg.offline'), 'network');
    renderStatus(t('status.offline'));
    return; // the 'online' event brings us back
  }
  closeSocket();
  setPhase('connecting');
  renderStatus(attempt ? t('status.reconnecting') : t('status.connecting'));
  let sock;
  try {
    sock = new WebSocket(socketUrl(session.session_token));
  } catch (e) {
    stop(t('msg.unreachable'));
    return;
  }
  ws = sock;
  wsOpened = false;
  sock.onopen = guard(function () {
    if (ws !== sock) return;
    wsOpened = true;
    attempt = 0;
    failsBeforeOpen = 0;
    setPhase('open');
    clearError('network');
    renderStatus();
    setInputEnabled(true);
    sendFrame({ type: 'resume', after_seq: contiguous });
    flushOutbox();
  });
  sock.onmessage = guard(function (ev) {
    if (ws !== sock || typeof ev.data !== 'string') return;
    let f;
    try {
      f = JSON.parse(ev.data);
    } catch (e) {
      return;
    }
    if (f && typeof f === 'object') onFrame(f);
  });
  sock.onclose = guard(function () {
    if (ws !== sock) return;
    ws = null;
    onSocketLost();
  });
  sock.onerror = function () {
    /* onclose follows */
  };
}

function onSocketLost() {
  if (phase === 'ended' || phase === 'stopped') return;
  if (!wsOpened) failsBeforeOpen++;
  setPhase('connecting');
  endReauth();
  markUnsent();
  if (navigator.onLine === false) {
    setError(t('msg.offline'), 'network');
    renderStatus(t('status.offline'));
    return;
  }
  if (session && expired(session)) {
    renewSession();
    return;
  }
  if (failsBeforeOpen >= 3) {
    // The upgrade keeps failing. If the service answers plain requests, it is
    // refusing this session (browsers hide the 401): start a new one.
    reachable().then(guard(function (up) {
      if (phase !== 'connecting') return;
      if (up) renewSession();
      else scheduleReconnect();
    }));
    return;
  }
  scheduleReconnect();
}

function scheduleReconnect() {
  const delay = backoff(attempt++);
  if (attempt > 1) setError(t('msg.unreachable'), 'network');
  renderStatus(t('status.reconnecting'));
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(guard(connect), delay);
}

/* The browser's offline/online events: drop the socket at once, reconnect at once. */
export function watchNetwork() {
  window.addEventListener('offline', guard(function () {
    if (session && phase !== 'ended' && phase !== 'stopped') {
      closeSocket();
      onSocketLost();
    }
  }));
  window.addEventListener('online', guard(function () {
    if (session && phase === 'connecting' && !ws) {
      attempt = 0;
      connect();
    }
  }));
}

// ------------------------------------------------------------------ outbox

/* Writes every un-acked message to the socket (same client_msg_id: the server stores each once). */
export function flushOutbox() {
  if (!canSend()) return;
  const now = Date.now();
  outbox.forEach(function (rec) {
    const frame = { type: 'send', client_msg_id: rec.id, text: rec.text };
    if (rec.attachments && rec.attachments.length) frame.attachments = rec.attachments;
    if (sendFrame(frame)) {
      rec.sentAt = now;
      if (rec.status !== 'delivered') setMsgStatus(rec, 'sent');
    }
  });
  armAckWatch();
}

/* While messages wait for their ack: a socket that looks open but acks nothing is closed. */
function armAckWatch() {
  if (ackTimer || !outbox.length) return;
  ackTimer = setInterval(guard(function () {
    if (!outbox.length) {
      clearInterval(ackTimer);
      ackTimer = null;
      return;
    }
    const now = Date.now();
    const stale = outbox.some(function (m) {
      return m.sentAt && now - m.sentAt > ACK_TIMEOUT_MS;
    });
    if (stale && isOpen() && !reauthing) {
      // The socket looks open but nothing comes back: reconnect and resend.
      outbox.forEach(function (m) {
        m.sentAt = 0;
      });
      try {
        ws.close(4000, 'no ack');
      } catch (e) {
        /* ignore */
      }
    }
  }), 1000);
}

/* Flushes the outbox once, `ms` from now (after a rate_limited answer). */
export function scheduleFlush(ms) {
  if (flushTimer) return;
  flushTimer = setTimeout(guard(function () {
    flushTimer = null;
    flushOutbox();
  }), ms);
}

/* A typing frame, at most one every TYPING_SEND_MS while the composer has text. */
export function maybeSendTyping() {
  const now = Date.now();
  if (!canSend() || now - lastTypingSent < TYPING_SEND_MS || !ui.input.value) return;
  lastTypingSent = now;
  sendFrame({ type: 'typing' });
}
