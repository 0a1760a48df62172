/*
 * The chat session: the widget's public config, the session the service hands out for the
 * visitor's token (kept in sessionStorage, so a reload picks the conversation up again while
 * the same user is signed in), and the widget's phase:
 *   idle → starting → connecting ⇄ open → ended, or stopped (a failure that needs the visitor).
 */

import { t } from './strings.js';
import { guardErr, sleep } from './util.js';
import { backoff } from './wire.js';
import { site, api, request, answerOrThrow, networkFailure } from './http.js';
import { getToken, tokenSub, endReauth } from './auth.js';
import { connect, closeSocket, cancelReconnect, forgetFailures } from './transport.js';
import { resetMessages } from './messages.js';
import {
  opened, setTitle, setError, clearError, renderStatus, setInputEnabled, showBar, resetLog, hideAgentTyping
} from './view.js';
import { renderOffline, offerTranscript } from './offline.js';

export let config = null; // {title, require_auth, auth}
let configPromise = null;
let configError = null; // last transient failure while loading the config
export let session = null; // {session_token, conversation_id, verified, contact, expires_at, sub, state, open}
export let phase = 'idle'; // idle | starting | connecting | open | ended | stopped

export function setPhase(p) {
  phase = p;
}

export const storage = {
  key: function () {
    return 'vouch-chat:' + site.appId;
  },
  load: function () {
    try {
      const raw = window.sessionStorage.getItem(this.key());
      const s = raw ? JSON.parse(raw) : null;
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

/* The session expires within 5 s (or has). */
export function expired(s) {
  const at = Date.parse(s.expires_at);
  return !isNaN(at) && at <= Date.now() + 5000;
}

/* Remembers the panel's open state with the session (a reload reopens it). */
export function rememberOpen(open) {
  if (session) {
    session.open = open;
    storage.save(session);
  }
}

/* Retries `once` with back-off while it fails with {transient}, showing why through `show`. */
function withRetry(once, show) {
  let tries = 0;
  function attempt() {
    return once().catch(function (err) {
      if (err && err.transient) {
        show(err.transient);
        return sleep(backoff(tries++)).then(attempt);
      }
      throw err;
    });
  }
  return attempt();
}

/* Loads the public widget config, retrying while the service is unreachable. */
export function loadConfig() {
  if (configPromise) return configPromise;
  configPromise = withRetry(function () {
    return request(api('/config')).then(function (r) {
      return answerOrThrow(r, function () {
        return r.status === 200 && r.body;
      });
    }, networkFailure);
  }, function (text) {
    configError = text;
    if (opened || phase !== 'idle') setError(text, 'network');
  }).then(function (c) {
    config = {
      title: typeof c.title === 'string' && c.title.trim() ? c.title : t('ui.title'),
      require_auth: c.require_auth === true,
      auth: c.auth && typeof c.auth.function_name === 'string' ? c.auth : null,
      online: c.online !== false,
      offline_message: typeof c.offline_message === 'string' ? c.offline_message : null
    };
    setTitle(config.title);
    renderOffline(config);
    configError = null;
    clearError('network');
    return config;
  });
  configPromise.catch(function () {
    configPromise = null; // a later attempt (launcher click) may try again
  });
  return configPromise;
}

function createSession(token, sub) {
  return withRetry(function () {
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers.AuthenticatedUserToken = token;
    const body = JSON.stringify({
      context: {
        page_url: String(location.origin + location.pathname).slice(0, 2000),
        page_title: String(document.title || '').slice(0, 200)
      }
    });
    return request(api('/sessions'), { method: 'POST', headers: headers, body: body }).then(function (r) {
      return answerOrThrow(r, function () {
        return (r.status === 201 || r.status === 200) && r.body && typeof r.body.session_token === 'string';
      });
    }, networkFailure);
  }, function (text) {
    setError(text, 'network');
  }).then(function (b) {
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

function stopOn(err) {
  stop(err && err.fatal ? err.fatal : t('msg.unreachable'), err && err.signIn);
}

/* Starts the chat: config, token, then the stored session if it is still this user's, else a new one. */
export function start() {
  if (phase !== 'idle') return;
  phase = 'starting';
  setInputEnabled(false);
  renderStatus(t('status.connecting'));
  if (!site.appId) {
    stop(t('msg.notConfigured'));
    return;
  }
  if (configError) setError(configError, 'network');
  loadConfig()
    .then(function () {
      const stored = storage.load();
      return getToken().then(function (tok) {
        if (tok.missing) {
          const text = t('msg.authFunctionMissing', { name: tok.name });
          if (config.require_auth) throw { fatal: text + ' ' + t('error.auth_required'), signIn: true };
          setError(text, 'notice'); // go on as a guest, but say why
        }
        if (!tok.token && config.require_auth) throw { fatal: t('error.auth_required'), signIn: true };
        const sub = tok.token ? tokenSub(tok.token) : null;
        if (stored && stored.sub === sub && !expired(stored)) {
          session = stored;
          return null;
        }
        storage.clear();
        return createSession(tok.token, sub);
      });
    })
    .then(function () {
      connect();
    })
    .catch(guardErr(stopOn));
}

/* The session is gone or refused: a new one for a fresh token, then connect. */
export function renewSession() {
  storage.clear();
  session = null;
  forgetFailures();
  phase = 'starting';
  getToken()
    .then(function (tok) {
      if (!tok.token && config.require_auth) throw { fatal: t('error.auth_required'), signIn: true };
      return createSession(tok.token, tok.token ? tokenSub(tok.token) : null);
    })
    .then(function () {
      connect();
    })
    .catch(guardErr(stopOn));
}

/* A failure that needs the visitor (or the site owner): no more retries. */
export function stop(text, signIn) {
  phase = 'stopped';
  closeSocket();
  setError(text, 'fatal');
  setInputEnabled(false);
  renderStatus(signIn ? t('status.notSignedIn') : t('status.notConnected'));
  offerTranscript(null);
  showBar(t('ui.tryAgain'));
}

/* The bar's button: forget this conversation and start again. */
export function newChat() {
  closeSocket();
  cancelReconnect();
  storage.clear();
  session = null;
  resetMessages();
  endReauth();
  resetLog();
  phase = 'idle';
  start();
}

/* A `conversation` frame (or a conversation_ended error): the state changed. */
export function onConversation(f) {
  if (!session || typeof f.state !== 'string') return;
  session.state = f.state;
  storage.save(session);
  if (f.state === 'ended') {
    phase = 'ended';
    setInputEnabled(false);
    hideAgentTyping();
    showBar(t('ui.newChat'));
    offerTranscript(session);
    closeSocket();
    storage.clear();
  }
  if (f.state === 'active') renderOffline({ online: true }); // someone answered after all
  renderStatus();
}

/* A `reauthenticated` frame: the session lives until the new expiry. */
export function onReauthenticated(expiresAt) {
  if (typeof expiresAt === 'string' && session) {
    session.expires_at = expiresAt;
    storage.save(session);
  }
}
