// The baseline of `vouch bench chat --baseline`: a minimal Node.js `ws` relay speaking the
// same frames as vouch's sockets, with none of its work — no authentication, no storage, no
// acks. A customer connects to /chat?conversation=ID, an agent to /agent?conversations=ID,ID,…;
// every `send` becomes a `message` frame for every socket of its conversation (both sides, as
// vouch fans out), with a per-conversation seq. Loopback only: PORT (0 = any free port) on
// 127.0.0.1; the chosen port is printed as `listening <port>`.
'use strict';
const { WebSocketServer } = require('ws');

const rooms = new Map(); // conversation id -> { seq, sockets: Set }
function room(id) {
  let r = rooms.get(id);
  if (!r) rooms.set(id, (r = { seq: 0, sockets: new Set() }));
  return r;
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT || 0) });
wss.on('connection', (ws, req) => {
  const url = new URL(req.url, 'http://relay');
  const agent = url.pathname === '/agent';
  const ids = agent
    ? (url.searchParams.get('conversations') || '').split(',').filter(Boolean)
    : [url.searchParams.get('conversation') || ''];
  for (const id of ids) room(id).sockets.add(ws);
  ws.on('message', (data) => {
    let f;
    try { f = JSON.parse(data); } catch { return; }
    if (f.type !== 'send' || typeof f.text !== 'string') return;
    const id = agent ? f.conversation_id : ids[0];
    const r = rooms.get(id);
    if (!r || !r.sockets.has(ws)) return;
    const out = JSON.stringify({
      type: 'message', conversation_id: id, seq: ++r.seq,
      sender: agent ? 'agent' : 'customer', text: f.text,
      sent_at: new Date().toISOString(), client_msg_id: f.client_msg_id,
    });
    for (const s of r.sockets) s.send(out);
  });
  ws.on('close', () => {
    for (const id of ids) {
      const r = rooms.get(id);
      if (r) { r.sockets.delete(ws); if (r.sockets.size === 0) rooms.delete(id); }
    }
  });
});
wss.on('listening', () => console.log(`listening ${wss.address().port}`));
