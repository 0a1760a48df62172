/*
 * vouch agent console (/agent). Same origin as the API; the HttpOnly cookie set by
 * POST /api/v1/agent/login authenticates fetch() and the agent WebSocket, so this
 * script never sees a token. All data is rendered with textContent.
 */
(function () {
  'use strict';

  var TYPING_SEND_MS = 2000;
  var TYPING_SHOW_MS = 4000;
  var ACK_TIMEOUT_MS = 15000;

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function show(node, on) {
    node.hidden = !on;
  }

  function fmtTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return '';
    var today = new Date();
    var opts = { hour: '2-digit', minute: '2-digit' };
    if (d.toDateString() !== today.toDateString()) {
      return d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ' ' + d.toLocaleTimeString([], opts);
    }
    return d.toLocaleTimeString([], opts);
  }

  var ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
  function randomId() {
    var b = new Uint8Array(22);
    crypto.getRandomValues(b);
    var s = '';
    for (var i = 0; i < b.length; i++) s += ID_CHARS.charAt(b[i] & 63);
    return s;
  }

  function contactName(c) {
    if (!c) return 'Guest';
    var n = [c.given_name, c.family_name].filter(function (x) {
      return typeof x === 'string' && x.trim();
    }).join(' ');
    return n || c.preferred_username || c.email || 'Unnamed contact';
  }

  function str(v) {
    if (v == null) return '';
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }

  /* fetch JSON from our own API: → {status, body}; rejects only on network failure. */
  function api(method, path, body) {
    var opts = { method: method, credentials: 'same-origin', cache: 'no-store', headers: {} };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (res) {
      return res.text().then(function (t) {
        var b = null;
        try {
          b = t ? JSON.parse(t) : null;
        } catch (e) {
          b = null;
        }
        return { status: res.status, body: b };
      });
    });
  }

  function apiMessage(r, fallback) {
    if (r.body && typeof r.body.message === 'string' && r.body.message) return r.body.message;
    if (r.body && typeof r.body.error === 'string') return fallback + ' (' + r.body.error + ')';
    return fallback + ' (HTTP ' + r.status + ')';
  }

  // ------------------------------------------------------------------ state

  var me = null;
  var convs = {}; // id -> conversation record
  var selected = null;
  var ws = null;
  var attempt = 0;
  var reconnectTimer = null;
  var lastTypingSent = 0;
  var ackTimer = null;
  var listsLoaded = false;

  function conv(id) {
    if (!convs[id]) {
      convs[id] = {
        id: id, state: 'waiting', verified: false, contact: null, agent_id: null, created_at: null,
        context: null, messages: {}, contiguous: 0, pending: [], byClient: {}, draft: '',
        typingUntil: 0, unread: 0, history: null, loaded: false
      };
    }
    return convs[id];
  }

  function mergeSummary(c, s) {
    if (typeof s.state === 'string') c.state = s.state;
    if (typeof s.verified === 'boolean') c.verified = s.verified;
    if ('contact' in s) c.contact = s.contact && typeof s.contact === 'object' ? s.contact : null;
    if ('agent_id' in s) c.agent_id = s.agent_id;
    if (typeof s.created_at === 'string') c.created_at = s.created_at;
    if (s.context && typeof s.context === 'object') c.context = s.context;
  }

  function isMine(c) {
    return me && c.agent_id != null && String(c.agent_id) === String(me.id);
  }

  // ------------------------------------------------------------------ errors

  function setError(text) {
    $('console-error').textContent = text || '';
    show($('console-error'), !!text);
  }

  function setConn(text, ok) {
    var c = $('conn');
    c.textContent = text;
    c.className = 'conn' + (ok ? ' ok' : '');
  }

  // ------------------------------------------------------------------- login

  function showLogin(message) {
    me = null;
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
        if (r.status === 401) err.textContent = 'Wrong email or password.';
        else if (r.status === 429) err.textContent = apiMessage(r, 'Too many sign-in attempts. Please wait a moment and try again.');
        else err.textContent = apiMessage(r, 'Sign-in failed');
        show(err, true);
      }, function () {
        err.textContent = "The chat service can't be reached. Check your connection and try again.";
        show(err, true);
      })
      .then(function () {
        $('agent-login').disabled = false;
      });
  }

  function loadMe() {
    return api('GET', '/api/v1/agent/me').then(function (r) {
      if (r.status !== 200 || !r.body) {
        showLogin(r.status === 401 ? '' : apiMessage(r, 'Could not load your account'));
        return;
      }
      me = r.body;
      startConsole();
    }, function () {
      showLogin("The chat service can't be reached. Reload the page to try again.");
    });
  }

  function logout() {
    api('POST', '/api/v1/agent/logout').then(function () {}, function () {}).then(function () {
      convs = {};
      selected = null;
      listsLoaded = false;
      show($('conv'), false);
      show($('details'), false);
      show($('placeholder'), true);
      showLogin('You have signed out.');
    });
  }

  // ---------------------------------------------------------------- console

  function startConsole() {
    show($('login'), false);
    show($('console'), true);
    show($('who'), true);
    $('who-name').textContent = (me.name || me.email || '') + (me.role ? ' \u00b7 ' + me.role : '');
    refreshLists().then(function (ok) {
      if (ok) connect();
      else scheduleReconnect();
    });
  }

  /* Loads waiting + active conversations; a waiting one that is no longer listed was taken. */
  function refreshLists() {
    return Promise.all([
      api('GET', '/api/v1/agent/conversations?state=waiting'),
      api('GET', '/api/v1/agent/conversations?state=active')
    ]).then(function (rs) {
      var seen = {};
      rs.forEach(function (r) {
        if (r.status === 401) return showLogin('Your session has ended. Please sign in again.');
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
        Object.keys(convs).forEach(function (k) {
          var c = convs[k];
          if (!seen[k] && c.state === 'waiting') c.state = 'gone';
        });
      }
      listsLoaded = true;
      renderLists();
      if (selected && convs[selected]) renderConversation();
      return true;
    }, function () {
      setError("The chat service can't be reached right now. We'll keep trying.");
      return false;
    });
  }

  function listFor(c) {
    if (c.state === 'waiting') return 'queue';
    if (isMine(c) && (c.state === 'active' || (c.state === 'ended' && c.keepUntilClosed))) return 'mine';
    return null;
  }

  function renderLists() {
    var queue = $('queue');
    var mine = $('mine');
    clear(queue);
    clear(mine);
    var all = Object.keys(convs).map(function (k) {
      return convs[k];
    });
    all.sort(function (a, b) {
      return String(a.created_at || '').localeCompare(String(b.created_at || ''));
    });
    var nq = 0;
    var nm = 0;
    all.forEach(function (c) {
      var where = listFor(c);
      if (!where) return;
      var li = el('li');
      var item = el('button', 'conv-item' + (selected === c.id ? ' selected' : ''));
      item.type = 'button';
      item.setAttribute('data-testid', 'conversation-item');
      item.setAttribute('data-conversation-id', c.id);
      item.setAttribute('data-state', c.state);
      item.setAttribute('data-verified', c.verified ? 'true' : 'false');
      if (selected === c.id) item.setAttribute('aria-current', 'true');
      var top = el('span', 'conv-item-top');
      top.appendChild(el('span', 'conv-name', contactName(c.contact)));
      top.appendChild(el('span', 'conv-time', c.created_at ? fmtTime(c.created_at) : ''));
      item.appendChild(top);
      var bottom = el('span', 'conv-item-bottom');
      bottom.appendChild(el('span', 'badge ' + (c.verified ? 'ok' : 'warn'), c.verified ? 'Verified' : 'Not verified'));
      if (c.state === 'ended') bottom.appendChild(el('span', 'state', 'Ended'));
      if (c.typingUntil > Date.now()) bottom.appendChild(el('span', 'muted small', 'typing\u2026'));
      if (c.unread) bottom.appendChild(el('span', 'count unread', c.unread));
      item.appendChild(bottom);
      item.addEventListener('click', function () {
        select(c.id);
      });
      li.appendChild(item);
      if (where === 'queue') {
        queue.appendChild(li);
        nq++;
      } else {
        mine.appendChild(li);
        nm++;
      }
    });
    $('queue-count').textContent = String(nq);
    $('mine-count').textContent = String(nm);
    show($('queue-empty'), nq === 0);
    show($('mine-empty'), nm === 0);
  }

  // ------------------------------------------------------------ conversation

  function select(id) {
    if (selected && convs[selected]) convs[selected].draft = $('agent-input').value;
    selected = id;
    var c = convs[id];
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
      if (r.status === 401) return showLogin('Your session has ended. Please sign in again.');
      if (r.status !== 200 || !r.body) {
        if (selected === c.id) setError(apiMessage(r, 'Could not load this conversation'));
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
      if (selected === c.id) {
        renderConversation();
        renderTranscript();
      }
      renderLists();
      if (c.contact && c.contact.id != null) loadHistory(c);
      else {
        c.history = [];
        if (selected === c.id) renderHistory();
      }
    }, function () {
      if (selected === c.id) setError("The chat service can't be reached right now.");
    });
  }

  function loadHistory(c) {
    api('GET', '/api/v1/contacts/' + encodeURIComponent(c.contact.id)).then(function (r) {
      if (r.status !== 200 || !r.body) {
        c.history = null;
        c.historyError = apiMessage(r, 'Could not load earlier conversations');
      } else {
        c.historyError = null;
        c.history = Array.isArray(r.body.activities) ? r.body.activities : [];
        if (r.body.contact && typeof r.body.contact === 'object') c.contact = r.body.contact;
      }
      if (selected === c.id) {
        renderConversation();
        renderHistory();
      }
    }, function () {
      c.historyError = "Earlier conversations can't be loaded right now.";
      if (selected === c.id) renderHistory();
    });
  }

  function renderConversation() {
    var c = convs[selected];
    if (!c) return;
    $('conv-title').textContent = contactName(c.contact);
    var badge = $('verified-badge');
    badge.textContent = c.verified ? 'Verified' : 'Not verified';
    badge.className = 'badge ' + (c.verified ? 'ok' : 'warn');
    var st = $('conv-state');
    st.textContent = c.state === 'waiting' ? 'Waiting' : c.state === 'ended' ? 'Ended' : isMine(c) ? 'Active' : 'With another agent';
    st.setAttribute('data-state', c.state);
    show($('accept'), c.state === 'waiting');
    show($('end-conversation'), c.state === 'active' && isMine(c));
    var canWrite = c.state === 'active' && isMine(c);
    show($('composer'), canWrite);
    $('agent-input').disabled = !canWrite;
    $('agent-send').disabled = !canWrite;

    var ct = c.contact;
    $('contact-name').textContent = ct ? contactName(ct) : 'Guest';
    $('contact-email').textContent = ct && ct.email ? ct.email : '\u2014';
    $('contact-phone').textContent = ct && ct.phone ? ct.phone : '\u2014';
    $('contact-id').textContent = ct && ct.external_id != null ? String(ct.external_id) : '\u2014';

    var body = $('context-body');
    clear(body);
    var ctx = c.context && typeof c.context === 'object' ? c.context : {};
    var names = Object.keys(ctx);
    if (!names.length) {
      var tr0 = el('tr');
      var td0 = el('td', 'muted', 'No context variables.');
      td0.colSpan = 2;
      tr0.appendChild(td0);
      body.appendChild(tr0);
    }
    names.forEach(function (n) {
      var tr = el('tr');
      tr.setAttribute('data-name', n);
      tr.appendChild(el('th', '', n)).setAttribute('scope', 'row');
      tr.appendChild(el('td', '', str(ctx[n])));
      body.appendChild(tr);
    });
    renderHistory();
    renderTyping();
  }

  function renderHistory() {
    var c = convs[selected];
    var list = $('history');
    var empty = $('history-empty');
    clear(list);
    if (!c) return;
    if (!c.contact) {
      empty.textContent = 'A guest has no earlier conversations on record.';
      show(empty, true);
      return;
    }
    if (c.historyError) {
      empty.textContent = c.historyError;
      show(empty, true);
      return;
    }
    if (c.history == null) {
      empty.textContent = 'Loading\u2026';
      show(empty, true);
      return;
    }
    var items = c.history.slice().sort(function (a, b) {
      return String(b.created_at || '').localeCompare(String(a.created_at || ''));
    });
    empty.textContent = 'No earlier conversations.';
    show(empty, items.length === 0);
    items.forEach(function (a) {
      var li = el('li', 'history-item');
      li.setAttribute('data-testid', 'history-item');
      li.setAttribute('data-conversation-id', str(a.conversation_id));
      var details = el('details');
      var transcript = Array.isArray(a.transcript) ? a.transcript : [];
      var first = transcript.filter(function (m) {
        return m && m.sender === 'customer';
      })[0];
      var summary = el('summary');
      summary.appendChild(el('span', 'history-time', fmtTime(a.created_at) || 'Earlier'));
      summary.appendChild(el('span', 'history-preview', first ? first.text : transcript.length + ' messages'));
      details.appendChild(summary);
      var ol = el('ol', 'history-transcript');
      transcript.forEach(function (m) {
        var row = el('li', 'hmsg ' + (m.sender === 'agent' || m.sender === 'customer' ? m.sender : 'system'));
        row.setAttribute('data-sender', str(m.sender));
        row.appendChild(el('span', 'who', m.sender === 'agent' ? 'Agent' : m.sender === 'customer' ? 'Customer' : ''));
        row.appendChild(el('span', 'text', str(m.text)));
        ol.appendChild(row);
      });
      details.appendChild(ol);
      li.appendChild(details);
      list.appendChild(li);
    });
  }

  // ---------------------------------------------------------------- messages

  function addMessage(c, m) {
    var seq = Number(m.seq);
    if (!(seq > 0) || c.messages[seq]) return false;
    var rec = { seq: seq, sender: m.sender, text: str(m.text), sent_at: m.sent_at, client_msg_id: m.client_msg_id };
    if (m.sender === 'agent' && typeof m.client_msg_id === 'string' && c.byClient[m.client_msg_id]) {
      var p = c.byClient[m.client_msg_id];
      p.seq = seq;
      p.sent_at = m.sent_at;
      rec = p;
    }
    c.messages[seq] = rec;
    while (c.messages[c.contiguous + 1]) c.contiguous++;
    return true;
  }

  var STATUS = { pending: 'Sending\u2026', sent: 'Sent', delivered: 'Delivered', failed: 'Not sent' };

  function messageRow(m) {
    var sender = m.sender === 'agent' || m.sender === 'customer' ? m.sender : 'system';
    var row = el('div', 'msg ' + sender);
    var bubble = el('div', 'bubble', m.text);
    bubble.setAttribute('data-testid', 'agent-message');
    bubble.setAttribute('data-sender', sender);
    if (m.seq) bubble.setAttribute('data-seq', String(m.seq));
    if (m.status) bubble.setAttribute('data-status', m.status);
    row.appendChild(bubble);
    if (sender !== 'system') {
      var meta = (sender === 'customer' ? 'Customer' : 'You') + ' \u00b7 ' + (fmtTime(m.sent_at) || fmtTime(new Date().toISOString()));
      if (sender === 'agent' && m.status) meta += ' \u00b7 ' + STATUS[m.status];
      row.appendChild(el('div', 'meta', meta));
    }
    return row;
  }

  function renderTranscript() {
    var c = convs[selected];
    var t = $('transcript');
    clear(t);
    if (!c) return;
    var seqs = Object.keys(c.messages).map(Number).sort(function (a, b) {
      return a - b;
    });
    seqs.forEach(function (s) {
      t.appendChild(messageRow(c.messages[s]));
    });
    c.pending.forEach(function (p) {
      if (!p.seq) t.appendChild(messageRow(p));
    });
    if (!seqs.length && !c.pending.length) t.appendChild(el('p', 'muted center', c.loaded ? 'No messages yet.' : 'Loading\u2026'));
    t.scrollTop = t.scrollHeight;
  }

  function renderTyping() {
    var c = convs[selected];
    show($('customer-typing'), !!(c && c.typingUntil > Date.now() && c.state !== 'ended'));
  }

  function sendReply() {
    var c = convs[selected];
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

  function flush(c) {
    if (!ws || ws.readyState !== 1) return;
    var now = Date.now();
    c.pending.forEach(function (p) {
      try {
        ws.send(JSON.stringify({ type: 'send', conversation_id: c.id, client_msg_id: p.client_msg_id, text: p.text }));
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
    Object.keys(convs).forEach(function (k) {
      convs[k].pending.forEach(function (p) {
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

  function maybeTyping() {
    var c = convs[selected];
    var now = Date.now();
    if (!c || !ws || ws.readyState !== 1 || !isMine(c) || c.state !== 'active') return;
    if (now - lastTypingSent < TYPING_SEND_MS || !$('agent-input').value) return;
    lastTypingSent = now;
    ws.send(JSON.stringify({ type: 'typing', conversation_id: c.id }));
  }

  function resume(c) {
    if (ws && ws.readyState === 1) {
      ws.send(JSON.stringify({ type: 'resume', conversation_id: c.id, after_seq: c.contiguous }));
    }
  }

  // ----------------------------------------------------------------- actions

  function accept() {
    var c = convs[selected];
    if (!c) return;
    $('accept').disabled = true;
    api('POST', '/api/v1/agent/conversations/' + encodeURIComponent(c.id) + '/accept').then(function (r) {
      if (r.status === 200) {
        if (r.body && typeof r.body === 'object') mergeSummary(c, r.body);
        c.state = 'active';
        c.agent_id = me.id;
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
      } else if (r.status === 401) {
        showLogin('Your session has ended. Please sign in again.');
      } else {
        setError(apiMessage(r, 'Could not accept this conversation'));
      }
    }, function () {
      setError("The chat service can't be reached right now. Try again in a moment.");
    }).then(function () {
      $('accept').disabled = false;
    });
  }

  function endConversation() {
    var c = convs[selected];
    if (!c) return;
    $('end-conversation').disabled = true;
    api('POST', '/api/v1/agent/conversations/' + encodeURIComponent(c.id) + '/end').then(function (r) {
      if (r.status === 200) {
        c.state = 'ended';
        c.keepUntilClosed = true;
        setError('');
        renderLists();
        renderConversation();
      } else if (r.status === 401) {
        showLogin('Your session has ended. Please sign in again.');
      } else {
        setError(apiMessage(r, 'Could not end this conversation'));
      }
    }, function () {
      setError("The chat service can't be reached right now. Try again in a moment.");
    }).then(function () {
      $('end-conversation').disabled = false;
    });
  }

  // --------------------------------------------------------------- WebSocket

  function closeSocket() {
    clearTimeout(reconnectTimer);
    if (!ws) return;
    var old = ws;
    ws = null;
    old.onopen = old.onclose = old.onmessage = old.onerror = null;
    try {
      old.close(1000);
    } catch (e) {
      /* ignore */
    }
  }

  function connect() {
    closeSocket();
    if (!me) return;
    var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/agent/ws';
    var sock;
    try {
      sock = new WebSocket(url);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    ws = sock;
    setConn(attempt ? 'Reconnecting\u2026' : 'Connecting\u2026', false);
    sock.onopen = function () {
      if (ws !== sock) return;
      attempt = 0;
      setConn('Online', true);
      setError('');
      refreshLists();
      Object.keys(convs).forEach(function (k) {
        var c = convs[k];
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
        setError('Something went wrong showing an update: ' + (e && e.message ? e.message : e));
      }
    };
    sock.onclose = function () {
      if (ws !== sock) return;
      ws = null;
      Object.keys(convs).forEach(function (k) {
        convs[k].pending.forEach(function (p) {
          p.sentAt = 0;
        });
      });
      // A refused upgrade (expired cookie) looks like any other close: ask who we are.
      api('GET', '/api/v1/agent/me').then(function (r) {
        if (r.status === 401) showLogin('Your session has ended. Please sign in again.');
        else scheduleReconnect();
      }, function () {
        scheduleReconnect();
      });
    };
  }

  function scheduleReconnect() {
    if (!me) return;
    var cap = Math.min(30000, 500 * Math.pow(2, Math.min(attempt++, 16)));
    var delay = Math.round(cap / 2 + Math.random() * (cap / 2));
    setConn('Offline \u2014 reconnecting\u2026', false);
    if (attempt > 1) setError("The chat service can't be reached right now. We'll keep trying.");
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(function () {
      if (!listsLoaded) startConsole();
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
        if (selected === id && wasWaiting && c.state === 'active' && !isMine(c)) {
          setError('Another agent took this conversation.');
        }
        if (c.state === 'ended') c.keepUntilClosed = wasMine || isMine(c);
        renderLists();
        if (selected === id) renderConversation();
        break;
      }
      case 'message': {
        if (!id) return;
        var cm = conv(id);
        if (addMessage(cm, f)) {
          if (selected === id) renderTranscript();
          else if (f.sender === 'customer') {
            cm.unread++;
            renderLists();
          }
          if (f.sender === 'customer') {
            cm.typingUntil = 0;
            if (selected === id) renderTyping();
          }
        }
        break;
      }
      case 'ack': {
        Object.keys(convs).forEach(function (k) {
          var cc = convs[k];
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
          if (selected === k) renderTranscript();
        });
        break;
      }
      case 'typing': {
        if (!id || f.sender === 'agent') return;
        var ct = conv(id);
        ct.typingUntil = Date.now() + TYPING_SHOW_MS;
        if (selected === id) renderTyping();
        setTimeout(function () {
          if (selected === id) renderTyping();
        }, TYPING_SHOW_MS + 50);
        break;
      }
      case 'error': {
        var code = typeof f.error === 'string' ? f.error : 'error';
        if (code === 'rate_limited') {
          setTimeout(function () {
            Object.keys(convs).forEach(function (k) {
              flush(convs[k]);
            });
          }, 1500);
        }
        setError(typeof f.message === 'string' && f.message ? f.message : 'The chat service refused that (' + code + ').');
        break;
      }
      default:
        break;
    }
  }

  // -------------------------------------------------------------------- boot

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
    window.addEventListener('online', function () {
      if (me && !ws) {
        attempt = 0;
        connect();
      }
    });
    loadMe();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
