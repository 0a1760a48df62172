/*
 * The widget's entry module, imported by the bootstrapper (LiveChatBootstrapper.js) from the
 * chat service. mount() builds the widget once the page has a body, routes the socket's
 * frames, and hands back what window.VouchChat exposes.
 *
 * The modules, by job:
 *   strings.js, locale-*.js, errors.js — every sentence shown, in the page's language (one
 *     catalog a language; errors.js: the server's wire codes);
 *   view.js, styles.js — the shadow-root DOM and everything that changes it;
 *   http.js — where the service is, its REST routes, telling a refused origin from an outage;
 *   auth.js — the page's token function, and renewing the sign-in on an open socket;
 *   session.js — config, session create/reuse/renew, the widget's phase;
 *   transport.js — the socket: reconnect with back-off, resume, outbox, ack watch;
 *   messages.js — the log by seq, the outbox, acks;
 *   util.js — DOM builders, time, the guard; wire.js — ids and back-off, shared with the console;
 *   files.js — attachments (picker, drag and drop, previews) and the rating after the end.
 */

import { t, chooseLocale, useLocale } from './strings.js';
import { tokenRefused, frameErrorText } from './errors.js';
import { guard, guardErr, onInternalError } from './util.js';
import { site, configure } from './http.js';
import { reauthenticate, endReauth } from './auth.js';
import { onFrames, flushOutbox, scheduleFlush, maybeSendTyping, watchNetwork } from './transport.js';
import { contiguous, outbox, onMessage, onAck, failMessage, submitInput, submitAttachment } from './messages.js';
import { showSurvey } from './files.js';
import {
  session, phase, storage, expired, loadConfig, start, stop, newChat, rememberOpen, onConversation, onReauthenticated
} from './session.js';
import {
  ui, opened, errorKind, buildUi, setOpen, renderStatus, setError, clearError, showAgentTyping, showBroken,
  showQueue, hideQueue
} from './view.js';

/* error frames that say the message with that client_msg_id will never be stored */
const REFUSED_MESSAGE = ['text_too_long', 'empty_text', 'bad_client_msg_id', 'frame_too_large', 'bad_attachment'];

function onFrame(f) {
  switch (f.type) {
    case 'message':
      onMessage(f);
      break;
    case 'ack':
      onAck(f);
      break;
    case 'typing':
      if (f.sender !== 'customer') showAgentTyping();
      break;
    case 'conversation':
      onConversation(f);
      if (f.state === 'ended') showSurvey();
      if (f.state !== 'waiting') hideQueue();
      break;
    case 'survey':
      showSurvey();
      break;
    case 'queue':
      showQueue(f.position, f.estimated_wait_secs);
      break;
    case 'reauth_required':
      reauthenticate();
      break;
    case 'reauthenticated':
      endReauth();
      onReauthenticated(f.expires_at);
      if (errorKind === 'reauth') clearError('reauth');
      flushOutbox();
      break;
    case 'error':
      onErrorFrame(f);
      break;
    default:
      break; // unknown frames from a newer server are ignored
  }
}

function onErrorFrame(f) {
  const code = typeof f.error === 'string' ? f.error : '';
  if (code === 'reauth_required') {
    reauthenticate(); // our send raced the expiry: it stays in the outbox
    return;
  }
  if (code === 'invalid_token') {
    setError(tokenRefused(f.reason), 'reauth');
    return;
  }
  if (code === 'conversation_ended') {
    onConversation({ state: 'ended' });
    showSurvey();
    return;
  }
  if (code === 'rate_limited') scheduleFlush(1500);
  if (REFUSED_MESSAGE.indexOf(code) !== -1) failMessage(f.client_msg_id);
  setError(frameErrorText(code, f.message), 'frame');
}

function boot() {
  buildUi({
    openChanged: function (open) {
      rememberOpen(open);
      if (open && phase === 'idle') start();
    },
    submit: submitInput,
    typed: maybeSendTyping,
    newChat: newChat,
    sendAttachment: submitAttachment
  });
  renderStatus();
  if (typeof fetch !== 'function' || typeof WebSocket !== 'function' || !window.crypto) {
    stop(t('msg.unsupported'));
    return;
  }
  if (!site.appId) {
    stop(t('msg.notConfigured'));
    return;
  }
  watchNetwork();
  const stored = storage.load();
  loadConfig().catch(guardErr(function (err) {
    if (opened || stored) stop(err && err.fatal ? err.fatal : t('msg.unreachable'));
  }));
  if (stored && !expired(stored)) {
    // A reload mid-chat: pick the conversation up again.
    start();
    if (stored.open) setOpen(true, true);
  }
}

/*
 * Builds the widget for the snippet's <script> element (its data-app-id and data-org-url)
 * and returns {open(), close(), state()} for window.VouchChat.
 */
export function mount(script) {
  configure(script);
  onFrames(onFrame);
  onInternalError(showBroken);
  // The words first (the chosen language's catalog, a module of its own), then the widget.
  useLocale(chooseLocale(script)).then(guard(function () {
    if (document.body) boot();
    else document.addEventListener('DOMContentLoaded', guard(boot), { once: true });
  }));
  return {
    open: function () {
      if (ui) setOpen(true);
    },
    close: function () {
      if (ui) setOpen(false);
    },
    state: function () {
      return {
        phase: phase,
        verified: !!(session && session.verified),
        conversationId: session ? session.conversation_id : null,
        conversationState: session ? session.state : null,
        lastSeq: contiguous,
        pending: outbox.length
      };
    }
  };
}
