/*
 * The console's presence switch (data-testid "presence"): available, busy, away, offline.
 * A change is saved with PUT /api/v1/agent/presence (auto-assignment hands chats only to
 * available agents); `presence` frames on the agent socket keep every open tab in step, also
 * when the server sets the agent offline after the last socket closed.
 */

import { $, api, apiMessage } from './common.js';
import { setError } from './agent-view.js';
import { t } from './strings.js';

const STATUSES = ['available', 'busy', 'away', 'offline'];
let saved = 'offline';

function render(status) {
  const sel = $('presence');
  if (!sel || STATUSES.indexOf(status) === -1) return;
  saved = status;
  sel.value = status;
  sel.className = 'presence presence-' + status;
}

/* After sign-in: the status the server has (a new sign-in starts offline). */
export function initPresence(me) {
  render(me && me.status ? me.status : 'offline');
}

/* A `presence` frame from the agent socket. */
export function onPresenceFrame(f) {
  if (f && typeof f.status === 'string') render(f.status);
}

function onChange() {
  const sel = $('presence');
  const want = sel.value;
  sel.disabled = true;
  api('PUT', '/api/v1/agent/presence', { status: want }).then(function (r) {
    sel.disabled = false;
    if (r.status === 200 && r.body) {
      setError('');
      render(r.body.status);
    } else {
      render(saved);
      setError(apiMessage(r, t('presenceNotChanged')));
    }
  });
}

export function bindPresence() {
  const sel = $('presence');
  if (sel) sel.addEventListener('change', onChange);
}
