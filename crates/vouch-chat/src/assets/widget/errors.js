/*
 * What the widget tells the customer about an error the chat service names by its wire code:
 * `ERRORS` is keyed by the `error` field of a REST error body or an `error` frame, `REASONS` by
 * the `reason` of an `invalid_token` answer (the verifier's reason codes). A code missing here
 * is shown with the server's own `message`.
 */

import { MSG, couldNotStart } from './strings.js';

export const ERRORS = {
  origin_not_allowed: 'This site is not allowed to use this chat.',
  auth_required: 'Please sign in to chat with us.',
  unknown_widget: 'This chat is not set up correctly (unknown widget). Please contact the site owner.',
  text_too_long: 'That message is too long (at most 4,000 characters).',
  empty_text: 'An empty message cannot be sent.',
  rate_limited: "You're sending messages very fast; we'll send the rest in a moment.",
  conversation_ended: 'This chat has ended.',
  frame_too_large: 'That message is too large to send.',
  forbidden: 'That is not allowed in this chat.',
  internal: "Something went wrong on our side. We'll keep trying.",
  too_large: 'That file is too large to send.',
  unsupported_media_type: 'That kind of file cannot be sent (images, PDF and plain text only).',
  bad_attachment: 'That file could not be attached to the message.'
};

export const REASONS = {
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

function own(table, key) {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/* The sentence for an `invalid_token` answer with this `reason`. */
export function tokenRefused(reason) {
  const r = typeof reason === 'string' ? reason : 'unknown reason';
  return "We couldn't confirm your sign-in (" + (own(REASONS, r) || r) + '). Please sign in again.';
}

/* The sentence for an `error` frame {error, message}. */
export function frameErrorText(code, message) {
  return own(ERRORS, code) ||
    (typeof message === 'string' && message ? message : 'Something went wrong (' + (code || 'unknown error') + ').');
}

/*
 * A REST answer that is not a success, as {text, retry}: retry is true while waiting may
 * help (busy, server trouble), false when the visitor or the site owner must act.
 */
export function restErrorSentence(status, body) {
  const code = body && typeof body.error === 'string' ? body.error : '';
  if (code === 'origin_not_allowed' || status === 403) return { text: ERRORS.origin_not_allowed, retry: false };
  if (code === 'invalid_token') return { text: tokenRefused(body.reason), retry: false };
  if (code === 'auth_required') return { text: ERRORS.auth_required, retry: false };
  if (code === 'unknown_widget' || status === 404) return { text: ERRORS.unknown_widget, retry: false };
  if (status === 429 || code === 'rate_limited') return { text: MSG.busy, retry: true };
  if (status >= 500) return { text: MSG.serverTrouble, retry: true };
  const m = body && typeof body.message === 'string' && body.message ? body.message : 'unexpected answer ' + status;
  return { text: couldNotStart(m), retry: false };
}
