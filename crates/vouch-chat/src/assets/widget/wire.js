/*
 * What the widget and the agent console share to speak the socket protocol: client_msg_id
 * generation, reconnect back-off, and closing a socket without reacting to its close. It lives
 * with the widget's modules because the widget imports it cross-origin (these are served with
 * CORS); the console, on the chat service's own origin, imports it from
 * /livechatwidget/scripts/widget/wire.js.
 */

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

/* A client_msg_id: 22 characters of A-Z a-z 0-9 _ - (the frame contract's alphabet). */
export function randomId() {
  const bytes = new Uint8Array(22);
  crypto.getRandomValues(bytes);
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += ID_CHARS.charAt(bytes[i] & 63);
  return out;
}

/* The delay before reconnect `attempt`: between half and all of min(30 s, 0.5 s × 2^attempt). */
export function backoff(attempt) {
  const cap = Math.min(30000, 500 * Math.pow(2, Math.min(attempt, 16)));
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

/* Detaches the socket's handlers and closes it normally (code 1000); never throws. */
export function quietClose(sock) {
  sock.onopen = sock.onmessage = sock.onclose = sock.onerror = null;
  try {
    sock.close(1000);
  } catch (e) {
    /* already closing */
  }
}
