/*
 * Offline hours: when the widget's config says the team is not there (outside business hours,
 * or nobody available), the panel says so above the conversation (chat-offline-message) with
 * the widget's own offline message, or ours. The customer can still write: the conversation
 * waits for the team, as it does online.
 */

import { OFFLINE } from './strings.js';
import { el } from './util.js';
import { ui } from './view.js';

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
    heading.textContent = OFFLINE.heading;
    const text = el('p', 'offline-text');
    note.appendChild(heading);
    note.appendChild(text);
    ui.error.parentNode.insertBefore(note, ui.error.nextSibling);
  }
  const own = typeof config.offline_message === 'string' ? config.offline_message.trim() : '';
  note.lastChild.textContent = own || OFFLINE.message;
  note.hidden = false;
}
