/*
 * The conversation as the widget holds it: every message by seq, the customer's own messages
 * that the server has not acknowledged yet (the outbox), and the highest seq up to which the
 * log has no gap (what a resume asks for). A message is shown once, in seq order, however
 * often it arrives (resume overlap, a second tab, a resend).
 */

import { ui, makeRow, insertRow, placeRow, setMsgStatus, scrollToEnd, setError, clearError, errorKind, noteAgentMessage, MAX_TEXT } from './view.js';
import { randomId } from './wire.js';
import { t } from './strings.js';
import { flushOutbox } from './transport.js';

let held = {}; // seq -> message record
export let contiguous = 0; // highest seq such that 1..seq are all held
export let outbox = []; // un-acked own messages {id, text, row, bubble, meta, time, sentAt, status}
let byClientId = {}; // client_msg_id -> message record

/* Forgets the conversation (a new chat starts). */
export function resetMessages() {
  held = {};
  contiguous = 0;
  outbox = [];
  byClientId = {};
}

function hold(seq, rec) {
  held[seq] = rec;
  while (held[contiguous + 1]) contiguous++;
}

function setSeq(rec, seq) {
  rec.seq = seq;
  placeRow(rec, seq);
  hold(seq, rec);
}

function dropFromOutbox(rec) {
  outbox = outbox.filter(function (m) {
    return m !== rec;
  });
}

/* A `message` frame. */
export function onMessage(f) {
  const seq = Number(f.seq);
  if (!(seq > 0) || held[seq]) return; // duplicate (resume overlap, second socket): drop
  if (f.sender === 'customer' && typeof f.client_msg_id === 'string' && byClientId[f.client_msg_id]) {
    const mine = byClientId[f.client_msg_id];
    if (!mine.seq) setSeq(mine, seq);
    return;
  }
  const text = typeof f.text === 'string' ? f.text : '';
  const r = makeRow(f.sender, text, f.sent_at, f.attachments);
  const rec = { row: r.row, bubble: r.bubble, meta: r.meta, time: r.time };
  if (f.sender === 'customer') {
    // our own message from another tab/browser or from before a reload: stored, so delivered
    rec.status = 'delivered';
    setMsgStatus(rec, 'delivered');
    if (typeof f.client_msg_id === 'string') byClientId[f.client_msg_id] = rec;
  }
  setSeq(rec, seq);
  if (f.sender === 'agent') noteAgentMessage();
  scrollToEnd();
}

/* An `ack` frame: the message is stored under that seq. */
export function onAck(f) {
  const rec = byClientId[f.client_msg_id];
  if (!rec) return;
  const seq = Number(f.seq);
  if (seq > 0 && !rec.seq && !held[seq]) setSeq(rec, seq);
  setMsgStatus(rec, 'delivered');
  dropFromOutbox(rec);
  if (errorKind === 'frame') clearError('frame');
}

/* The server refused this message for good (too long, empty, bad id): shown as not sent. */
export function failMessage(clientMsgId) {
  const rec = typeof clientMsgId === 'string' ? byClientId[clientMsgId] : null;
  if (!rec) return;
  setMsgStatus(rec, 'failed');
  dropFromOutbox(rec);
}

/* The socket is gone: every message written to it waits for the next one. */
export function markUnsent() {
  outbox.forEach(function (m) {
    m.sentAt = 0;
    if (m.status === 'sent') setMsgStatus(m, 'pending');
  });
}

/* An uploaded attachment ({id, filename, content_type, size}) becomes a pending message. */
export function submitAttachment(meta) {
  const id = randomId();
  const r = makeRow('customer', '', null, [meta]);
  const rec = { id: id, text: '', attachments: [meta.id], row: r.row, bubble: r.bubble, meta: r.meta, time: r.time, sentAt: 0 };
  setMsgStatus(rec, 'pending');
  byClientId[id] = rec;
  outbox.push(rec);
  insertRow(rec.row, 0);
  scrollToEnd();
  flushOutbox();
}

/* The composer's text becomes a pending message in the outbox. */
export function submitInput() {
  if (ui.input.disabled) return;
  const text = ui.input.value;
  if (!text.trim()) return;
  if (text.length > MAX_TEXT) {
    setError(t('error.text_too_long'), 'frame');
    return;
  }
  ui.input.value = '';
  const id = randomId();
  const r = makeRow('customer', text, null);
  const rec = { id: id, text: text, row: r.row, bubble: r.bubble, meta: r.meta, time: r.time, sentAt: 0 };
  setMsgStatus(rec, 'pending');
  byClientId[id] = rec;
  outbox.push(rec);
  insertRow(rec.row, 0);
  scrollToEnd();
  flushOutbox();
}
