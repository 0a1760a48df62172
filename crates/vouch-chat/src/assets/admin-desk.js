/*
 * The admin pages' support desk tabs: Agents (create, rename, role, capacity, deactivate, reset
 * password) and Queues & routing (queues, their members, each widget's routing rules). An ES
 * module loaded by admin.js; data is rendered with textContent and form values only.
 */

import { $, el, clear, show, api, apiMessage } from './common.js';
import { t } from './strings.js';

var agents = [];
var queues = [];
var widgets = [];
var editingAgent = null;
var editingQueue = null;
var routingWidget = null; // the widget whose rules the routing form shows

function setText(id, text) {
  var n = $(id);
  n.textContent = text || '';
  show(n, !!text);
}

/* Clears `<prefix>-form`'s field errors and its -error and -saved lines. */
function resetForm(prefix) {
  var form = $(prefix + '-form');
  Array.prototype.forEach.call(form.querySelectorAll('[data-field]'), function (input) {
    input.removeAttribute('aria-invalid');
    var e = $(input.id + '-error');
    if (e) setText(e.id, '');
  });
  setText(prefix + '-error', '');
  setText(prefix + '-saved', '');
  return form;
}

/* A failed save: a 422 next to its field (rules' inner fields next to the rules), else the form's line. */
function saveFailed(prefix, r, fallback, inner) {
  var form = $(prefix + '-form');
  var msg = apiMessage(r, fallback);
  var field = r.status === 422 && r.body ? String(r.body.field || '') : '';
  if (inner && inner.indexOf(field) !== -1) field = inner[0];
  var input = field && /^[a-z_]+$/.test(field) ? form.querySelector('[data-field="' + field + '"]') : null;
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    setText(input.id + '-error', msg);
    if (input.focus) input.focus();
    setText(prefix + '-error', t('notSavedField'));
  } else {
    setText(prefix + '-error', msg);
  }
}

function agentName(id) {
  var a = agents.find(function (x) { return x.id === id; });
  return a ? a.name : id;
}

function option(value, text) {
  var o = el('option', '', text);
  o.value = value;
  return o;
}

/* Loads agents, queues and widgets (for routing), then shows the tab. */
export function loadDesk() {
  setText('admin-error', '');
  return Promise.all([
    api('GET', '/api/v1/admin/agents'),
    api('GET', '/api/v1/admin/queues'),
    api('GET', '/api/v1/admin/widgets')
  ]).then(function (rs) {
    var bad = rs.find(function (r) { return r.status !== 200 || !r.body; });
    if (bad) {
      if (bad.status !== 401) setText('admin-error', apiMessage(bad, 'Could not load the desk'));
      return;
    }
    agents = rs[0].body.agents || [];
    queues = rs[1].body.queues || [];
    widgets = rs[2].body.widgets || [];
    renderAgents();
    renderQueues();
    renderRoutingWidgets();
  });
}

// ------------------------------------------------------------------ agents

function renderAgents() {
  var tb = $('agents-rows');
  clear(tb);
  show($('agents-empty'), agents.length === 0);
  agents.forEach(function (a) {
    var tr = el('tr');
    tr.setAttribute('data-testid', 'agents-row');
    tr.setAttribute('data-agent-id', a.id);
    [a.name, a.email, a.role, a.status, a.active_count + ' of ' + a.capacity, a.active ? 'Active' : 'Deactivated'].forEach(function (t, i) {
      var td = el('td', i === 3 ? 'status-' + a.status : '', t);
      tr.appendChild(td);
    });
    var td = el('td');
    var b = el('button', 'btn btn-secondary', 'Edit');
    b.type = 'button';
    b.setAttribute('data-testid', 'agents-edit');
    b.setAttribute('aria-label', 'Edit ' + a.name);
    b.addEventListener('click', function () { editAgent(a); });
    td.appendChild(b);
    tr.appendChild(td);
    tb.appendChild(tr);
  });
}

function editAgent(a) {
  editingAgent = a;
  resetForm('agents');
  $('agents-form-title').textContent = a ? 'Edit ' + a.name : 'New agent';
  $('agents-email').value = a ? a.email : '';
  $('agents-email').disabled = !!a;
  $('agents-name').value = a ? a.name : '';
  $('agents-role').value = a ? a.role : 'agent';
  $('agents-capacity').value = a ? String(a.capacity) : '3';
  $('agents-password').value = '';
  $('agents-password-label').textContent = a ? 'New password (leave empty to keep)' : 'Password';
  $('agents-active').checked = a ? a.active : true;
  $('agents-active').disabled = !a;
  show($('agents-cancel'), !!a);
  $(a ? 'agents-name' : 'agents-email').focus();
}

function saveAgent(ev) {
  ev.preventDefault();
  resetForm('agents');
  var cap = $('agents-capacity').value.trim();
  var body = {
    name: $('agents-name').value.trim(),
    role: $('agents-role').value,
    capacity: cap === '' ? null : Number(cap)
  };
  var pw = $('agents-password').value;
  var req;
  if (editingAgent) {
    if (pw) body.password = pw;
    body.active = $('agents-active').checked;
    req = api('PATCH', '/api/v1/admin/agents/' + encodeURIComponent(editingAgent.id), body);
  } else {
    body = { email: $('agents-email').value.trim(), name: body.name, role: body.role, password: pw, capacity: body.capacity };
    req = api('POST', '/api/v1/admin/agents', body);
  }
  $('agents-save').disabled = true;
  req.then(function (r) {
    $('agents-save').disabled = false;
    if (r.status !== 200 && r.status !== 201) {
      saveFailed('agents', r, 'The agent was not saved');
      return;
    }
    var name = r.body.name;
    editAgent(null);
    setText('agents-saved', t('savedWhat', { what: name }));
    loadDesk();
  });
}

// ------------------------------------------------------------------ queues

function renderQueues() {
  var tb = $('queues-rows');
  clear(tb);
  show($('queues-empty'), queues.length === 0);
  queues.forEach(function (q) {
    var tr = el('tr');
    tr.setAttribute('data-testid', 'queues-row');
    tr.setAttribute('data-queue-id', q.id);
    var name = el('td', '', q.name);
    if (q['default']) name.appendChild(el('span', 'tag', 'default'));
    tr.appendChild(name);
    tr.appendChild(el('td', '', String(q.priority)));
    tr.appendChild(el('td', '', q.auto_assign ? 'Yes' : 'No (accept by hand)'));
    tr.appendChild(el('td', '', q.agent_ids.length ? q.agent_ids.map(agentName).join(', ') : 'Nobody'));
    var td = el('td');
    var b = el('button', 'btn btn-secondary', 'Members');
    b.type = 'button';
    b.setAttribute('data-testid', 'queues-edit');
    b.setAttribute('aria-label', 'Members of ' + q.name);
    b.addEventListener('click', function () { editQueue(q); });
    td.appendChild(b);
    tr.appendChild(td);
    tb.appendChild(tr);
  });
}

function editQueue(q) {
  editingQueue = q;
  resetForm('queues');
  $('queues-form-title').textContent = q ? 'Members of ' + q.name : 'New queue';
  $('queues-name').value = q ? q.name : '';
  $('queues-priority').value = q ? String(q.priority) : '0';
  $('queues-auto').checked = q ? q.auto_assign : true;
  ['queues-name', 'queues-priority', 'queues-auto'].forEach(function (id) { $(id).disabled = !!q; });
  var box = $('queues-members');
  clear(box);
  agents.forEach(function (a) {
    var label = el('label', 'check');
    var cb = el('input');
    cb.type = 'checkbox';
    cb.value = a.id;
    cb.checked = !!q && q.agent_ids.indexOf(a.id) !== -1;
    cb.setAttribute('data-testid', 'queues-member');
    label.appendChild(cb);
    label.appendChild(document.createTextNode(' ' + a.name + ' (' + a.email + ')'));
    box.appendChild(label);
  });
  show($('queues-members-box'), !!q);
  show($('queues-cancel'), !!q);
  if (!q) $('queues-name').focus();
  else if (box.querySelector('input')) box.querySelector('input').focus();
}

function saveQueue(ev) {
  ev.preventDefault();
  resetForm('queues');
  var req;
  if (editingQueue) {
    var ids = Array.prototype.filter.call($('queues-members').querySelectorAll('input'), function (cb) {
      return cb.checked;
    }).map(function (cb) { return cb.value; });
    req = api('PUT', '/api/v1/admin/queues/' + encodeURIComponent(editingQueue.id) + '/members', { agent_ids: ids });
  } else {
    var p = $('queues-priority').value.trim();
    req = api('POST', '/api/v1/admin/queues', {
      name: $('queues-name').value.trim(),
      priority: p === '' ? null : Number(p),
      auto_assign: $('queues-auto').checked
    });
  }
  $('queues-save').disabled = true;
  req.then(function (r) {
    $('queues-save').disabled = false;
    if (r.status !== 200 && r.status !== 201) {
      saveFailed('queues', r, 'The queue was not saved');
      return;
    }
    editQueue(null);
    setText('queues-saved', t('savedWhat', { what: r.body.name }));
    loadDesk();
  });
}

// ----------------------------------------------------------------- routing

function queueSelect(value, withDefault) {
  var s = el('select');
  if (withDefault) s.appendChild(option('', 'The default queue (General)'));
  queues.forEach(function (q) { s.appendChild(option(q.id, q.name)); });
  s.value = value || (withDefault ? '' : (queues[0] ? queues[0].id : ''));
  return s;
}

/* The widget list; the rules are (re)loaded only for another widget, so unsaved edits stay. */
function renderRoutingWidgets() {
  var sel = $('routing-widget');
  var keep = sel.value;
  clear(sel);
  widgets.forEach(function (w) { sel.appendChild(option(w.app_id, w.name)); });
  if (keep) sel.value = keep;
  show($('routing-form'), widgets.length > 0);
  if (!widgets.length) return;
  if (sel.value !== routingWidget) loadRouting();
  else refreshQueueOptions();
}

/* Every queue select of the routing form lists the queues as they are now, keeping its choice. */
function refreshQueueOptions() {
  Array.prototype.forEach.call(document.querySelectorAll('#routing-rules select.rule-queue, #routing-default'), function (s) {
    var keep = s.value;
    var fresh = queueSelect(keep, s.id === 'routing-default');
    clear(s);
    Array.prototype.slice.call(fresh.options).forEach(function (o) { s.appendChild(o); });
    s.value = keep;
  });
}

function loadRouting() {
  var id = $('routing-widget').value;
  routingWidget = id;
  resetForm('routing');
  api('GET', '/api/v1/admin/widgets/' + encodeURIComponent(id) + '/routing').then(function (r) {
    if (r.status !== 200 || !r.body) {
      setText('routing-error', apiMessage(r, t('loadRulesFailed')));
      return;
    }
    var box = $('routing-rules');
    clear(box);
    (r.body.rules || []).forEach(addRule);
    var d = $('routing-default');
    var fresh = queueSelect(r.body.default_queue_id, true);
    clear(d);
    Array.prototype.slice.call(fresh.options).forEach(function (o) { d.appendChild(o); });
    d.value = r.body.default_queue_id || '';
  });
}

/* One rule row: who (verified or not), context conditions (name=value a line), the queue. */
function addRule(rule) {
  var box = $('routing-rules');
  var n = box.children.length + 1;
  var row = el('fieldset', 'rule');
  row.setAttribute('data-testid', 'routing-rule');
  row.appendChild(el('legend', '', 'Rule ' + n));
  var who = el('select');
  who.setAttribute('aria-label', 'Rule ' + n + ': customers');
  who.appendChild(option('', 'Any customer'));
  who.appendChild(option('true', 'Verified customers'));
  who.appendChild(option('false', 'Not verified customers'));
  var when = (rule && rule.when) || {};
  who.value = when.verified === true ? 'true' : when.verified === false ? 'false' : '';
  var ctx = el('textarea');
  ctx.rows = 2;
  ctx.placeholder = 'loyalty_tier=Gold';
  ctx.setAttribute('aria-label', 'Rule ' + n + ': token context conditions, one name=value a line');
  ctx.value = Object.keys(when.context || {}).map(function (k) { return k + '=' + when.context[k]; }).join('\n');
  var q = queueSelect(rule ? rule.queue_id : null, false);
  q.className = 'rule-queue';
  q.setAttribute('aria-label', 'Rule ' + n + ': queue');
  var rm = el('button', 'btn btn-secondary', 'Remove');
  rm.type = 'button';
  rm.setAttribute('aria-label', 'Remove rule ' + n);
  rm.addEventListener('click', function () { box.removeChild(row); });
  [who, ctx, q, rm].forEach(function (c) { row.appendChild(c); });
  box.appendChild(row);
}

function saveRouting(ev) {
  ev.preventDefault();
  resetForm('routing');
  var rules = [];
  var bad = null;
  Array.prototype.forEach.call($('routing-rules').children, function (row, i) {
    var parts = row.querySelectorAll('select, textarea');
    var when = {};
    if (parts[0].value) when.verified = parts[0].value === 'true';
    var context = {};
    parts[1].value.split('\n').forEach(function (line) {
      if (!line.trim()) return;
      var eq = line.indexOf('=');
      if (eq < 1) bad = bad || 'Rule ' + (i + 1) + ': write each condition as name=value.';
      else context[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    });
    if (Object.keys(context).length) when.context = context;
    rules.push({ when: when, queue_id: parts[2].value });
  });
  if (bad) {
    setText('routing-rules-error', bad);
    setText('routing-error', t('notSavedField'));
    return;
  }
  var d = $('routing-default').value;
  var id = $('routing-widget').value;
  api('PUT', '/api/v1/admin/widgets/' + encodeURIComponent(id) + '/routing', { rules: rules, default_queue_id: d || null })
    .then(function (r) {
      if (r.status !== 200) {
        saveFailed('routing', r, 'The rules were not saved', ['rules', 'queue_id', 'when', 'verified', 'context']);
        return;
      }
      setText('routing-saved', (rules.length === 1 ? t('savedOneRule') : t('savedRules', { count: rules.length })));
    });
}

export function initDesk() {
  $('agents-form').addEventListener('submit', saveAgent);
  $('agents-new').addEventListener('click', function () { editAgent(null); });
  $('agents-cancel').addEventListener('click', function () { editAgent(null); });
  $('queues-form').addEventListener('submit', saveQueue);
  $('queues-new').addEventListener('click', function () { editQueue(null); });
  $('queues-cancel').addEventListener('click', function () { editQueue(null); });
  $('routing-form').addEventListener('submit', saveRouting);
  $('routing-widget').addEventListener('change', loadRouting);
  $('routing-add').addEventListener('click', function () { addRule(null); });
}
