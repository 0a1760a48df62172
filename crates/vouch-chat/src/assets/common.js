/*
 * What the agent console (agent.js) and the admin pages (admin.js) share: DOM helpers and one
 * way to call the chat service's JSON API. Both pages are same-origin with the API and signed in
 * by the HttpOnly cookie of POST /api/v1/agent/login, so no script here sees a token.
 *
 * api() never rejects: a network failure is {status: 0}, and a 401 while signed in (the
 * session ended or was revoked) sends the page back to its sign-in form through the handler
 * the page registers with onSignedOut().
 */

import { t } from './strings.js';

export const LOGIN_PATH = '/api/v1/agent/login';
export const UNREACHABLE = t('unreachable');
export const SESSION_ENDED = t('sessionEnded');

export function $(id) {
  return document.getElementById(id);
}

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = String(text);
  return e;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function show(node, on) {
  node.hidden = !on;
}

let signedIn = function () {
  return false;
};
let signedOut = function () {};

/* `isSignedIn()` tells whether the page shows a signed-in view; `handler()` returns it to sign-in. */
export function onSignedOut(isSignedIn, handler) {
  signedIn = isSignedIn;
  signedOut = handler;
}

/* fetch JSON from our own API → {status, body}; status 0 for a network failure. */
export function api(method, path, body) {
  const opts = { method: method, credentials: 'same-origin', cache: 'no-store', headers: {} };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  return fetch(path, opts).then(function (res) {
    return res.text().then(function (t) {
      let b = null;
      try {
        b = t ? JSON.parse(t) : null;
      } catch (e) {
        b = null;
      }
      if (res.status === 401 && path !== LOGIN_PATH && signedIn()) signedOut();
      return { status: res.status, body: b };
    });
  }).catch(function () {
    return { status: 0, body: null };
  });
}

/* A sentence for a failed answer: the server's message, else `fallback` with the code or status. */
export function apiMessage(r, fallback) {
  if (r.status === 0) return UNREACHABLE;
  if (r.status === 403 && r.body && r.body.error === 'forbidden') return t('adminsOnly');
  if (r.body && typeof r.body.message === 'string' && r.body.message) return r.body.message;
  if (r.body && typeof r.body.error === 'string') return t('failedCode', { what: fallback, code: r.body.error });
  return t('failedStatus', { what: fallback, status: r.status });
}
