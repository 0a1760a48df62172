/*
 * The admin pages' Webhooks tab: create a webhook (its signing secret is shown once), list and
 * delete them, and see one webhook's deliveries (status, attempts, last code, next attempt) with
 * "Redeliver" for a failed one. Rendered with textContent only.
 */

import { $, el, clear, show, api, apiMessage } from './common.js';
import { t } from './strings.js';

var EVENTS = ['conversation.created', 'conversation.assigned', 'message.created', 'conversation.ended', 'rating.created'];
var selected = null; // the webhook whose deliveries are shown

function say(id, text) {
  var n = $(id);
  n.textContent = text || '';
  show(n, !!text);
}

function fmtTime(iso) {
  if (!iso) return '\u2014';
  var d = new Date(iso);
  return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

function button(label, testid, cls, onClick) {
  var b = el('button', cls || 'btn btn-secondary', label);
  b.type = 'button';
  b.setAttribute('data-testid', testid);
  b.addEventListener('click', onClick);
  return b;
}

export function loadWebhooks() {
  return api('GET', '/api/v1/admin/webhooks').then(function (r) {
    if (r.status !== 200 || !r.body || !Array.isArray(r.body.webhooks)) {
      if (r.status !== 401) say('webhook-error', apiMessage(r, t('loadWebhooksFailed')));
      return;
    }
    say('webhook-error', '');
    var tb = $('webhook-rows');
    clear(tb);
    show($('webhook-empty'), r.body.webhooks.length === 0);
    r.body.webhooks.forEach(function (w) {
      var tr = el('tr');
      tr.setAttribute('data-testid', 'webhook-row');
      tr.setAttribute('data-id', w.id);
      tr.appendChild(el('td', 'mono', w.url));
      tr.appendChild(el('td', 'small', (w.events || []).join(', ')));
      tr.appendChild(el('td', '', fmtTime(w.created_at)));
      var td = el('td');
      td.appendChild(button('Deliveries', 'webhook-deliveries', null, function () {
        selected = w;
        loadDeliveries();
      }));
      td.appendChild(document.createTextNode(' '));
      td.appendChild(button('Delete', 'webhook-delete', 'btn btn-danger', function () {
        if (!window.confirm('Delete the webhook to ' + w.url + ' and its deliveries?')) return;
        api('DELETE', '/api/v1/admin/webhooks/' + encodeURIComponent(w.id)).then(function (d) {
          if (d.status !== 204) say('webhook-error', apiMessage(d, 'Could not delete the webhook'));
          if (selected && selected.id === w.id) {
            selected = null;
            show($('deliveries-panel'), false);
          }
          loadWebhooks();
        });
      }));
      tr.appendChild(td);
      tb.appendChild(tr);
    });
  });
}

function loadDeliveries() {
  if (!selected) return;
  var w = selected;
  show($('deliveries-panel'), true);
  $('deliveries-title').textContent = t('deliveriesTo', { url: w.url });
  api('GET', '/api/v1/admin/webhooks/' + encodeURIComponent(w.id) + '/deliveries').then(function (r) {
    if (r.status !== 200 || !r.body || !Array.isArray(r.body.deliveries)) {
      if (r.status !== 401) say('webhook-error', apiMessage(r, t('loadDeliveriesFailed')));
      return;
    }
    var tb = $('delivery-rows');
    clear(tb);
    show($('delivery-empty'), r.body.deliveries.length === 0);
    r.body.deliveries.forEach(function (d) {
      var tr = el('tr');
      tr.setAttribute('data-testid', 'delivery-row');
      tr.setAttribute('data-status', d.status);
      tr.appendChild(el('td', 'mono', d.event_id));
      tr.appendChild(el('td', '', d.type));
      var status = el('td', 'status-' + d.status, d.status);
      status.setAttribute('data-testid', 'delivery-status');
      if (d.last_error) status.title = d.last_error;
      tr.appendChild(status);
      tr.appendChild(el('td', '', String(d.attempts)));
      tr.appendChild(el('td', '', d.last_status_code == null ? '\u2014' : String(d.last_status_code)));
      tr.appendChild(el('td', '', fmtTime(d.next_attempt_at)));
      var td = el('td');
      if (d.status === 'failed') {
        td.appendChild(button('Redeliver', 'delivery-redeliver', null, function () {
          api('POST', '/api/v1/admin/webhooks/' + encodeURIComponent(w.id) + '/deliveries/' + encodeURIComponent(d.event_id) + '/redeliver').then(function (x) {
            if (x.status !== 202) say('webhook-error', apiMessage(x, 'Could not redeliver'));
            loadDeliveries();
          });
        }));
      }
      tr.appendChild(td);
      tb.appendChild(tr);
    });
  });
}

function createWebhook(ev) {
  ev.preventDefault();
  say('webhook-url-error', '');
  say('webhook-events-error', '');
  show($('webhook-secret-box'), false);
  var events = EVENTS.filter(function (e) {
    return $('webhook-event-' + e.replace('.', '-')).checked;
  });
  api('POST', '/api/v1/admin/webhooks', { url: $('webhook-url').value.trim(), events: events }).then(function (r) {
    if (r.status === 201 && r.body) {
      $('webhook-url').value = '';
      $('webhook-secret').value = r.body.secret;
      show($('webhook-secret-box'), true);
      $('webhook-secret').focus();
      $('webhook-secret').select();
      loadWebhooks();
      return;
    }
    if (r.status === 422 && r.body && (r.body.field === 'url' || r.body.field === 'events')) {
      say('webhook-' + r.body.field + '-error', r.body.message);
      $(r.body.field === 'url' ? 'webhook-url' : 'webhook-event-' + EVENTS[0].replace('.', '-')).focus();
      return;
    }
    say('webhook-error', apiMessage(r, t('webhookNotCreated')));
  });
}

export function initWebhooks() {
  $('webhook-form').addEventListener('submit', createWebhook);
  $('webhooks-refresh').addEventListener('click', function () {
    loadWebhooks();
    loadDeliveries();
  });
}
