/*
 * The console's transfer dialog (data-testid "transfer"): the assigned agent (or an admin) hands
 * the open conversation to a colleague or back to a queue, with an optional internal note. The
 * conversation keeps its id, history, context and verification (POST …/transfer).
 */

import { $, el, clear, show, api, apiMessage } from './common.js';
import { state } from './agent-model.js';
import { setError } from './agent-view.js';
import { t } from './strings.js';

function option(value, text) {
  const o = el('option', '', text);
  o.value = value;
  return o;
}

function dialogError(text) {
  $('transfer-error').textContent = text || '';
  show($('transfer-error'), !!text);
}

/* Opens the dialog for the selected conversation with the current colleagues and queues. */
function open() {
  const id = state.selected;
  if (!id) return;
  dialogError('');
  $('transfer-note').value = '';
  const sel = $('transfer-target');
  clear(sel);
  $('transfer-submit').disabled = true;
  Promise.all([api('GET', '/api/v1/agent/agents'), api('GET', '/api/v1/agent/queues')]).then(function (rs) {
    if (rs.some(function (r) { return r.status !== 200 || !r.body; })) {
      dialogError(apiMessage(rs.find(function (r) { return r.status !== 200; }) || rs[0], 'Could not load agents and queues'));
      return;
    }
    const c = state.convs[id];
    const agents = el('optgroup');
    agents.label = 'Agents';
    rs[0].body.agents.forEach(function (a) {
      if (c && a.id === c.agent_id) return;
      agents.appendChild(option('agent:' + a.id, a.name + ' \u00b7 ' + a.status + ' \u00b7 ' + a.active_count + ' of ' + a.capacity));
    });
    const queues = el('optgroup');
    queues.label = 'Queues';
    rs[1].body.queues.forEach(function (q) {
      queues.appendChild(option('queue:' + q.id, q.name + ' queue'));
    });
    sel.appendChild(agents);
    sel.appendChild(queues);
    $('transfer-submit').disabled = sel.options.length === 0;
  });
  $('transfer-dialog').showModal();
  sel.focus();
}

function submit(ev) {
  ev.preventDefault();
  const id = state.selected;
  const target = $('transfer-target').value;
  if (!id || !target) return;
  const body = {};
  const colon = target.indexOf(':');
  body[target.slice(0, colon) === 'agent' ? 'to_agent_id' : 'to_queue_id'] = target.slice(colon + 1);
  const note = $('transfer-note').value.trim();
  if (note) body.note = note;
  $('transfer-submit').disabled = true;
  api('POST', '/api/v1/agent/conversations/' + encodeURIComponent(id) + '/transfer', body).then(function (r) {
    $('transfer-submit').disabled = false;
    if (r.status !== 200) {
      dialogError(apiMessage(r, t('transferFailed')));
      return;
    }
    $('transfer-dialog').close();
    setError('');
  });
}

export function bindTransfer() {
  $('transfer').addEventListener('click', open);
  $('transfer-form').addEventListener('submit', submit);
  $('transfer-cancel').addEventListener('click', function () {
    $('transfer-dialog').close();
  });
}
