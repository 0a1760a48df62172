/*
 * vouch chat widget (served as /livechatwidget/scripts/LiveChatBootstrapper.js).
 *
 * Loaded cross-origin into the customer's site with the Omnichannel snippet:
 *   <script id="Microsoft_Omnichannel_LCWidget" src=".../LiveChatBootstrapper.js"
 *           data-app-id="…" data-org-url="https://chat.example"></script>
 *
 * Rules this file keeps:
 * - one global only, window.VouchChat; everything else lives in this closure;
 * - renders in an open shadow root, styled by a constructable stylesheet
 *   (the host page's CSP may forbid inline <style> and style attributes);
 * - every piece of data is rendered with textContent, never parsed as HTML;
 * - the session token travels in a URL only for the WebSocket upgrade;
 * - every failure ends as a plain sentence in chat-error, and nothing thrown
 *   here reaches the host page.
 */
(function () {
  'use strict';

  if (window.VouchChat && window.VouchChat.loaded) {
    return; // the snippet was pasted twice: one widget is enough
  }

  var SCRIPT = document.getElementById('Microsoft_Omnichannel_LCWidget') || document.currentScript;

  var AUTH_WAIT_MS = 10000; // how long the page may take to define the auth function
  var AUTH_POLL_MS = 100;
  var AUTH_CALLBACK_MS = 10000; // how long the auth function may take to call back
  var TYPING_SEND_MS = 2000;
  var TYPING_SHOW_MS = 4000;
  var ACK_TIMEOUT_MS = 15000; // an open socket that acks nothing this long is presumed dead
  var BACKOFF_BASE_MS = 500;
  var BACKOFF_MAX_MS = 30000;
  var MAX_TEXT = 4000;

  var MSG = {
    unreachable: "The chat service can't be reached right now. We'll keep trying.",
    offline: "You appear to be offline. We'll reconnect when you're back online.",
    originNotAllowed: 'This site is not allowed to use this chat.',
    signIn: 'Please sign in to chat with us.',
    unknownWidget: 'This chat is not set up correctly (unknown widget). Please contact the site owner.',
    notConfigured: 'This chat is not set up correctly (the snippet has no data-app-id). Please contact the site owner.',
    serverTrouble: "The chat service is having trouble right now. We'll keep trying.",
    busy: "The chat service is busy right now. We'll keep trying.",
    sessionLost: 'Your chat session has ended. Start a new chat to continue.',
    reauthFailed: 'Your sign-in has ended. Please sign in again to keep chatting.',
    unsupported: 'This browser cannot run the chat (it lacks WebSocket or fetch support).'
  };

  var REASONS = {
    malformed: 'the sign-in token is malformed',
    unsupported_alg: 'the token uses an unsupported algorithm',
    forbidden_header: 'the token has a forbidden header',
    unknown_kid: 'the signing key is unknown',
    bad_signature: 'the signature does not match',
    expired: 'the sign-in has expired',
    not_yet_valid: 'the token is not valid yet',
    missing_claim: 'the token lacks a required claim',
    invalid_claim: 'the token has an invalid claim',
    wrong_issuer: 'the token comes from the wrong issuer',
    key_unavailable: "the site's signing key could not be fetched"
  };

  var FRAME_ERRORS = {
    text_too_long: 'That message is too long (at most 4,000 characters).',
    empty_text: 'An empty message cannot be sent.',
    rate_limited: "You're sending messages very fast; we'll send the rest in a moment.",
    conversation_ended: 'This chat has ended.',
    frame_too_large: 'That message is too large to send.',
    forbidden: 'That is not allowed in this chat.',
    internal: "Something went wrong on our side. We'll keep trying."
  };

  // ---------------------------------------------------------------- helpers

  function attr(name) {
    var v = SCRIPT && SCRIPT.getAttribute ? SCRIPT.getAttribute(name) : null;
    return v == null ? '' : String(v).trim();
  }

  function orgBase() {
    var url = attr('data-org-url');
    if (!url && SCRIPT && SCRIPT.src) {
      try {
        url = new URL(SCRIPT.src, location.href).origin;
      } catch (e) {
        url = '';
      }
    }
    return url.replace(/\/+$/, '');
  }

  function el(tag, cls, testid) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (testid) e.setAttribute('data-testid', testid);
    return e;
  }

  function svg(pathD) {
    var ns = 'http://www.w3.org/2000/svg';
    var s = document.createElementNS(ns, 'svg');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('width', '26');
    s.setAttribute('height', '26');
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('focusable', 'false');
    var p = document.createElementNS(ns, 'path');
    p.setAttribute('d', pathD);
    p.setAttribute('fill', 'currentColor');
    s.appendChild(p);
    return s;
  }

  var ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  function randomId() {
    var bytes = new Uint8Array(22);
    crypto.getRandomValues(bytes);
    var out = '';
    for (var i = 0; i < bytes.length; i++) out += ID_CHARS.charAt(bytes[i] & 63);
    return out;
  }

  function jitter(attempt) {
    var cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, Math.min(attempt, 16)));
    return Math.round(cap / 2 + Math.random() * (cap / 2));
  }

  function tokenSub(token) {
    try {
      var part = token.split('.')[1];
      var b64 = part.replace(/-/g, '+').replace(/_/g, '/');
      while (b64.length % 4) b64 += '=';
      var claims = JSON.parse(atob(b64));
      return typeof claims.sub === 'string' ? claims.sub : null;
    } catch (e) {
      return null;
    }
  }

  function contactName(c) {
    if (!c) return '';
    var n = [c.given_name, c.family_name].filter(function (x) {
      return typeof x === 'string' && x.trim();
    }).join(' ');
    return n || c.preferred_username || c.email || '';
  }

  function formatTime(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d.getTime())) d = new Date();
    try {
      return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    } catch (e) {
      return '';
    }
  }

  var storage = {
    key: function () {
      return 'vouch-chat:' + appId;
    },
    load: function () {
      try {
        var raw = window.sessionStorage.getItem(this.key());
        var s = raw ? JSON.parse(raw) : null;
        return s && typeof s.session_token === 'string' ? s : null;
      } catch (e) {
        return null;
      }
    },
    save: function (s) {
      try {
        window.sessionStorage.setItem(this.key(), JSON.stringify(s));
      } catch (e) {
        /* storage unavailable: the chat still works, it just won't survive a reload */
      }
    },
    clear: function () {
      try {
        window.sessionStorage.removeItem(this.key());
      } catch (e) {
        /* ignore */
      }
    }
  };

  // ------------------------------------------------------------------ state

  var appId = attr('data-app-id');
  var org = orgBase();

  var ui = null; // DOM references, built once
  var config = null; // {title, require_auth, auth}
  var configPromise = null;
  var configError = null; // last transient failure while loading the config
  var session = null; // {session_token, conversation_id, verified, contact, expires_at, sub, state}
  var phase = 'idle'; // idle | starting | connecting | open | ended | stopped
  var ws = null;
  var wsOpened = false;
  var attempt = 0; // reconnect attempts since the last open
  var failsBeforeOpen = 0;
  var reconnectTimer = null;
  var reauthing = false;
  var held = {}; // seq -> element
  var contiguous = 0; // highest seq such that 1..seq are all held
  var outbox = []; // un-acked own messages {id, text, el, sentAt}
  var byClientId = {}; // client_msg_id -> message record
  var lastTypingSent = 0;
  var typingTimer = null;
  var ackTimer = null;
  var flushTimer = null;
  var errorKind = null;
  var opened = false;

  // -------------------------------------------------------------------- CSS

  var CSS = [
    ':host{all:initial}',
    '*,*::before,*::after{box-sizing:border-box}',
    '[hidden]{display:none!important}',
    '.root{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2933;-webkit-font-smoothing:antialiased}',
    '.launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:58px;height:58px;border-radius:50%;border:0;cursor:pointer;',
    'background:#2457c5;color:#fff;display:flex;align-items:center;justify-content:center;box-shadow:0 6px 20px rgba(16,24,40,.28);transition:transform .15s,background .15s}',
    '.launcher:hover{background:#1d48a6;transform:translateY(-1px)}',
    '.launcher:focus-visible,.btn:focus-visible,.close:focus-visible,textarea:focus-visible{outline:3px solid #9cb8f5;outline-offset:2px}',
    '.badge{position:absolute;top:2px;right:2px;min-width:18px;height:18px;border-radius:9px;background:#d92d20;color:#fff;font-size:11px;font-weight:700;line-height:18px;text-align:center;padding:0 5px}',
    '.panel{position:fixed;right:20px;bottom:92px;z-index:2147483000;width:min(370px,calc(100vw - 24px));height:min(560px,calc(100vh - 112px));',
    'display:flex;flex-direction:column;background:#fff;border-radius:16px;overflow:hidden;box-shadow:0 18px 48px rgba(16,24,40,.28),0 2px 6px rgba(16,24,40,.12)}',
    '.head{background:linear-gradient(135deg,#2457c5,#3a6fe0);color:#fff;padding:14px 14px 12px 18px;display:flex;align-items:flex-start;gap:8px}',
    '.head-text{flex:1;min-width:0}',
    '.title{margin:0;font-size:16px;font-weight:650;line-height:1.3;overflow-wrap:anywhere}',
    '.status{margin-top:3px;font-size:12px;opacity:.92;overflow-wrap:anywhere}',
    '.status .dot{display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:6px;background:#f5b400;vertical-align:0}',
    '.status.verified .dot{background:#3ddc84}',
    '.status.offline .dot{background:#98a2b3}',
    '.close{border:0;background:transparent;color:#fff;cursor:pointer;width:32px;height:32px;border-radius:8px;font-size:22px;line-height:1;padding:0}',
    '.close:hover{background:rgba(255,255,255,.16)}',
    '.error{margin:0;padding:9px 14px;background:#fef3f2;color:#b42318;border-bottom:1px solid #fecdca;font-size:13px;overflow-wrap:anywhere}',
    '.log{flex:1;overflow-y:auto;padding:14px 14px 6px;background:#f6f8fb;display:flex;flex-direction:column;gap:8px}',
    '.empty{margin:auto;color:#667085;text-align:center;font-size:13px;padding:20px}',
    '.row{display:flex;flex-direction:column;max-width:82%}',
    '.row.customer{align-self:flex-end;align-items:flex-end}',
    '.row.agent{align-self:flex-start;align-items:flex-start}',
    '.row.system{align-self:center;align-items:center;max-width:92%}',
    '.bubble{padding:8px 12px;border-radius:16px;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}',
    '.customer .bubble{background:#2457c5;color:#fff;border-bottom-right-radius:5px}',
    '.agent .bubble{background:#fff;color:#1f2933;border:1px solid #e4e7ec;border-bottom-left-radius:5px}',
    '.system .bubble{background:transparent;color:#667085;font-size:12px;padding:2px 6px;text-align:center}',
    '.bubble[data-status="pending"]{opacity:.7}',
    '.bubble[data-status="failed"]{background:#fda29b}',
    '.meta{font-size:11px;color:#667085;margin:2px 4px 0}',
    '.typing{padding:2px 16px 6px;font-size:12px;color:#667085;font-style:italic;background:#f6f8fb}',
    '.bar{padding:10px 14px;background:#f6f8fb;border-top:1px solid #e4e7ec;display:flex;justify-content:center}',
    '.btn{border:0;border-radius:10px;background:#2457c5;color:#fff;font:inherit;font-weight:600;padding:8px 14px;cursor:pointer}',
    '.btn:hover{background:#1d48a6}',
    '.btn:disabled{background:#b2c3e8;cursor:default}',
    '.composer{display:flex;gap:8px;align-items:flex-end;padding:10px 12px;border-top:1px solid #e4e7ec;background:#fff}',
    'textarea{flex:1;resize:none;font:inherit;color:inherit;border:1px solid #d0d5dd;border-radius:12px;padding:8px 12px;min-height:40px;max-height:120px;background:#fff}',
    'textarea:disabled{background:#f2f4f7}',
    '@media (max-width:480px){.panel{right:12px;bottom:84px}.launcher{right:14px;bottom:14px}}'
  ].join('\n');

  function applyStyles(shadow) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } catch (e) {
      // Very old engines: a <style> element (may be refused by a strict page CSP).
      var st = document.createElement('style');
      st.textContent = CSS;
      shadow.appendChild(st);
    }
  }

  // --------------------------------------------------------------------- UI

  function buildUi() {
    var host = document.createElement('vouch-chat');
    host.setAttribute('data-vouch-chat', '');
    var shadow = host.attachShadow({ mode: 'open' });
    applyStyles(shadow);

    var root = el('div', 'root');

    var launcher = el('button', 'launcher', 'chat-launcher');
    launcher.type = 'button';
    launcher.setAttribute('aria-label', 'Open chat');
    launcher.setAttribute('aria-expanded', 'false');
    launcher.appendChild(svg('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2zm3 6a1.3 1.3 0 1 0 0 2.6A1.3 1.3 0 0 0 7 10zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6z'));
    var unread = el('span', 'badge');
    unread.hidden = true;
    launcher.appendChild(unread);

    var panel = el('section', 'panel', 'chat-panel');
    panel.hidden = true;
    panel.setAttribute('role', 'dialog');
    panel.id = 'vouch-chat-panel';
    launcher.setAttribute('aria-controls', panel.id);

    var head = el('header', 'head');
    var headText = el('div', 'head-text');
    var title = el('h2', 'title');
    title.id = 'vouch-chat-title';
    title.textContent = 'Chat with us';
    panel.setAttribute('aria-labelledby', title.id);
    var status = el('div', 'status', 'chat-status');
    status.setAttribute('aria-live', 'polite');
    var close = el('button', 'close');
    close.type = 'button';
    close.setAttribute('aria-label', 'Close chat');
    close.textContent = '\u00d7';
    headText.appendChild(title);
    headText.appendChild(status);
    head.appendChild(headText);
    head.appendChild(close);

    var error = el('p', 'error', 'chat-error');
    error.setAttribute('role', 'alert');
    error.hidden = true;

    var log = el('div', 'log');
    log.setAttribute('role', 'log');
    log.setAttribute('aria-live', 'polite');
    log.setAttribute('aria-label', 'Conversation');
    var empty = el('div', 'empty');
    empty.textContent = 'Ask us anything \u2014 we usually answer within a few minutes.';
    log.appendChild(empty);

    var typing = el('div', 'typing');
    typing.hidden = true;
    typing.textContent = 'Agent is typing\u2026';

    var bar = el('div', 'bar');
    bar.hidden = true;
    var again = el('button', 'btn');
    again.type = 'button';
    again.textContent = 'Start a new chat';
    bar.appendChild(again);

    var composer = el('form', 'composer');
    composer.setAttribute('novalidate', '');
    var input = el('textarea', '', 'chat-input');
    input.rows = 1;
    input.maxLength = MAX_TEXT;
    input.placeholder = 'Type your message\u2026';
    input.setAttribute('aria-label', 'Message');
    var send = el('button', 'btn', 'chat-send');
    send.type = 'submit';
    send.textContent = 'Send';
    composer.appendChild(input);
    composer.appendChild(send);

    panel.appendChild(head);
    panel.appendChild(error);
    panel.appendChild(log);
    panel.appendChild(typing);
    panel.appendChild(bar);
    panel.appendChild(composer);
    root.appendChild(panel);
    root.appendChild(launcher);
    shadow.appendChild(root);

    launcher.addEventListener('click', guard(function () {
      setOpen(!opened);
    }));
    close.addEventListener('click', guard(function () {
      setOpen(false);
      launcher.focus();
    }));
    panel.addEventListener('keydown', guard(function (e) {
      if (e.key === 'Escape') {
        setOpen(false);
        launcher.focus();
      }
    }));
    composer.addEventListener('submit', guard(function (e) {
      e.preventDefault();
      submitInput();
    }));
    input.addEventListener('keydown', guard(function (e) {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        submitInput();
      }
    }));
    input.addEventListener('input', guard(function () {
      maybeSendTyping();
    }));
    again.addEventListener('click', guard(function () {
      newChat();
    }));

    (document.body || document.documentElement).appendChild(host);

    return {
      host: host, shadow: shadow, launcher: launcher, unread: unread, panel: panel, title: title,
      status: status, error: error, log: log, empty: empty, typing: typing, bar: bar, again: again,
      input: input, send: send, unreadCount: 0
    };
  }

  function setOpen(open, auto) {
    opened = open;
    ui.panel.hidden = !open;
    ui.launcher.setAttribute('aria-expanded', open ? 'true' : 'false');
    ui.launcher.setAttribute('aria-label', open ? 'Close chat' : 'Open chat');
    if (session) {
      session.open = open;
      storage.save(session);
    }
    if (open) {
      ui.unreadCount = 0;
      ui.unread.hidden = true;
      if (phase === 'idle') start();
      scrollToEnd();
      if (!auto && !ui.input.disabled) ui.input.focus();
    }
  }

  function setError(text, kind) {
    errorKind = kind || 'general';
    ui.error.textContent = text;
    ui.error.hidden = !text;
  }

  function clearError(kind) {
    if (kind && errorKind !== kind) return;
    errorKind = null;
    ui.error.textContent = '';
    ui.error.hidden = true;
  }

  var STATE_TEXT = {
    waiting: 'Waiting for an agent\u2026',
    active: 'Chatting with support',
    ended: 'This chat has ended.'
  };

  function renderStatus(extra) {
    var s = ui.status;
    while (s.firstChild) s.removeChild(s.firstChild);
    var parts = [];
    var cls = 'status';
    if (session) {
      if (session.verified) {
        var name = contactName(session.contact);
        parts.push((name ? 'Signed in as ' + name : 'Signed in') + ' \u00b7 verified');
        cls += ' verified';
      } else {
        parts.push('Chatting as a guest \u00b7 not verified');
      }
      if (STATE_TEXT[session.state]) parts.push(STATE_TEXT[session.state]);
    }
    if (extra) parts.push(extra);
    if (phase !== 'open' && phase !== 'ended') cls += ' offline';
    s.className = cls;
    s.appendChild(el('span', 'dot'));
    s.appendChild(document.createTextNode(parts.join(' \u00b7 ') || 'Chat'));
  }

  function setInputEnabled(on) {
    ui.input.disabled = !on;
    ui.send.disabled = !on;
  }

  function scrollToEnd() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  // ---------------------------------------------------------------- messages

  function insertRow(row, seq) {
    if (ui.empty.parentNode) ui.log.removeChild(ui.empty);
    // Keep rows in seq order; rows without a seq (still pending) stay last.
    var kids = ui.log.children;
    var before = null;
    if (seq) {
      for (var i = 0; i < kids.length; i++) {
        var ks = Number(kids[i].getAttribute('data-seq') || 0);
        if (!ks || ks > seq) {
          before = kids[i];
          break;
        }
      }
    }
    ui.log.insertBefore(row, before);
  }

  function makeRow(sender, text, sentAt) {
    var s = sender === 'customer' || sender === 'agent' ? sender : 'system';
    var row = el('div', 'row ' + s);
    var bubble = el('div', 'bubble', 'chat-message');
    bubble.setAttribute('data-sender', s);
    bubble.textContent = text;
    row.appendChild(bubble);
    var meta = el('div', 'meta');
    if (s !== 'system') {
      meta.textContent = (s === 'agent' ? 'Support \u00b7 ' : '') + formatTime(sentAt);
      row.appendChild(meta);
    }
    return { row: row, bubble: bubble, meta: meta, time: formatTime(sentAt) };
  }

  function setSeq(rec, seq) {
    rec.seq = seq;
    rec.row.setAttribute('data-seq', String(seq));
    rec.bubble.setAttribute('data-seq', String(seq));
    if (rec.row.parentNode) rec.row.parentNode.removeChild(rec.row);
    insertRow(rec.row, seq);
    hold(seq, rec);
  }

  function hold(seq, rec) {
    held[seq] = rec;
    while (held[contiguous + 1]) contiguous++;
  }

  var STATUS_LABEL = { pending: 'Sending\u2026', sent: 'Sent', delivered: 'Delivered', failed: 'Not sent' };

  function setMsgStatus(rec, st) {
    rec.status = st;
    rec.bubble.setAttribute('data-status', st);
    rec.meta.textContent = rec.time + ' \u00b7 ' + STATUS_LABEL[st];
  }

  function onMessage(f) {
    var seq = Number(f.seq);
    if (!(seq > 0) || held[seq]) return; // duplicate (resume overlap, second socket): drop
    if (f.sender === 'customer' && typeof f.client_msg_id === 'string' && byClientId[f.client_msg_id]) {
      var mine = byClientId[f.client_msg_id];
      if (!mine.seq) setSeq(mine, seq);
      return;
    }
    var text = typeof f.text === 'string' ? f.text : '';
    var r = makeRow(f.sender, text, f.sent_at);
    var rec = { row: r.row, bubble: r.bubble, meta: r.meta, time: r.time };
    if (f.sender === 'customer') {
      // our own message from another tab/browser or from before a reload: stored, so delivered
      rec.status = 'delivered';
      setMsgStatus(rec, 'delivered');
      if (typeof f.client_msg_id === 'string') byClientId[f.client_msg_id] = rec;
    }
    setSeq(rec, seq);
    if (f.sender === 'agent') {
      ui.typing.hidden = true;
      if (!opened) {
        ui.unreadCount++;
        ui.unread.textContent = String(Math.min(ui.unreadCount, 99));
        ui.unread.hidden = false;
      }
    }
    scrollToEnd();
  }

  function onAck(f) {
    var rec = byClientId[f.client_msg_id];
    if (!rec) return;
    var seq = Number(f.seq);
    if (seq > 0 && !rec.seq && !held[seq]) setSeq(rec, seq);
    setMsgStatus(rec, 'delivered');
    outbox = outbox.filter(function (m) {
      return m !== rec;
    });
    if (errorKind === 'frame') clearError('frame');
  }

  function submitInput() {
    if (ui.input.disabled) return;
    var text = ui.input.value;
    if (!text.trim()) return;
    if (text.length > MAX_TEXT) {
      setError(FRAME_ERRORS.text_too_long, 'frame');
      return;
    }
    ui.input.value = '';
    var id = randomId();
    var r = makeRow('customer', text, null);
    var rec = { id: id, text: text, row: r.row, bubble: r.bubble, meta: r.meta, time: r.time, sentAt: 0 };
    setMsgStatus(rec, 'pending');
    byClientId[id] = rec;
    outbox.push(rec);
    insertRow(rec.row, 0);
    scrollToEnd();
    flushOutbox();
  }

  function canSend() {
    return ws && ws.readyState === 1 && phase === 'open' && !reauthing;
  }

  function sendFrame(obj) {
    try {
      ws.send(JSON.stringify(obj));
      return true;
    } catch (e) {
      return false;
    }
  }

  /* Write every un-acked message to the socket (same client_msg_id: the server stores each once). */
  function flushOutbox() {
    if (!canSend()) return;
    var now = Date.now();
    outbox.forEach(function (rec) {
      if (sendFrame({ type: 'send', client_msg_id: rec.id, text: rec.text })) {
        rec.sentAt = now;
        if (rec.status !== 'delivered') setMsgStatus(rec, 'sent');
      }
    });
    armAckWatch();
  }

  function armAckWatch() {
    if (ackTimer || !outbox.length) return;
    ackTimer = setInterval(guard(function () {
      if (!outbox.length) {
        clearInterval(ackTimer);
        ackTimer = null;
        return;
      }
      var now = Date.now();
      var stale = outbox.some(function (m) {
        return m.sentAt && now - m.sentAt > ACK_TIMEOUT_MS;
      });
      if (stale && ws && ws.readyState === 1 && !reauthing) {
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

  function scheduleFlush(ms) {
    if (flushTimer) return;
    flushTimer = setTimeout(guard(function () {
      flushTimer = null;
      flushOutbox();
    }), ms);
  }

  function maybeSendTyping() {
    var now = Date.now();
    if (!canSend() || now - lastTypingSent < TYPING_SEND_MS || !ui.input.value) return;
    lastTypingSent = now;
    sendFrame({ type: 'typing' });
  }

  function showAgentTyping() {
    ui.typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () {
      ui.typing.hidden = true;
    }, TYPING_SHOW_MS);
  }

  // ----------------------------------------------------------- HTTP helpers

  function api(path) {
    return org + '/api/v1/widgets/' + encodeURIComponent(appId) + path;
  }

  /* fetch that yields {status, body} or throws {network:true}. */
  function request(url, opts) {
    opts = opts || {};
    opts.mode = 'cors';
    opts.credentials = 'omit';
    opts.cache = 'no-store';
    opts.referrerPolicy = 'strict-origin-when-cross-origin';
    return fetch(url, opts).then(
      function (res) {
        return res.text().then(function (t) {
          var body = null;
          try {
            body = t ? JSON.parse(t) : null;
          } catch (e) {
            body = null;
          }
          return { status: res.status, body: body };
        });
      },
      function () {
        throw { network: true };
      }
    );
  }

  /*
   * A refused origin gets no CORS headers, so the browser reports it exactly like a
   * network failure. An opaque (no-cors) request tells the two apart: it succeeds
   * whenever the service answers at all.
   */
  function explainNetworkFailure() {
    if (navigator.onLine === false) return Promise.resolve(MSG.offline);
    return reachable().then(function (up) {
      return up ? MSG.originNotAllowed : MSG.unreachable;
    });
  }

  /*
   * Probes this widget's own script URL: it is served with
   * Cross-Origin-Resource-Policy: cross-origin (it must load on any site), whereas the
   * service's other routes (/healthz included) are same-origin, which would make an opaque
   * probe of them fail even when the service is up.
   */
  function reachable() {
    var url = org + '/livechatwidget/scripts/LiveChatBootstrapper.js';
    return fetch(url, { method: 'HEAD', mode: 'no-cors', credentials: 'omit', cache: 'no-store' }).then(
      function () {
        return true;
      },
      function () {
        return false;
      }
    );
  }

  function errorSentence(status, body) {
    var code = body && typeof body.error === 'string' ? body.error : '';
    if (code === 'origin_not_allowed' || status === 403) return { text: MSG.originNotAllowed, retry: false };
    if (code === 'invalid_token') {
      var reason = body && typeof body.reason === 'string' ? body.reason : 'unknown reason';
      return {
        text: "We couldn't confirm your sign-in (" + (REASONS[reason] || reason) + '). Please sign in again.',
        retry: false
      };
    }
    if (code === 'auth_required') return { text: MSG.signIn, retry: false };
    if (code === 'unknown_widget' || status === 404) return { text: MSG.unknownWidget, retry: false };
    if (status === 429 || code === 'rate_limited') return { text: MSG.busy, retry: true };
    if (status >= 500) return { text: MSG.serverTrouble, retry: true };
    var m = body && typeof body.message === 'string' && body.message ? body.message : 'unexpected answer ' + status;
    return { text: 'The chat could not start (' + m + ').', retry: false };
  }

  function sleep(ms) {
    return new Promise(function (r) {
      setTimeout(r, ms);
    });
  }

  /* Load the public widget config, retrying while the service is unreachable. */
  function loadConfig() {
    if (configPromise) return configPromise;
    var tries = 0;
    function once() {
      return request(api('/config')).then(
        function (r) {
          if (r.status === 200 && r.body) return r.body;
          var e = errorSentence(r.status, r.body);
          if (!e.retry) throw { fatal: e.text };
          throw { transient: e.text };
        },
        function () {
          return explainNetworkFailure().then(function (text) {
            if (text === MSG.originNotAllowed) throw { fatal: text };
            throw { transient: text };
          });
        }
      ).catch(function (err) {
        if (err && err.transient) {
          configError = err.transient;
          if (opened || phase !== 'idle') setError(err.transient, 'network');
          return sleep(jitter(tries++)).then(once);
        }
        throw err;
      });
    }
    configPromise = once().then(function (c) {
      config = {
        title: typeof c.title === 'string' && c.title.trim() ? c.title : 'Chat with us',
        require_auth: c.require_auth === true,
        auth: c.auth && typeof c.auth.function_name === 'string' ? c.auth : null
      };
      ui.title.textContent = config.title;
      configError = null;
      clearError('network');
      return config;
    });
    configPromise.catch(function () {
      configPromise = null; // a later attempt (launcher click) may try again
    });
    return configPromise;
  }

  // ------------------------------------------------------------------- auth

  var NAME_RE = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;
  var BAD_SEGMENTS = ['__proto__', 'prototype', 'constructor'];

  function resolveFunction(name) {
    if (typeof name !== 'string' || name.length > 100 || !NAME_RE.test(name)) return null;
    var parts = name.split('.');
    var owner = window;
    for (var i = 0; i < parts.length; i++) {
      if (BAD_SEGMENTS.indexOf(parts[i]) !== -1) return null;
      if (owner == null || (typeof owner !== 'object' && typeof owner !== 'function')) return null;
      var next = owner[parts[i]];
      if (i === parts.length - 1) {
        return typeof next === 'function' ? { fn: next, owner: owner } : null;
      }
      owner = next;
    }
    return null;
  }

  /* Waits for the page to define the function (it may come after this script). */
  function waitForFunction(name) {
    var deadline = Date.now() + AUTH_WAIT_MS;
    return new Promise(function (resolve) {
      (function poll() {
        var found = resolveFunction(name);
        if (found || Date.now() >= deadline) return resolve(found);
        setTimeout(poll, AUTH_POLL_MS);
      })();
    });
  }

  /*
   * Calls the page's function with a callback; resolves with a non-empty token or null.
   * The blog's function never calls back when its XHR gets a 401, so a silent function
   * counts as "no token" after AUTH_CALLBACK_MS.
   */
  function callAuth(found) {
    return new Promise(function (resolve) {
      var done = false;
      function finish(v) {
        if (done) return;
        done = true;
        clearTimeout(timer);
        var t = typeof v === 'string' ? v.trim() : '';
        resolve(t ? t : null);
      }
      var timer = setTimeout(function () {
        finish(null);
      }, AUTH_CALLBACK_MS);
      try {
        var ret = found.fn.call(found.owner, finish);
        if (ret && typeof ret.then === 'function') {
          ret.then(finish, function () {
            finish(null);
          });
        }
      } catch (e) {
        finish(null);
      }
    });
  }

  /* → {token|null, missing:bool} */
  function getToken() {
    if (!config || !config.auth) return Promise.resolve({ token: null, missing: false });
    var name = config.auth.function_name;
    return waitForFunction(name).then(function (found) {
      if (!found) return { token: null, missing: true, name: name };
      return callAuth(found).then(function (token) {
        return { token: token, missing: false };
      });
    });
  }

  // ---------------------------------------------------------------- session

  function start() {
    if (phase !== 'idle') return;
    phase = 'starting';
    setInputEnabled(false);
    renderStatus('Connecting\u2026');
    if (!appId) {
      stop(MSG.notConfigured);
      return;
    }
    if (configError) setError(configError, 'network');
    loadConfig()
      .then(function () {
        var stored = storage.load();
        return getToken().then(function (t) {
          if (t.missing) {
            var text = 'Sign-in for chat is not available on this page (' + t.name + ' was not found).';
            if (config.require_auth) throw { fatal: text + ' ' + MSG.signIn, signIn: true };
            setError(text, 'notice'); // go on as a guest, but say why
          }
          if (!t.token && config.require_auth) throw { fatal: MSG.signIn, signIn: true };
          var sub = t.token ? tokenSub(t.token) : null;
          if (stored && stored.sub === sub && !expired(stored)) {
            session = stored;
            return null;
          }
          storage.clear();
          return createSession(t.token, sub);
        });
      })
      .then(function () {
        connect();
      })
      .catch(guardErr(function (err) {
        stop(err && err.fatal ? err.fatal : MSG.unreachable, err && err.signIn);
      }));
  }

  function expired(s) {
    var t = Date.parse(s.expires_at);
    return !isNaN(t) && t <= Date.now() + 5000;
  }

  function createSession(token, sub) {
    var tries = 0;
    function once() {
      var headers = { 'Content-Type': 'application/json' };
      if (token) headers.AuthenticatedUserToken = token;
      var body = JSON.stringify({
        context: {
          page_url: String(location.origin + location.pathname).slice(0, 2000),
          page_title: String(document.title || '').slice(0, 200)
        }
      });
      return request(api('/sessions'), { method: 'POST', headers: headers, body: body }).then(
        function (r) {
          if ((r.status === 201 || r.status === 200) && r.body && typeof r.body.session_token === 'string') {
            return r.body;
          }
          var e = errorSentence(r.status, r.body);
          if (!e.retry) throw { fatal: e.text };
          throw { transient: e.text };
        },
        function () {
          return explainNetworkFailure().then(function (text) {
            if (text === MSG.originNotAllowed) throw { fatal: text };
            throw { transient: text };
          });
        }
      ).catch(function (err) {
        if (err && err.transient) {
          setError(err.transient, 'network');
          return sleep(jitter(tries++)).then(once);
        }
        throw err;
      });
    }
    return once().then(function (b) {
      clearError('network');
      session = {
        session_token: b.session_token,
        conversation_id: b.conversation_id,
        verified: b.verified === true,
        contact: b.contact && typeof b.contact === 'object' ? b.contact : null,
        expires_at: b.expires_at,
        sub: sub,
        state: 'waiting',
        open: opened
      };
      storage.save(session);
    });
  }

  /* A failure that needs the visitor (or the site owner): no more retries. */
  function stop(text, signIn) {
    phase = 'stopped';
    closeSocket();
    setError(text, 'fatal');
    setInputEnabled(false);
    renderStatus(signIn ? 'Not signed in' : 'Not connected');
    ui.again.textContent = 'Try again';
    ui.bar.hidden = false;
  }

  function newChat() {
    closeSocket();
    clearTimeout(reconnectTimer);
    storage.clear();
    session = null;
    held = {};
    contiguous = 0;
    outbox = [];
    byClientId = {};
    reauthing = false;
    while (ui.log.firstChild) ui.log.removeChild(ui.log.firstChild);
    ui.log.appendChild(ui.empty);
    ui.bar.hidden = true;
    ui.typing.hidden = true;
    clearError();
    phase = 'idle';
    start();
  }

  // -------------------------------------------------------------- WebSocket

  function wsUrl() {
    return org.replace(/^http/i, 'ws') + '/api/v1/chat?session_token=' + encodeURIComponent(session.session_token);
  }

  function closeSocket() {
    if (!ws) return;
    var old = ws;
    ws = null;
    old.onopen = old.onmessage = old.onclose = old.onerror = null;
    try {
      old.close(1000);
    } catch (e) {
      /* ignore */
    }
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (!session || phase === 'ended' || phase === 'stopped') return;
    setInputEnabled(true); // while (re)connecting, messages wait in the outbox
    if (navigator.onLine === false) {
      phase = 'connecting';
      setError(MSG.offline, 'network');
      renderStatus('Offline');
      return; // the 'online' event brings us back
    }
    closeSocket();
    phase = 'connecting';
    renderStatus(attempt ? 'Reconnecting\u2026' : 'Connecting\u2026');
    var sock;
    try {
      sock = new WebSocket(wsUrl());
    } catch (e) {
      stop(MSG.unreachable);
      return;
    }
    ws = sock;
    wsOpened = false;
    sock.onopen = guard(function () {
      if (ws !== sock) return;
      wsOpened = true;
      attempt = 0;
      failsBeforeOpen = 0;
      phase = 'open';
      clearError('network');
      renderStatus();
      setInputEnabled(true);
      sendFrame({ type: 'resume', after_seq: contiguous });
      flushOutbox();
    });
    sock.onmessage = guard(function (ev) {
      if (ws !== sock || typeof ev.data !== 'string') return;
      var f;
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
    phase = 'connecting';
    reauthing = false;
    outbox.forEach(function (m) {
      m.sentAt = 0;
      if (m.status === 'sent') setMsgStatus(m, 'pending');
    });
    if (navigator.onLine === false) {
      setError(MSG.offline, 'network');
      renderStatus('Offline');
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
    var delay = jitter(attempt++);
    if (attempt > 1) setError(MSG.unreachable, 'network');
    renderStatus('Reconnecting\u2026');
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(guard(connect), delay);
  }

  function renewSession() {
    storage.clear();
    session = null;
    failsBeforeOpen = 0;
    phase = 'starting';
    getToken()
      .then(function (t) {
        if (!t.token && config.require_auth) throw { fatal: MSG.signIn, signIn: true };
        return createSession(t.token, t.token ? tokenSub(t.token) : null);
      })
      .then(function () {
        connect();
      })
      .catch(guardErr(function (err) {
        stop(err && err.fatal ? err.fatal : MSG.unreachable, err && err.signIn);
      }));
  }

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
        break;
      case 'reauth_required':
        reauthenticate();
        break;
      case 'reauthenticated':
        reauthing = false;
        if (typeof f.expires_at === 'string' && session) {
          session.expires_at = f.expires_at;
          storage.save(session);
        }
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

  function onConversation(f) {
    if (!session || typeof f.state !== 'string') return;
    session.state = f.state;
    storage.save(session);
    if (f.state === 'ended') {
      phase = 'ended';
      setInputEnabled(false);
      ui.typing.hidden = true;
      ui.again.textContent = 'Start a new chat';
      ui.bar.hidden = false;
      closeSocket();
      storage.clear();
    }
    renderStatus();
  }

  function onErrorFrame(f) {
    var code = typeof f.error === 'string' ? f.error : '';
    if (code === 'reauth_required') {
      reauthenticate(); // our send raced the expiry: it stays in the outbox
      return;
    }
    if (code === 'invalid_token') {
      var reason = typeof f.reason === 'string' ? f.reason : 'unknown reason';
      setError("We couldn't confirm your sign-in (" + (REASONS[reason] || reason) + '). Please sign in again.', 'reauth');
      return;
    }
    if (code === 'conversation_ended') {
      onConversation({ state: 'ended' });
      return;
    }
    if (code === 'rate_limited') scheduleFlush(1500);
    if (typeof f.client_msg_id === 'string' && byClientId[f.client_msg_id] &&
        (code === 'text_too_long' || code === 'empty_text' || code === 'bad_client_msg_id' || code === 'frame_too_large')) {
      var rec = byClientId[f.client_msg_id];
      setMsgStatus(rec, 'failed');
      outbox = outbox.filter(function (m) {
        return m !== rec;
      });
    }
    var text = FRAME_ERRORS[code] ||
      (typeof f.message === 'string' && f.message ? f.message : 'Something went wrong (' + (code || 'unknown error') + ').');
    setError(text, 'frame');
  }

  function reauthenticate() {
    if (reauthing) return;
    reauthing = true;
    renderStatus('Renewing sign-in\u2026');
    getToken().then(guard(function (t) {
      if (!reauthing) return; // socket dropped meanwhile; resume handles it
      if (!t.token) {
        setError(MSG.reauthFailed, 'reauth');
        renderStatus();
        return;
      }
      if (ws && ws.readyState === 1) sendFrame({ type: 'auth', token: t.token });
      renderStatus();
    }));
  }

  // ------------------------------------------------------------------ glue

  function guard(fn) {
    return function () {
      try {
        return fn.apply(this, arguments);
      } catch (e) {
        report(e);
      }
    };
  }

  function guardErr(fn) {
    return function (err) {
      try {
        fn(err);
      } catch (e) {
        report(e);
      }
    };
  }

  function report(e) {
    try {
      if (ui) setError('Something went wrong in the chat. Please reload the page to try again.', 'general');
      if (window.console && console.error) console.error('vouch chat:', e && e.message ? e.message : e);
    } catch (ignored) {
      /* never let the widget break the page */
    }
  }

  function boot() {
    ui = buildUi();
    renderStatus();
    if (typeof fetch !== 'function' || typeof WebSocket !== 'function' || !window.crypto) {
      stop(MSG.unsupported);
      return;
    }
    if (!appId) {
      stop(MSG.notConfigured);
      return;
    }
    window.addEventListener('offline', guard(function () {
      if (session && phase !== 'ended' && phase !== 'stopped') {
        closeSocket();
        onSocketLost();
      }
    }));
    window.addEventListener('online', guard(function () {
      if (session && (phase === 'connecting') && !ws) {
        attempt = 0;
        connect();
      }
    }));
    var stored = storage.load();
    loadConfig().catch(guardErr(function (err) {
      if (opened || stored) stop(err && err.fatal ? err.fatal : MSG.unreachable);
    }));
    if (stored && !expired(stored)) {
      // A reload mid-chat: pick the conversation up again.
      start();
      if (stored.open) setOpen(true, true);
    }
  }

  window.VouchChat = {
    loaded: true,
    version: '1',
    open: function () {
      if (ui) setOpen(true);
    },
    close: function () {
      if (ui) setOpen(false);
    },
    get state() {
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

  try {
    if (document.body) boot();
    else document.addEventListener('DOMContentLoaded', guard(boot), { once: true });
  } catch (e) {
    report(e);
  }
})();
