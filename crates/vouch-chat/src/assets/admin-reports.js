/*
 * The admin pages' Reports tab (tab-reports): the summary of a chosen period from
 * GET /api/v1/admin/reports/summary — conversations, how many verified and ended, the median
 * wait and first response, the rating average, and conversations per queue. Rendered with
 * textContent only.
 */

import { $, api, apiMessage, clear, el, show } from './common.js';

/* ---- strings (the admin pages keep English) ---- */
const TEXT = {
  failed: 'Could not load the report',
  none: 'No conversations in this period.',
  noQueues: 'No queues recorded for this period.',
  badPeriod: 'Choose a start date on or before the end date.'
};

function isoDay(d) {
  return d.toISOString().slice(0, 10);
}

/* Seconds as "1 h 5 min", "2 min 5 s", "40 s"; an em dash for none. */
export function duration(secs) {
  if (typeof secs !== 'number' || !isFinite(secs)) return '\u2014';
  var s = Math.round(secs);
  if (s >= 3600) return Math.floor(s / 3600) + ' h ' + Math.round((s % 3600) / 60) + ' min';
  if (s >= 60) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  return s + ' s';
}

function percent(part, whole) {
  return whole ? ' (' + Math.round((100 * part) / whole) + '%)' : '';
}

/* Sets the period inputs to the last 30 days (once) and wires the form. */
export function initReports() {
  var to = new Date();
  var from = new Date(to.getTime() - 29 * 24 * 3600 * 1000);
  $('report-from').value = isoDay(from);
  $('report-to').value = isoDay(to);
  $('report-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    loadReport();
  });
}

/* Loads and shows the summary of the chosen days (the end day included). */
export function loadReport() {
  var from = $('report-from').value;
  var to = $('report-to').value;
  var err = $('report-error');
  if (!from || !to || from > to) {
    err.textContent = TEXT.badPeriod;
    show(err, true);
    return;
  }
  show(err, false);
  var end = new Date(to + 'T00:00:00Z');
  end.setUTCDate(end.getUTCDate() + 1);
  var q = '?from=' + encodeURIComponent(from + 'T00:00:00Z') + '&to=' + encodeURIComponent(end.toISOString());
  api('GET', '/api/v1/admin/reports/summary' + q).then(function (r) {
    if (r.status !== 200 || !r.body) {
      err.textContent = apiMessage(r, TEXT.failed);
      show(err, true);
      return;
    }
    render(r.body);
  });
}

function render(s) {
  var n = Number(s.conversations) || 0;
  $('report-conversations').textContent = String(n);
  $('report-verified').textContent = (Number(s.verified) || 0) + percent(Number(s.verified) || 0, n);
  $('report-ended').textContent = String(Number(s.ended) || 0);
  $('report-median-wait').textContent = duration(s.median_wait_secs);
  $('report-median-first-response').textContent = duration(s.median_first_response_secs);
  $('report-rating').textContent = typeof s.rating_avg === 'number'
    ? s.rating_avg.toFixed(1) + ' / 5 (' + s.rating_count + ' rated)'
    : '\u2014';
  show($('report-empty'), n === 0);
  var rows = $('report-queue-rows');
  clear(rows);
  var queues = Array.isArray(s.by_queue) ? s.by_queue : [];
  queues.forEach(function (q) {
    var tr = el('tr');
    tr.setAttribute('data-testid', 'report-queue-row');
    tr.appendChild(el('td', 'mono', String(q.queue_id)));
    tr.appendChild(el('td', '', String(q.conversations)));
    rows.appendChild(tr);
  });
  $('report-queues-empty').textContent = TEXT.noQueues;
  show($('report-queues-empty'), queues.length === 0);
}
