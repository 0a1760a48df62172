/*
 * The widget's words: one catalog per language (locale-<code>.js; English, locale-en.js, is
 * the reference every other catalog matches key for key), the language this page gets, and
 * t(key, params) to look a sentence up.
 *
 * The language is the snippet's data-locale when we have it, else the first of the browser's
 * languages we have, else English. Only English and the chosen catalog are loaded.
 * To add a sentence: one line in each locale-*.js, then t('the.key') where it is shown
 * (always a literal key: the catalog test in assets/catalogs.rs finds the keys the code uses).
 */

import en from './locale-en.js';

/* The languages the widget speaks; those written right to left. */
export const LOCALES = ['en', 'de', 'fr', 'es', 'nl', 'ar'];
const RIGHT_TO_LEFT = ['ar'];

/* One literal import() a language, so each file is fetched only when it is the one chosen. */
const LOADERS = {
  de: function () {
    return import('./locale-de.js');
  },
  fr: function () {
    return import('./locale-fr.js');
  },
  es: function () {
    return import('./locale-es.js');
  },
  nl: function () {
    return import('./locale-nl.js');
  },
  ar: function () {
    return import('./locale-ar.js');
  }
};

let active = en;
export let lang = 'en'; // the BCP 47 tag the widget's root carries (lang=)
export let dir = 'ltr'; // ltr | rtl (dir=)
export let formatLocale = 'en'; // numbers and times: the browser's own tag when it is this language (en-GB, de-AT)

function own(table, key) {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/* 'de-AT', 'DE', 'de_CH' → 'de' when the widget speaks it, else null. */
export function supported(tag) {
  if (typeof tag !== 'string') return null;
  const primary = tag.trim().toLowerCase().split(/[-_]/)[0];
  return LOCALES.indexOf(primary) !== -1 ? primary : null;
}

/* The snippet's data-locale if we speak it, else the browser's preferences, else 'en'. */
export function chooseLocale(script) {
  const asked = script && script.getAttribute ? supported(script.getAttribute('data-locale')) : null;
  if (asked) return asked;
  const prefs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  for (let i = 0; i < prefs.length && i < 20; i++) {
    const m = supported(prefs[i]);
    if (m) return m;
  }
  return 'en';
}

/*
 * Makes `code` the widget's language. Resolves once its catalog is loaded; a catalog that
 * cannot be loaded leaves the widget in English (a chat in English beats no chat).
 */
export function useLocale(code) {
  const load = own(LOADERS, code);
  if (!load) return Promise.resolve(setActive('en', en));
  return load().then(function (m) {
    setActive(code, m.default);
  }, function (e) {
    if (window.console && console.error) console.error('vouch chat: no catalog for', code, e && e.message ? e.message : e);
    setActive('en', en);
  });
}

function setActive(code, catalog) {
  active = catalog && typeof catalog === 'object' ? catalog : en;
  lang = active === en ? 'en' : code;
  dir = RIGHT_TO_LEFT.indexOf(lang) !== -1 ? 'rtl' : 'ltr';
  formatLocale = lang;
  const prefs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  for (let i = 0; i < prefs.length && i < 20; i++) {
    if (supported(prefs[i]) === lang) {
      formatLocale = prefs[i];
      break;
    }
  }
}

/* A number as the widget's language writes it. */
export function formatNumber(n) {
  try {
    return new Intl.NumberFormat(formatLocale).format(n);
  } catch (e) {
    return String(n);
  }
}

/*
 * The sentence for `key` in the widget's language (English if the catalog lacks it), with each
 * `{name}` replaced by params[name]; numbers are written the language's way.
 */
export function t(key, params) {
  let s = own(active, key);
  if (typeof s !== 'string') s = own(en, key);
  if (typeof s !== 'string') return key;
  if (!params) return s;
  return s.replace(/\{([A-Za-z]+)\}/g, function (whole, name) {
    const v = own(params, name);
    if (v === undefined || v === null) return whole;
    return typeof v === 'number' ? formatNumber(v) : String(v);
  });
}

/*
 * The sentence explaining a code the server sent (`prefix` 'error' or 'reason'), or undefined
 * when the widget has none for it: the caller then shows the server's own words.
 */
export function codeText(prefix, code) {
  if (typeof code !== 'string' || !code) return undefined;
  const key = prefix + '.' + code;
  return typeof own(en, key) === 'string' ? t(key) : undefined;
}
