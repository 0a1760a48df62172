/*
 * Offline hours: when the widget's config says the team is not there (outside business hours,
 * or nobody available), the panel says so above the conversation (chat-offline-message) with
 * the widget's own offline message, or ours. The customer can still write: the conversation
 * waits for the team, as it does online.
 */

import { t } from './strings.js';
import { el, guard } from './util.js';
import { ui } from './view.js';
import { site, request } from './http.js';

let note = null; // the chat-offline-message element, made on first need

/* Shows or hides the offline note for a loaded config ({online, offline_message}). */
export function renderOffline(config) {
  if (!ui) return;
  const offline = config && config.online === false;
  if (!offline) {
    if (note) note.hidden = true;
    return;
  }
  if (!note) {
    note = el('div', 'offline-note', 'chat-offline-message');
    note.setAttribute('role', 'status');
    const heading = el('strong', 'offline-head');
    heading.textContent = t('offline.heading');
    const text = el('p', 'offline-text');
    note.appendChild(heading);
    note.appendChild(text);
    ui.error.parentNode.insertBefore(note, ui.error.nextSibling);
  }
  const own = typeof config.offline_message === 'string' ? config.offline_message.trim() : '';
  note.lastChild.textContent = own || t('offline.body');
  note.hidden = false;
}

let offer = null; // the transcript button in the bar, while offered

/*
 * When a verified customer's conversation has ended, the bar also offers the transcript by email
 * (POST /api/v1/chat/transcript-email). The service sends it only to the email of the verified
 * contact, so the widget asks for no address. `s` null (or not verified) withdraws the offer.
 */
export function offerTranscript(s) {
  if (offer) {
    offer.remove();
    offer = null;
  }
  if (!ui || !s || !s.verified || !s.session_token) return;
  const token = s.session_token;
  const b = el('button', 'btn btn-quiet', 'chat-transcript-email');
  b.type = 'button';
  b.textContent = t('transcript.email');
  b.addEventListener('click', guard(function () {
    b.disabled = true;
    const url = site.org + '/api/v1/chat/transcript-email?session_token=' + encodeURIComponent(token);
    request(url, { method: 'POST' }).then(function (r) {
      b.textContent = r.status === 202 ? t('transcript.sent') : t('transcript.failed');
      if (r.status !== 202) b.disabled = false;
    }, function () {
      b.textContent = t('transcript.failed');
      b.disabled = false;
    });
  }));
  ui.bar.insertBefore(b, ui.bar.firstChild);
  offer = b;
}
