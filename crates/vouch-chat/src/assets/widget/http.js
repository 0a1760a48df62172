/*
 * The widget's REST side: where the chat service is (from the snippet's attributes), fetch
 * without cookies, and telling "this site is not allowed" from "the service is down" when the
 * browser reports both as a network failure.
 */

import { t } from './strings.js';
import { restErrorSentence } from './errors.js';

/* The snippet's data-app-id and the chat service's base URL (data-org-url, else the script's origin). */
export const site = { appId: '', org: '' };

export function configure(script) {
  function attr(name) {
    const v = script && script.getAttribute ? script.getAttribute(name) : null;
    return v == null ? '' : String(v).trim();
  }
  let url = attr('data-org-url');
  if (!url && script && script.src) {
    try {
      url = new URL(script.src, location.href).origin;
    } catch (e) {
      url = '';
    }
  }
  site.appId = attr('data-app-id');
  site.org = url.replace(/\/+$/, '');
}

/* A route of this widget's public API. */
export function api(path) {
  return site.org + '/api/v1/widgets/' + encodeURIComponent(site.appId) + path;
}

/* The customer socket's URL: the session token travels in a URL only here. */
export function socketUrl(sessionToken) {
  return site.org.replace(/^http/i, 'ws') + '/api/v1/chat?session_token=' + encodeURIComponent(sessionToken);
}

/* fetch that yields {status, body} or throws {network:true}. */
export function request(url, opts) {
  opts = opts || {};
  opts.mode = 'cors';
  opts.credentials = 'omit';
  opts.cache = 'no-store';
  opts.referrerPolicy = 'strict-origin-when-cross-origin';
  return fetch(url, opts).then(
    function (res) {
      return res.text().then(function (raw) {
        let body = null;
        try {
          body = raw ? JSON.parse(raw) : null;
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
export function explainNetworkFailure() {
  if (navigator.onLine === false) return Promise.resolve(t('msg.offline'));
  return reachable().then(function (up) {
    return up ? t('error.origin_not_allowed') : t('msg.unreachable');
  });
}

/*
 * Probes the bootstrapper script's URL: it is served with Cross-Origin-Resource-Policy:
 * cross-origin (it must load on any site), whereas the service's other routes (/healthz
 * included) are same-origin, which would make an opaque probe of them fail even when the
 * service is up.
 */
export function reachable() {
  const url = site.org + '/livechatwidget/scripts/LiveChatBootstrapper.js';
  return fetch(url, { method: 'HEAD', mode: 'no-cors', credentials: 'omit', cache: 'no-store' }).then(
    function () {
      return true;
    },
    function () {
      return false;
    }
  );
}

/*
 * The body of an answer that `ok` accepts; otherwise throws {fatal: text} (the visitor or the
 * site owner must act) or {transient: text} (waiting may help: retry).
 */
export function answerOrThrow(r, ok) {
  if (ok(r)) return r.body;
  const e = restErrorSentence(r.status, r.body);
  if (!e.retry) throw { fatal: e.text };
  throw { transient: e.text };
}

/* A network failure, thrown on as {fatal} (this origin is refused) or {transient} (down, offline). */
export function networkFailure() {
  return explainNetworkFailure().then(function (text) {
    if (text === t('error.origin_not_allowed')) throw { fatal: text };
    throw { transient: text };
  });
}
