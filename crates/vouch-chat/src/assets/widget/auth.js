/*
 * Sign-in: the host page's token function (named by the widget's chat authentication setting,
 * e.g. auth.getAuthenticationToken, called with a callback as in the blog), the token's
 * subject, and renewing the sign-in on an open socket when the server asks for it.
 */

import { t } from './strings.js';
import { guard } from './util.js';
import { renderStatus, setError } from './view.js';
import { isOpen, sendFrame } from './transport.js';
import { config } from './session.js';

const AUTH_WAIT_MS = 10000; // how long the page may take to define the auth function
const AUTH_POLL_MS = 100;
const AUTH_CALLBACK_MS = 10000; // how long the auth function may take to call back

const NAME_RE = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;
const BAD_SEGMENTS = ['__proto__', 'prototype', 'constructor'];

export let reauthing = false; // a fresh token was asked for; sends wait until it is accepted

/* A dotted name (≤ 100 characters, no prototype segments) → {fn, owner} on window, or null. */
function resolveFunction(name) {
  if (typeof name !== 'string' || name.length > 100 || !NAME_RE.test(name)) return null;
  const parts = name.split('.');
  let owner = window;
  for (let i = 0; i < parts.length; i++) {
    if (BAD_SEGMENTS.indexOf(parts[i]) !== -1) return null;
    if (owner == null || (typeof owner !== 'object' && typeof owner !== 'function')) return null;
    const next = owner[parts[i]];
    if (i === parts.length - 1) {
      return typeof next === 'function' ? { fn: next, owner: owner } : null;
    }
    owner = next;
  }
  return null;
}

/* Waits for the page to define the function (it may come after the snippet). */
function waitForFunction(name) {
  const deadline = Date.now() + AUTH_WAIT_MS;
  return new Promise(function (resolve) {
    (function poll() {
      const found = resolveFunction(name);
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
    let done = false;
    let timer = null;
    function finish(v) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const got = typeof v === 'string' ? v.trim() : '';
      resolve(got ? got : null);
    }
    timer = setTimeout(function () {
      finish(null);
    }, AUTH_CALLBACK_MS);
    try {
      const ret = found.fn.call(found.owner, finish);
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

/* → {token|null, missing:bool, name?}: missing when the page never defined the function. */
export function getToken() {
  if (!config || !config.auth) return Promise.resolve({ token: null, missing: false });
  const name = config.auth.function_name;
  return waitForFunction(name).then(function (found) {
    if (!found) return { token: null, missing: true, name: name };
    return callAuth(found).then(function (token) {
      return { token: token, missing: false };
    });
  });
}

/* The token's `sub` (unverified: only to notice that a different user signed in), or null. */
export function tokenSub(token) {
  try {
    const part = token.split('.')[1];
    let b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    while (b64.length % 4) b64 += '=';
    const claims = JSON.parse(atob(b64));
    return typeof claims.sub === 'string' ? claims.sub : null;
  } catch (e) {
    return null;
  }
}

/* The server asked for a fresh token (reauth_required): get one and send it as an auth frame. */
export function reauthenticate() {
  if (reauthing) return;
  reauthing = true;
  renderStatus(t('status.renewing'));
  getToken().then(guard(function (tok) {
    if (!reauthing) return; // socket dropped meanwhile; resume handles it
    if (!tok.token) {
      setError(t('msg.reauthFailed'), 'reauth');
      renderStatus();
      return;
    }
    if (isOpen()) sendFrame({ type: 'auth', token: tok.token });
    renderStatus();
  }));
}

/* The renewal is over: accepted, or moot because the socket is gone or the chat restarts. */
export function endReauth() {
  reauthing = false;
}
