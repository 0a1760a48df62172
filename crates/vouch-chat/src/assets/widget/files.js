/*
 * Attachments and the rating, in the widget: the file picker (chat-attach-input) and drag and
 * drop onto the panel upload a file (POST /api/v1/chat/attachments) and send it as a message;
 * messages that carry files show image previews and download links (chat-attachment-link);
 * when the conversation ends, five stars (chat-rating-star), a comment and a submit button
 * (chat-rating-submit) ask for a rating (POST /api/v1/chat/rating).
 *
 * Every element is built with textContent and attributes only (never HTML).
 */

import { el, guard } from './util.js';
import { site, request } from './http.js';
import { session } from './session.js';
import { ui, setError, scrollToEnd } from './view.js';
import { frameErrorText } from './errors.js';

/* ---- strings (English; the i18n catalogs take these keys: files.*) ---- */
export const FILES_TEXT = {
  attach: 'Attach a file',
  uploading: 'Uploading\u2026',
  rateTitle: 'How was this chat?',
  rateStar: function (n) {
    return 'Rate ' + n + ' out of 5';
  },
  comment: 'Anything you would like to add? (optional)',
  submit: 'Send rating',
  thanks: 'Thank you for your feedback!',
  pickScore: 'Please choose from 1 to 5 stars.'
};

export const FILES_CSS = [
  '.attach{position:relative;display:inline-flex;align-items:center;justify-content:center;width:40px;height:40px;border-radius:10px;border:1px solid #d0d5dd;background:#fff;color:#344054;cursor:pointer;flex:none}',
  '.attach:hover{background:#f2f4f7}',
  '.attach:focus-within{outline:3px solid #9cb8f5;outline-offset:2px}',
  '.attach input{position:absolute;inset:0;opacity:0;cursor:pointer;width:100%;height:100%}',
  '.files{display:flex;flex-direction:column;gap:6px;margin-top:6px}',
  '.file-preview{display:block;max-width:200px;max-height:160px;border-radius:10px;background:#fff}',
  '.file-link{color:inherit;text-decoration:underline;font-size:13px;overflow-wrap:anywhere}',
  '.panel.dropping{outline:3px dashed #2457c5;outline-offset:-6px}',
  '.survey{padding:12px 14px;background:#fff;border-top:1px solid #e4e7ec;display:flex;flex-direction:column;gap:8px}',
  '.survey h3{margin:0;font-size:14px;font-weight:650}',
  '.stars{display:flex;gap:4px}',
  '.star{border:1px solid #d0d5dd;background:#fff;color:#475467;border-radius:8px;width:38px;height:38px;font-size:20px;line-height:1;cursor:pointer}',
  '.star[aria-pressed="true"]{background:#fff4d6;border-color:#b54708;color:#93370d}',
  '.star:focus-visible{outline:3px solid #9cb8f5;outline-offset:2px}',
  '.survey textarea{min-height:56px}',
  '.thanks{margin:0;color:#027a48;font-weight:600}'
].join('\n');

const CLIP = 'M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z';

let sendFiles = function () {};
let survey = null; // the rating form, once shown

function token() {
  return session && session.session_token ? session.session_token : '';
}

/* Where an attachment is downloaded (the session token travels in a URL only here and in the socket's). */
export function attachmentUrl(id) {
  return site.org + '/api/v1/attachments/' + encodeURIComponent(id) + '?session_token=' + encodeURIComponent(token());
}

function clipIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const s = document.createElementNS(ns, 'svg');
  s.setAttribute('viewBox', '0 0 24 24');
  s.setAttribute('width', '20');
  s.setAttribute('height', '20');
  s.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', CLIP);
  p.setAttribute('fill', 'currentColor');
  s.appendChild(p);
  return s;
}

/*
 * Adds the file picker to the composer and drag and drop to the panel. `send(meta)` sends an
 * uploaded attachment ({id, filename, content_type, size}) as a message.
 */
export function buildFiles(shadow, composer, panel, send) {
  sendFiles = send;
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(FILES_CSS);
    shadow.adoptedStyleSheets = shadow.adoptedStyleSheets.concat([sheet]);
  } catch (e) {
    const st = document.createElement('style');
    st.textContent = FILES_CSS;
    shadow.appendChild(st);
  }
  const label = el('label', 'attach');
  label.title = FILES_TEXT.attach;
  const input = el('input', '', 'chat-attach-input');
  input.type = 'file';
  input.accept = 'image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain';
  input.setAttribute('aria-label', FILES_TEXT.attach);
  label.appendChild(clipIcon());
  label.appendChild(input);
  composer.insertBefore(label, composer.firstChild);
  input.addEventListener('change', guard(function () {
    const f = input.files && input.files[0];
    input.value = '';
    if (f) upload(f);
  }));
  panel.addEventListener('dragover', guard(function (e) {
    if (!e.dataTransfer || Array.prototype.indexOf.call(e.dataTransfer.types || [], 'Files') === -1) return;
    e.preventDefault();
    panel.classList.add('dropping');
  }));
  panel.addEventListener('dragleave', guard(function () {
    panel.classList.remove('dropping');
  }));
  panel.addEventListener('drop', guard(function (e) {
    panel.classList.remove('dropping');
    const f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (!f) return;
    e.preventDefault();
    upload(f);
  }));
  return input;
}

/* Uploads one file into the session's conversation, then sends it. */
export function upload(file) {
  if (!token() || ui.input.disabled) return;
  const form = new FormData();
  form.append('file', file, file.name);
  setError(FILES_TEXT.uploading, 'notice');
  request(site.org + '/api/v1/chat/attachments?session_token=' + encodeURIComponent(token()), {
    method: 'POST',
    body: form
  }).then(guard(function (r) {
    if (r.status === 201 && r.body && r.body.id) {
      setError('', 'notice');
      sendFiles(r.body);
      return;
    }
    const b = r.body || {};
    setError(frameErrorText(b.error, b.message), 'frame');
  }), guard(function () {
    setError(frameErrorText('internal', ''), 'frame');
  }));
}

/* The attachments of a message, inside its bubble: a preview for images, a link for each. */
export function renderAttachments(bubble, attachments) {
  if (!Array.isArray(attachments) || !attachments.length) return;
  const box = el('div', 'files');
  attachments.forEach(function (a) {
    if (!a || typeof a.id !== 'string') return;
    const url = attachmentUrl(a.id);
    const name = typeof a.filename === 'string' ? a.filename : 'attachment';
    if (typeof a.content_type === 'string' && a.content_type.indexOf('image/') === 0) {
      const img = el('img', 'file-preview', 'chat-attachment-preview');
      img.alt = name;
      img.src = url;
      img.loading = 'lazy';
      box.appendChild(img);
    }
    const link = el('a', 'file-link', 'chat-attachment-link');
    link.href = url;
    link.setAttribute('download', name);
    link.rel = 'noopener';
    link.textContent = name;
    box.appendChild(link);
  });
  bubble.appendChild(box);
}

/* The rating form under the log, once the conversation ended (idempotent). */
export function showSurvey() {
  if (survey || !ui || !token()) return;
  const box = el('section', 'survey', 'chat-rating');
  box.setAttribute('aria-labelledby', 'vouch-chat-rate-title');
  const h = el('h3');
  h.id = 'vouch-chat-rate-title';
  h.textContent = FILES_TEXT.rateTitle;
  const stars = el('div', 'stars');
  stars.setAttribute('role', 'group');
  stars.setAttribute('aria-labelledby', h.id);
  let score = 0;
  const buttons = [];
  for (let n = 1; n <= 5; n++) {
    const b = el('button', 'star', 'chat-rating-star');
    b.type = 'button';
    b.setAttribute('data-score', String(n));
    b.setAttribute('aria-label', FILES_TEXT.rateStar(n));
    b.setAttribute('aria-pressed', 'false');
    b.textContent = '\u2606';
    b.addEventListener('click', guard(function () {
      score = n;
      buttons.forEach(function (o, i) {
        o.setAttribute('aria-pressed', i < n ? 'true' : 'false');
        o.textContent = i < n ? '\u2605' : '\u2606';
      });
    }));
    buttons.push(b);
    stars.appendChild(b);
  }
  const comment = el('textarea', '', 'chat-rating-comment');
  comment.rows = 2;
  comment.maxLength = 2000;
  comment.setAttribute('aria-label', FILES_TEXT.comment);
  comment.placeholder = FILES_TEXT.comment;
  const submit = el('button', 'btn', 'chat-rating-submit');
  submit.type = 'button';
  submit.textContent = FILES_TEXT.submit;
  const sessionToken = token();
  submit.addEventListener('click', guard(function () {
    if (!score) {
      setError(FILES_TEXT.pickScore, 'frame');
      return;
    }
    submit.disabled = true;
    const body = { score: score };
    if (comment.value.trim()) body.comment = comment.value;
    request(site.org + '/api/v1/chat/rating?session_token=' + encodeURIComponent(sessionToken), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    }).then(guard(function (r) {
      if (r.status === 201 || r.status === 409) {
        thank(box);
        return;
      }
      submit.disabled = false;
      const b = r.body || {};
      setError(frameErrorText(b.error, b.message), 'frame');
    }), guard(function () {
      submit.disabled = false;
      setError(frameErrorText('internal', ''), 'frame');
    }));
  }));
  box.appendChild(h);
  box.appendChild(stars);
  box.appendChild(comment);
  box.appendChild(submit);
  ui.bar.parentNode.insertBefore(box, ui.bar);
  survey = box;
  scrollToEnd();
}

function thank(box) {
  while (box.firstChild) box.removeChild(box.firstChild);
  const p = el('p', 'thanks', 'chat-rating-thanks');
  p.setAttribute('role', 'status');
  p.textContent = FILES_TEXT.thanks;
  box.appendChild(p);
}

/* A new chat: the old rating form goes. */
export function resetSurvey() {
  if (survey && survey.parentNode) survey.parentNode.removeChild(survey);
  survey = null;
}
