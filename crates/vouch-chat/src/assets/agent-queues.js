/*
 * The console's queue views (data-testid "queue-views"): one toggle a queue with the number of
 * conversations waiting in it, plus "All"; the waiting list shows the chosen queue only, and
 * each waiting conversation is tagged with its queue. Queue names come from
 * GET /api/v1/agent/queues; counts from the conversations the console holds.
 */

import { $, el, clear, api } from './common.js';
import { t } from './strings.js';

let queues = [];
let chosen = ''; // '' = every queue
let rerender = function () {};

/* Loads the queue names once signed in; `onChange` re-renders the lists. */
export function loadQueues(onChange) {
  if (onChange) rerender = onChange;
  return api('GET', '/api/v1/agent/queues').then(function (r) {
    if (r.status === 200 && r.body && Array.isArray(r.body.queues)) {
      queues = r.body.queues;
      rerender();
    }
  });
}

export function queueName(id) {
  const q = queues.find(function (x) { return x.id === id; });
  return q ? q.name : '';
}

/* Whether a waiting conversation is in the chosen view. */
export function inView(c) {
  return !chosen || c.queue_id === chosen;
}

function toggle(id, label, n) {
  const b = el('button', 'queue-view');
  b.type = 'button';
  b.setAttribute('data-testid', 'queue-view');
  b.setAttribute('data-queue-id', id);
  b.setAttribute('aria-pressed', chosen === id ? 'true' : 'false');
  // The accessible name holds the visible text ("General 2") and says what the number is.
  b.appendChild(document.createTextNode(label + ' '));
  b.appendChild(el('span', 'n', n));
  b.appendChild(el('span', 'sr-status', t('waitingSuffix')));
  b.addEventListener('click', function () {
    chosen = id;
    rerender();
  });
  return b;
}

/* The toggles with the waiting count of each queue (`all`: every conversation held). */
export function renderQueueViews(all) {
  const box = $('queue-views');
  if (!box) return;
  const counts = {};
  let total = 0;
  all.forEach(function (c) {
    if (c.state !== 'waiting') return;
    total++;
    counts[c.queue_id] = (counts[c.queue_id] || 0) + 1;
  });
  if (chosen && !queues.some(function (q) { return q.id === chosen; })) chosen = '';
  clear(box);
  box.hidden = queues.length < 2;
  box.appendChild(toggle('', 'All', total));
  queues.forEach(function (q) {
    box.appendChild(toggle(q.id, q.name, counts[q.id] || 0));
  });
}
