// A small SMTP receiver on 127.0.0.1 for the browser tests: it keeps every message handed to it
// ({from, to, data}), speaking just what a client needs (EHLO/HELO, MAIL, RCPT, DATA, RSET,
// NOOP, QUIT), without TLS. The Rust suites use vouch-testkit's SmtpReceiver the same way.
import net from 'node:net';

export async function startSmtp() {
  const messages = [];
  const server = net.createServer((sock) => {
    let buf = '';
    let from = '';
    let to = [];
    let data = null; // the message while in DATA
    const reply = (s) => sock.write(`${s}\r\n`);
    const addr = (line) => (line.split(':').slice(1).join(':').trim().split(/\s+/)[0] || '').replace(/^<|>$/g, '');
    reply('220 vouch-e2e ESMTP');
    sock.setEncoding('utf8');
    sock.on('error', () => {});
    sock.on('data', (chunk) => {
      buf += chunk;
      if (buf.length > 2_000_000) { sock.destroy(); return; }
      let i;
      while ((i = buf.indexOf('\r\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (data !== null) {
          if (line === '.') {
            messages.push({ from, to, data: data.join('\r\n') });
            data = null;
            to = [];
            reply('250 kept');
          } else {
            data.push(line.startsWith('.') ? line.slice(1) : line);
          }
          continue;
        }
        const verb = line.split(' ')[0].toUpperCase();
        if (verb === 'EHLO') reply('250-vouch-e2e\r\n250-8BITMIME\r\n250 SMTPUTF8');
        else if (verb === 'HELO') reply('250 vouch-e2e');
        else if (verb === 'MAIL') { from = addr(line); to = []; reply('250 ok'); }
        else if (verb === 'RCPT') { to.push(addr(line)); reply('250 ok'); }
        else if (verb === 'DATA') { if (to.length) { data = []; reply('354 go on'); } else reply('503 RCPT first'); }
        else if (verb === 'RSET' || verb === 'NOOP') reply('250 ok');
        else if (verb === 'QUIT') { reply('221 bye'); sock.end(); }
        else reply('502 not here');
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
