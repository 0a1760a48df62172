/*
 * The agent console's state: who is signed in, every conversation it knows (by id, with its
 * messages by seq, its unacknowledged replies and its history), and which one is open.
 */

import { t } from './strings.js';

export const TYPING_SHOW_MS = 4000;

export const state = {
  me: null, // GET /api/v1/agent/me
  convs: {}, // id -> conversation record
  selected: null, // the open conversation's id
  listsLoaded: false
};

export function contactName(c) {
  if (!c) return t('guest');
  var n = [c.given_name, c.family_name].filter(function (x) {
    return typeof x === 'string' && x.trim();
  }).join(' ');
  return n || c.preferred_username || c.email || t('unnamedContact');
}

export function str(v) {
  if (v == null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function fmtTime(iso) {
  var d = new Date(iso);
  if (isNaN(d.getTime())) return '';
  var today = new Date();
  var opts = { hour: '2-digit', minute: '2-digit' };
  if (d.toDateString() !== today.toDateString()) {
    return d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ' ' + d.toLocaleTimeString([], opts);
  }
  return d.toLocaleTimeString([], opts);
}

export function conv(id) {
  if (!state.convs[id]) {
    state.convs[id] = {
      id: id, state: 'waiting', verified: false, contact: null, agent_id: null, created_at: null,
      context: null, messages: {}, contiguous: 0, pending: [], byClient: {}, draft: '',
      typingUntil: 0, unread: 0, history: null, loaded: false
    };
  }
  return state.convs[id];
}

export function mergeSummary(c, s) {
  if (typeof s.state === 'string') c.state = s.state;
  if (typeof s.verified === 'boolean') c.verified = s.verified;
  if ('contact' in s) c.contact = s.contact && typeof s.contact === 'object' ? s.contact : null;
  if ('agent_id' in s) c.agent_id = s.agent_id;
  if (typeof s.queue_id === 'string') c.queue_id = s.queue_id;
  if (typeof s.created_at === 'string') c.created_at = s.created_at;
  if (s.context && typeof s.context === 'object') c.context = s.context;
}

export function isMine(c) {
  return state.me && c.agent_id != null && String(c.agent_id) === String(state.me.id);
}

export function addMessage(c, m) {
  var seq = Number(m.seq);
  if (!(seq > 0) || c.messages[seq]) return false;
  var rec = { seq: seq, sender: m.sender, text: str(m.text), sent_at: m.sent_at, client_msg_id: m.client_msg_id, attachments: m.attachments };
  if (m.sender === 'agent' && typeof m.client_msg_id === 'string' && c.byClient[m.client_msg_id]) {
    var p = c.byClient[m.client_msg_id];
    p.seq = seq;
    p.sent_at = m.sent_at;
    rec = p;
  }
  c.messages[seq] = rec;
  while (c.messages[c.contiguous + 1]) c.contiguous++;
  return true;
}
