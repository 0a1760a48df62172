/*
 * Internal notes beside the transcript: what agents write for each other about a conversation.
 * Notes come with the conversation's detail (`notes`) and live as `note` frames on the agent
 * socket; the server never sends them to a customer. Rendered with textContent only.
 */

import { $, el, clear, show, api, apiMessage } from './common.js';
import { state, fmtTime } from './agent-model.js';
import { t } from './strings.js';

const MAX_NOTE = 4000;

function notesOf(c) {
  if (!c.notes) c.notes = [];
  return c.notes;
}

/* Adds a note (from the detail, a frame or a 201) once, by id; true when it was new. */
export function addNote(c, n) {
  if (!n || typeof n.id !== 'string') return false;
  var list = notesOf(c);
  if (list.some(function (x) { return x.id === n.id; })) return false;
  list.push(n);
  list.sort(function (a, b) {
    return String(a.created_at).localeCompare(String(b.created_at));
  });
  return true;
}

/* The notes of a conversation's detail. */
export function setNotes(c, notes) {
  if (!Array.isArray(notes)) return;
  notes.forEach(function (n) {
    addNote(c, n);
  });
  if (state.selected === c.id) renderNotes();
}

/* A `note` frame from the agent socket. Only for conversations this console holds: another
 * one gets its notes with its detail when it is opened (a frame must not invent a record). */
export function onNoteFrame(f) {
  if (typeof f.conversation_id !== 'string' || !f.note) return;
  var c = state.convs[f.conversation_id];
  if (c && addNote(c, f.note) && state.selected === c.id) renderNotes();
}

function authorName(n) {
  if (state.me && String(n.author_id) === String(state.me.id)) return 'You';
  return typeof n.author_name === 'string' && n.author_name ? n.author_name : 'An agent';
}

var renderedFor = null;

export function renderNotes() {
  if (renderedFor !== state.selected) {
    // Another conversation: its own notes, no error of the last one.
    renderedFor = state.selected;
    setNoteError('');
  }
  var c = state.convs[state.selected];
  var list = $('notes');
  clear(list);
  var notes = c ? notesOf(c) : [];
  notes.forEach(function (n) {
    var li = el('li', 'note');
    li.setAttribute('data-testid', 'note-item');
    var meta = el('div', 'note-meta');
    meta.appendChild(el('span', 'note-author', authorName(n)));
    meta.appendChild(el('span', 'note-time', fmtTime(n.created_at)));
    li.appendChild(meta);
    li.appendChild(el('p', 'note-text', n.text == null ? '' : String(n.text)));
    list.appendChild(li);
  });
  show($('notes-empty'), notes.length === 0);
  if (notes.length) list.scrollTop = list.scrollHeight;
}

function setNoteError(text) {
  var e = $('note-error');
  e.textContent = text || '';
  show(e, !!text);
}

function sendNote(ev) {
  ev.preventDefault();
  var c = state.convs[state.selected];
  var input = $('note-input');
  var text = input.value;
  if (!c) return;
  if (!text.trim()) {
    setNoteError('Write the note first.');
    input.focus();
    return;
  }
  if (text.length > MAX_NOTE) {
    setNoteError('A note may be at most 4,000 characters.');
    return;
  }
  setNoteError('');
  $('note-send').disabled = true;
  api('POST', '/api/v1/agent/conversations/' + encodeURIComponent(c.id) + '/notes', { text: text })
    .then(function (r) {
      if (r.status === 201 && r.body) {
        if (input.value === text) input.value = '';
        if (addNote(c, r.body) && state.selected === c.id) renderNotes();
      } else if (r.status !== 401) { // a 401: common.js has shown the sign-in form
        setNoteError(apiMessage(r, t('noteNotAdded')));
      }
    })
    .then(function () {
      $('note-send').disabled = false;
    });
}

export function initNotes() {
  $('note-form').addEventListener('submit', sendNote);
  $('note-input').addEventListener('keydown', function (e) {
    // Ctrl/Cmd+Enter adds the note; Enter alone is a new line (notes are often longer).
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.isComposing) sendNote(e);
  });
}
