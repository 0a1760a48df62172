/*
 * Helpers the widget's modules share: DOM builders, time formatting, and the guard that keeps the widget's own failures away from the host page.
 */

import { formatLocale } from './strings.js';

export function el(tag, cls, testid) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (testid) e.setAttribute('data-testid', testid);
  return e;
}

export function svg(pathD) {
  const ns = 'http://www.w3.org/2000/svg';
  const s = document.createElementNS(ns, 'svg');
  s.setAttribute('viewBox', '0 0 24 24');
  s.setAttribute('width', '26');
  s.setAttribute('height', '26');
  s.setAttribute('aria-hidden', 'true');
  s.setAttribute('focusable', 'false');
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', pathD);
  p.setAttribute('fill', 'currentColor');
  s.appendChild(p);
  return s;
}

export function sleep(ms) {
  return new Promise(function (r) {
    setTimeout(r, ms);
  });
}

export function contactName(c) {
  if (!c) return '';
  const n = [c.given_name, c.family_name].filter(function (x) {
    return typeof x === 'string' && x.trim();
  }).join(' ');
  return n || c.preferred_username || c.email || '';
}

export function formatTime(iso) {
  let d = iso ? new Date(iso) : new Date();
  if (isNaN(d.getTime())) d = new Date();
  try {
    return d.toLocaleTimeString(formatLocale, { hour: '2-digit', minute: '2-digit' });
  } catch (e) {
    return '';
  }
}

// ------------------------------------------------------------------ guard

let shown = null; // shows an internal failure to the visitor, once the UI exists

/* Where report() tells the visitor that something broke (set by main.js once the UI is built). */
export function onInternalError(fn) {
  shown = fn;
}

/* Logs an exception thrown inside the widget and says so in chat-error; never throws. */
export function report(e) {
  try {
    if (shown) shown();
    if (window.console && console.error) console.error('vouch chat:', e && e.message ? e.message : e);
  } catch (ignored) {
    /* never let the widget break the page */
  }
}

/* Wraps an event handler so that nothing it throws reaches the host page. */
export function guard(fn) {
  return function () {
    try {
      return fn.apply(this, arguments);
    } catch (e) {
      report(e);
    }
  };
}

/* The same for a promise's rejection handler. */
export function guardErr(fn) {
  return function (err) {
    try {
      fn(err);
    } catch (e) {
      report(e);
    }
  };
}
