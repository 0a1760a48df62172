/*
 * Attachments in the agent console: the composer's file input (attach-input) uploads a file
 * into the open conversation (POST /api/v1/agent/conversations/{id}/attachments, the console's
 * cookie) and sends it as a message; messages that carry files show image previews and
 * download links (attachment-link). Rendered with textContent and attributes only.
 */

import { el } from './common.js';

/* ---- strings (the console keeps English) ---- */
export const FILES_TEXT = {
  uploading: 'Uploading\u2026',
  failed: 'Could not attach the file',
  notYours: 'Accept the conversation before attaching files.'
};

/* A rating as the console shows it: "★★★★☆ 4/5 · “comment”" (empty for none). */
export function ratingText(rating) {
  if (!rating || typeof rating.score !== 'number') return '';
  var n = Math.max(0, Math.min(5, Math.round(rating.score)));
  var text = '\u2605'.repeat(n) + '\u2606'.repeat(5 - n) + ' ' + n + '/5';
  if (typeof rating.comment === 'string' && rating.comment) text += ' \u00b7 \u201c' + rating.comment + '\u201d';
  return text;
}

/* The download URL of an attachment (the console's cookie authenticates it). */
export function attachmentUrl(id) {
  return '/api/v1/attachments/' + encodeURIComponent(id);
}

/* The attachments of a message, appended to its bubble: previews for images, a link each. */
export function renderAttachments(bubble, attachments) {
  if (!Array.isArray(attachments) || !attachments.length) return;
  var box = el('div', 'files');
  attachments.forEach(function (a) {
    if (!a || typeof a.id !== 'string') return;
    var name = typeof a.filename === 'string' ? a.filename : 'attachment';
    var url = attachmentUrl(a.id);
    if (typeof a.content_type === 'string' && a.content_type.indexOf('image/') === 0) {
      var img = el('img', 'file-preview');
      img.setAttribute('data-testid', 'attachment-preview');
      img.alt = name;
      img.src = url;
      box.appendChild(img);
    }
    var link = el('a', 'file-link', name);
    link.setAttribute('data-testid', 'attachment-link');
    link.href = url;
    link.setAttribute('download', name);
    box.appendChild(link);
  });
  bubble.appendChild(box);
}

/*
 * Uploads `file` into conversation `id`; resolves to the attachment ({id, filename,
 * content_type, size}) or rejects with a sentence.
 */
export function uploadAttachment(id, file) {
  var form = new FormData();
  form.append('file', file, file.name);
  return fetch('/api/v1/agent/conversations/' + encodeURIComponent(id) + '/attachments', {
    method: 'POST',
    credentials: 'same-origin',
    cache: 'no-store',
    body: form
  }).then(function (res) {
    return res.json().catch(function () {
      return null;
    }).then(function (body) {
      if (res.status === 201 && body && typeof body.id === 'string') return body;
      var why = body && typeof body.message === 'string' && body.message ? body.message : 'HTTP ' + res.status;
      throw FILES_TEXT.failed + ': ' + why;
    });
  }, function () {
    throw FILES_TEXT.failed + ': the chat service cannot be reached.';
  });
}
