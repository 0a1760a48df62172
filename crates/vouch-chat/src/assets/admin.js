/*
 * vouch admin pages (/admin): chat authentication settings, widgets (with the snippet
 * to paste), verification failures. An ES module; cookie-authenticated, same origin (see
 * common.js); all data is rendered with textContent / form values, never as HTML.
 */

import { $, el, clear, show, api, apiMessage, onSignedOut, SESSION_ENDED } from './common.js';
import { t } from './strings.js';
import { initReports, loadReport } from './admin-reports.js';
import { initCannedAdmin, loadCannedAdmin } from './admin-canned.js';
import { initWebhooks, loadWebhooks } from './admin-webhooks.js';
import { initDesk, loadDesk } from './admin-desk.js';

function setText(id, text) {
  var n = $(id);
  n.textContent = text || '';
  show(n, !!text);
}

function fmtTime(iso) {
  var d = new Date(iso);
  return isNaN(d.getTime()) ? String(iso || '') : d.toLocaleString();
}

// ------------------------------------------------------------------ login

var me = null;

function showLogin(message) {
  me = null;
  show($('app'), false);
  show($('who'), false);
  show($('login'), true);
  setText('login-error', message);
}

function onLogin(ev) {
  ev.preventDefault();
  var email = $('agent-email').value.trim();
  var password = $('agent-password').value;
  if (!email || !password) {
    setText('login-error', t('enterEmailPassword'));
    return;
  }
  $('agent-login').disabled = true;
  api('POST', '/api/v1/agent/login', { email: email, password: password }).then(function (r) {
    $('agent-login').disabled = false;
    if (r.status === 200) {
      $('agent-password').value = '';
      setText('login-error', '');
      return loadMe();
    }
    if (r.status === 401) setText('login-error', t('wrongPassword'));
    else setText('login-error', apiMessage(r, t('signInFailed')));
  });
}

function loadMe() {
  return api('GET', '/api/v1/agent/me').then(function (r) {
    if (r.status !== 200 || !r.body) {
      showLogin(r.status === 401 ? '' : apiMessage(r, t('loadAccountFailed')));
      return;
    }
    me = r.body;
    show($('login'), false);
    show($('who'), true);
    $('who-name').textContent = (me.name || me.email || '') + (me.role ? ' \u00b7 ' + me.role : '');
    if (me.role !== 'admin') {
      show($('app'), false);
      show($('login'), true);
      setText('login-error', t('adminPageForAdmins'));
      return;
    }
    show($('app'), true);
    loadAll();
  });
}

function logout() {
  api('POST', '/api/v1/agent/logout').then(function () {
    showLogin(t('signedOut'));
  });
}

// ------------------------------------------------------------------- tabs

var TABS = ['settings', 'widgets', 'failures', 'agents', 'queues', 'reports', 'canned', 'webhooks'];

function selectTab(name) {
  TABS.forEach(function (tab) {
    $('tab-' + tab).setAttribute('aria-selected', tab === name ? 'true' : 'false');
    show($('sec-' + tab), tab === name);
  });
  if (name === 'failures') loadFailures();
  if (name === 'reports') loadReport();
  if (name === 'canned') loadCannedAdmin();
  if (name === 'webhooks') loadWebhooks();
  if (name === 'agents' || name === 'queues') loadDesk();
}

function loadAll() {
  setText('admin-error', '');
  loadSettings().then(loadWidgets);
}

/* GET a list (the array in body[field]) and hand it to `use`; a failure is shown in admin-error. */
function loadList(path, field, failure, use) {
  return api('GET', path).then(function (r) {
    if (r.status !== 200 || !r.body || !Array.isArray(r.body[field])) {
      if (r.status !== 401) setText('admin-error', apiMessage(r, failure));
      return;
    }
    use(r.body[field]);
  });
}

/*
 * Fills the table body `<prefix>-rows` with one row an item (data-testid `<prefix>-row`, its
 * id(item) in the attribute `idAttr`), its cells(item) as [class, text], and an Edit button
 * (`<prefix>-edit`) that calls edit(item); `<prefix>-empty` shows when there are none.
 */
function fillTable(prefix, items, idAttr, id, cells, edit) {
  var tb = $(prefix + '-rows');
  clear(tb);
  show($(prefix + '-empty'), items.length === 0);
  items.forEach(function (item) {
    var tr = el('tr');
    tr.setAttribute('data-testid', prefix + '-row');
    tr.setAttribute(idAttr, String(id(item)));
    cells(item).forEach(function (c) {
      tr.appendChild(el('td', c[0], c[1]));
    });
    var td = el('td');
    var b = el('button', 'btn btn-secondary', t('edit'));
    b.type = 'button';
    b.setAttribute('data-testid', prefix + '-edit');
    b.addEventListener('click', function () {
      edit(item);
    });
    td.appendChild(b);
    tr.appendChild(td);
    tb.appendChild(tr);
  });
}

// ------------------------------------------------------- form field errors

function clearFieldErrors(form) {
  Array.prototype.forEach.call(form.querySelectorAll('[data-field]'), function (input) {
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
    var e = $(input.id + '-error');
    if (e) setText(e.id, '');
  });
}

/* Clears the form `<prefix>-form`'s field errors and its -error and -saved lines; returns it. */
function resetForm(prefix) {
  var form = $(prefix + '-form');
  clearFieldErrors(form);
  setText(prefix + '-error', '');
  setText(prefix + '-saved', '');
  return form;
}

/* Shows a 422 {field, message} next to the named field; false if no such field. */
function showFieldError(form, field, message) {
  var base = String(field || '').split(/[.[]/)[0];
  var input = form.querySelector('[data-field="' + (/^[a-z_]+$/.test(base) ? base : '-') + '"]');
  if (!input) return false;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', input.id + '-error');
  setText(input.id + '-error', message);
  input.focus();
  return true;
}

function showSaveError(form, r, generalId, fallback) {
  var msg = apiMessage(r, fallback);
  if (r.status === 422 && r.body && r.body.field && showFieldError(form, r.body.field, msg)) {
    setText(generalId, t('notSavedFix'));
  } else {
    setText(generalId, msg);
  }
}

// -------------------------------------------------------- auth settings

var settings = [];
var editingSetting = null;

function loadSettings() {
  return loadList('/api/v1/admin/auth-settings', 'auth_settings', t('loadSettingsFailed'), function (list) {
    settings = list;
    renderSettings();
    renderAuthSelect();
  });
}

function renderSettings() {
  fillTable('settings', settings, 'data-id', function (s) {
    return s.id;
  }, function (s) {
    var leeway = s.leeway_secs != null ? s.leeway_secs + ' s' : '\u2014';
    var keys = s.key_count != null ? s.key_count : '\u2014';
    return [['', s.name], ['mono', s.public_key_url], ['mono', s.function_name], ['', s.issuer || '\u2014'], ['', leeway], ['', keys]];
  }, editSetting);
}

function editSetting(s) {
  editingSetting = s ? s.id : null;
  var form = resetForm('settings');
  $('settings-form-title').textContent = s ? t('editNamed', { name: s.name }) : t('newSetting');
  $('settings-name').value = s ? s.name || '' : '';
  $('settings-key-url').value = s ? s.public_key_url || '' : '';
  $('settings-function').value = s ? s.function_name || '' : '';
  $('settings-issuer').value = s ? s.issuer || '' : '';
  $('settings-leeway').value = s && s.leeway_secs != null ? String(s.leeway_secs) : '';
  show($('settings-cancel'), !!s);
  $('settings-name').focus();
}

function saveSetting(ev) {
  ev.preventDefault();
  var form = resetForm('settings');
  var body = {
    name: $('settings-name').value.trim(),
    public_key_url: $('settings-key-url').value.trim(),
    function_name: $('settings-function').value.trim()
  };
  var issuer = $('settings-issuer').value.trim();
  body.issuer = issuer ? issuer : null;
  var leeway = $('settings-leeway').value.trim();
  if (leeway) {
    if (!/^\d+$/.test(leeway)) {
      showFieldError(form, 'leeway_secs', t('leewayWhole'));
      return;
    }
    body.leeway_secs = Number(leeway);
  }
  var editing = editingSetting;
  $('settings-save').disabled = true;
  setText('settings-saved', t('savingFetchingKey'));
  var req = editing == null
    ? api('POST', '/api/v1/admin/auth-settings', body)
    : api('PUT', '/api/v1/admin/auth-settings/' + encodeURIComponent(editing), body);
  req.then(function (r) {
    $('settings-save').disabled = false;
    setText('settings-saved', '');
    if (r.status === 200 || r.status === 201) {
      var n = r.body && r.body.key_count != null ? r.body.key_count : null;
      editSetting(null);
      setText('settings-saved', n == null ? t('saved') : n === 1 ? t('savedOneKey') : t('savedKeys', { count: n }));
      loadSettings();
      return;
    }
    if (r.status === 401) return;
    showSaveError(form, r, 'settings-error', t('settingNotSaved'));
  });
}

// ---------------------------------------------------------------- widgets

var widgets = [];
var editingWidget = null;

function renderAuthSelect() {
  var sel = $('widget-auth');
  var current = sel.value;
  clear(sel);
  var none = el('option', '', t('noneAnonymous'));
  none.value = '';
  sel.appendChild(none);
  settings.forEach(function (s) {
    var o = el('option', '', s.name + ' (' + s.function_name + ')');
    o.value = String(s.id);
    sel.appendChild(o);
  });
  sel.value = current;
  if (sel.value !== current) sel.value = '';
}

function settingName(id) {
  if (id == null || id === '') return t('none');
  for (var i = 0; i < settings.length; i++) {
    if (String(settings[i].id) === String(id)) return settings[i].name;
  }
  return String(id);
}

/* The id as the server gave it (string or number), from the select's string value. */
function settingId(value) {
  for (var i = 0; i < settings.length; i++) {
    if (String(settings[i].id) === value) return settings[i].id;
  }
  return value;
}

function loadWidgets() {
  return loadList('/api/v1/admin/widgets', 'widgets', t('loadWidgetsFailed'), function (list) {
    widgets = list;
    renderWidgets();
  });
}

function renderWidgets() {
  fillTable('widget', widgets, 'data-app-id', function (w) {
    return w.app_id;
  }, function (w) {
    var origins = (Array.isArray(w.allowed_origins) ? w.allowed_origins : []).join('\n');
    return [['', w.name], ['mono', w.app_id], ['mono pre', origins], ['', settingName(w.auth_settings_id)], ['', w.require_auth ? t('yes') : t('no')]];
  }, editWidget);
}

function showSnippet(snippet) {
  $('widget-snippet').value = snippet || '';
  $('widget-copied').textContent = '';
  show($('snippet-box'), !!snippet);
}

/* Business hours (design: {timezone, days: {mon: [["09:00","17:00"]], …}} | null) to and from the
 * form: one text input per day of "HH:MM-HH:MM" ranges separated by commas. The service checks
 * them (a 422 names business_hours), so the form does not second-guess the times. */
var DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

function fillHours(h) {
  $('widget-tz').value = h && h.timezone ? h.timezone : '';
  DAYS.forEach(function (d) {
    var ranges = h && h.days && Array.isArray(h.days[d]) ? h.days[d] : [];
    $('widget-hours-' + d).value = ranges.map(function (r) { return r[0] + '-' + r[1]; }).join(', ');
  });
}

function readHours() {
  var tz = $('widget-tz').value.trim();
  if (!tz) return null;
  var days = {};
  DAYS.forEach(function (d) {
    var text = $('widget-hours-' + d).value.trim();
    if (!text) return;
    days[d] = text.split(',').map(function (r) {
      var parts = r.split('-');
      return [(parts[0] || '').trim(), (parts.slice(1).join('-') || '').trim()];
    });
  });
  return { timezone: tz, days: days };
}

function editWidget(w) {
  editingWidget = w ? w.app_id : null;
  var form = resetForm('widget');
  $('widget-form-title').textContent = w ? t('editNamed', { name: w.name }) : t('newWidget');
  $('widget-name').value = w ? w.name || '' : '';
  $('widget-title').value = w ? w.title || '' : '';
  $('widget-origins').value = w && Array.isArray(w.allowed_origins) ? w.allowed_origins.join('\n') : '';
  renderAuthSelect();
  $('widget-auth').value = w && w.auth_settings_id != null ? String(w.auth_settings_id) : '';
  $('widget-require-auth').checked = !!(w && w.require_auth);
  fillHours(w ? w.business_hours : null);
  $('widget-offline').value = w && w.offline_message ? w.offline_message : '';
  show($('widget-cancel'), !!w);
  showSnippet(w ? w.snippet : '');
  $('widget-name').focus();
}

function saveWidget(ev) {
  ev.preventDefault();
  var form = resetForm('widget');
  var origins = $('widget-origins').value.split(/\r?\n/).map(function (s) {
    return s.trim();
  }).filter(function (s) {
    return s.length > 0;
  });
  var auth = $('widget-auth').value;
  var body = {
    name: $('widget-name').value.trim(),
    allowed_origins: origins,
    auth_settings_id: auth ? settingId(auth) : null,
    require_auth: $('widget-require-auth').checked
  };
  var title = $('widget-title').value.trim();
  if (title) body.title = title;
  body.business_hours = readHours();
  body.offline_message = $('widget-offline').value.trim();
  if (body.require_auth && !auth) {
    showFieldError(form, 'auth_settings_id', t('requireAuthNeedsSetting'));
    return;
  }
  var editing = editingWidget;
  $('widget-save').disabled = true;
  var req = editing == null
    ? api('POST', '/api/v1/admin/widgets', body)
    : api('PUT', '/api/v1/admin/widgets/' + encodeURIComponent(editing), body);
  req.then(function (r) {
    $('widget-save').disabled = false;
    if (r.status === 200 || r.status === 201) {
      var saved = r.body || {};
      editingWidget = saved.app_id != null ? saved.app_id : editing;
      $('widget-form-title').textContent = t('editNamed', { name: saved.name || body.name });
      show($('widget-cancel'), true);
      setText('widget-saved', editing == null ? t('widgetCreated') : t('saved'));
      showSnippet(saved.snippet || '');
      loadWidgets();
      return;
    }
    if (r.status === 401) return;
    showSaveError(form, r, 'widget-error', t('widgetNotSaved'));
  });
}

function copySnippet() {
  var ta = $('widget-snippet');
  var text = ta.value;
  function done(ok) {
    $('widget-copied').textContent = ok ? t('copied') : t('copyByHand');
  }
  if (navigator.clipboard && navigator.clipboard.writeText) {
    navigator.clipboard.writeText(text).then(function () {
      done(true);
    }, function () {
      ta.select();
      done(false);
    });
  } else {
    ta.select();
    var ok = false;
    try {
      ok = document.execCommand('copy');
    } catch (e) {
      ok = false;
    }
    done(ok);
  }
}

// ----------------------------------------------------- verification failures

function loadFailures() {
  api('GET', '/api/v1/admin/verification-failures').then(function (r) {
    if (r.status !== 200 || !r.body) {
      if (r.status !== 401) setText('admin-error', apiMessage(r, t('loadFailuresFailed')));
      return;
    }
    setText('admin-error', '');
    var counts = r.body.counts && typeof r.body.counts === 'object' ? r.body.counts : {};
    var box = $('failures-counts');
    clear(box);
    var reasons = Object.keys(counts).sort(function (a, b) {
      return counts[b] - counts[a];
    });
    if (!reasons.length) box.appendChild(el('span', 'muted small', t('noFailures')));
    reasons.forEach(function (k) {
      var chip = el('span', 'count-chip', k);
      chip.setAttribute('data-testid', 'failure-count');
      chip.setAttribute('data-reason', k);
      chip.appendChild(el('b', '', counts[k]));
      box.appendChild(chip);
    });
    var recent = Array.isArray(r.body.recent) ? r.body.recent : [];
    var tb = $('failures-rows');
    clear(tb);
    show($('failures-empty'), recent.length === 0);
    recent.forEach(function (f) {
      var tr = el('tr');
      tr.setAttribute('data-testid', 'failure-row');
      tr.setAttribute('data-reason', String(f.reason || ''));
      tr.appendChild(el('td', '', fmtTime(f.at)));
      tr.appendChild(el('td', '', f.reason || ''));
      tr.appendChild(el('td', '', f.detail || ''));
      tr.appendChild(el('td', 'mono', f.kid || '\u2014'));
      tr.appendChild(el('td', 'mono', f.iss || '\u2014'));
      tr.appendChild(el('td', 'mono', f.sub || '\u2014'));
      tb.appendChild(tr);
    });
  });
}

// -------------------------------------------------------------------- boot

function boot() {
  onSignedOut(function () {
    return me != null;
  }, function () {
    showLogin(SESSION_ENDED);
  });
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', logout);
  TABS.forEach(function (tab) {
    $('tab-' + tab).addEventListener('click', function () {
      selectTab(tab);
    });
  });
  $('settings-form').addEventListener('submit', saveSetting);
  $('settings-new').addEventListener('click', function () {
    editSetting(null);
  });
  $('settings-cancel').addEventListener('click', function () {
    editSetting(null);
  });
  $('widget-form').addEventListener('submit', saveWidget);
  $('widget-new').addEventListener('click', function () {
    editWidget(null);
  });
  $('widget-cancel').addEventListener('click', function () {
    editWidget(null);
  });
  $('widget-copy').addEventListener('click', copySnippet);
  $('failures-refresh').addEventListener('click', loadFailures);
  initReports();
  initCannedAdmin();
  initWebhooks();
  initDesk();
  loadMe();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
