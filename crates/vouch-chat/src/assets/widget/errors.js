/*
 * What the widget tells the customer about an error the chat service names by its wire code:
 * the catalogs' `error.<code>` sentences (keyed by the `error` field of a REST error body or an
 * `error` frame) and `reason.<code>` (the `reason` of an `invalid_token` answer, the verifier's
 * reason codes). A code without a sentence is shown with the server's own `message`.
 * A new wire code the widget should explain: one `'error.<code>'` line in each locale-*.js.
 */

import { t, codeText } from './strings.js';

/* The sentence for an `invalid_token` answer with this `reason`. */
export function tokenRefused(reason) {
  const r = typeof reason === 'string' ? reason : '';
  return t('msg.tokenRefused', { reason: codeText('reason', r) || r || t('msg.unknownReason') });
}

/* The sentence for an `error` frame {error, message}. */
export function frameErrorText(code, message) {
  return codeText('error', code) ||
    (typeof message === 'string' && message ? message : t('msg.somethingWrong', { code: code || t('msg.unknownError') }));
}

/*
 * A REST answer that is not a success, as {text, retry}: retry is true while waiting may
 * help (busy, server trouble), false when the visitor or the site owner must act.
 */
export function restErrorSentence(status, body) {
  const code = body && typeof body.error === 'string' ? body.error : '';
  if (code === 'origin_not_allowed' || status === 403) return { text: t('error.origin_not_allowed'), retry: false };
  if (code === 'invalid_token') return { text: tokenRefused(body.reason), retry: false };
  if (code === 'auth_required') return { text: t('error.auth_required'), retry: false };
  if (code === 'unknown_widget' || status === 404) return { text: t('error.unknown_widget'), retry: false };
  if (status === 429 || code === 'rate_limited') return { text: t('msg.busy'), retry: true };
  if (status >= 500) return { text: t('msg.serverTrouble'), retry: true };
  const m = body && typeof body.message === 'string' && body.message ? body.message : t('msg.unexpectedAnswer', { status: status });
  return { text: t('msg.couldNotStart', { detail: m }), retry: false };
}
