#!/usr/bin/env python3
"""A vouch webhook receiver that syncs contacts and chat activities into a CRM (here: SQLite).

Standard library only. It checks each delivery's Vouch-Signature (HMAC-SHA256 of "<t>.<body>"
keyed by the webhook's secret, compared in constant time), refuses timestamps more than 5
minutes away (replays), applies each event once (vouch delivers at least once: a retry carries
the same Vouch-Event-Id), and upserts:

* contacts   — keyed by vouch's contact id, with the website's id (external_id) and names;
* activities — one per conversation, its state and transcript (ended conversations carry it);
* messages   — one row per (conversation, seq), so a transcript builds up live.

Run:  VOUCH_WEBHOOK_SECRET=whsec_... CRM_DB=crm.db PORT=8080 python3 crm_receiver.py
(or VOUCH_WEBHOOK_SECRET_FILE=path, read on each request, for a secret written after start).
Then POST /api/v1/admin/webhooks {"url": "https://crm.example/vouch-webhook", "events": [...]}.
"""

import hashlib
import hmac
import json
import os
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECS = 300          # refuse signatures older (or newer) than 5 minutes
MAX_BODY = 1024 * 1024        # vouch's events are far smaller
DB_PATH = os.environ.get("CRM_DB", "crm.db")
DB_LOCK = threading.Lock()    # one writer at a time (sqlite3 connections are per thread here)

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_events (event_id TEXT PRIMARY KEY, type TEXT NOT NULL,
    received_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (id TEXT PRIMARY KEY, external_id TEXT NOT NULL,
    given_name TEXT, family_name TEXT, email TEXT, phone TEXT, updated_at TEXT);
CREATE TABLE IF NOT EXISTS activities (conversation_id TEXT PRIMARY KEY, contact_id TEXT,
    state TEXT NOT NULL, agent_id TEXT, started_at TEXT, ended_at TEXT, transcript TEXT);
CREATE TABLE IF NOT EXISTS messages (conversation_id TEXT NOT NULL, seq INTEGER NOT NULL,
    sender TEXT NOT NULL, text TEXT NOT NULL, sent_at TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq));
"""


def secret():
    path = os.environ.get("VOUCH_WEBHOOK_SECRET_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().strip()
        except OSError:
            return ""
    return os.environ.get("VOUCH_WEBHOOK_SECRET", "")


def verify(header, body, key, now=None):
    """Returns None when the signature is valid and fresh, else why not."""
    if not key:
        return "no secret configured"
    t, sigs = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            t = int(value)
        elif name == "v1":
            sigs.append(value)
    if t is None or not sigs:
        return "malformed Vouch-Signature"
    now = int(time.time()) if now is None else now
    if abs(now - t) > TOLERANCE_SECS:
        return "timestamp outside the tolerance (replay?)"
    expected = hmac.new(key.encode(), str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in sigs):
        return "signature mismatch"
    return None


def upsert_contact(db, c):
    if not c:
        return
    db.execute(
        """INSERT INTO contacts (id, external_id, given_name, family_name, email, phone, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET external_id = excluded.external_id,
             given_name = excluded.given_name, family_name = excluded.family_name,
             email = excluded.email, phone = excluded.phone, updated_at = excluded.updated_at""",
        (c["id"], c["external_id"], c.get("given_name"), c.get("family_name"), c.get("email"),
         c.get("phone"), c.get("updated_at")),
    )


def upsert_activity(db, conv, contact, transcript=None):
    db.execute(
        """INSERT INTO activities (conversation_id, contact_id, state, agent_id, started_at, transcript)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state,
             agent_id = excluded.agent_id, contact_id = COALESCE(excluded.contact_id, activities.contact_id),
             transcript = COALESCE(excluded.transcript, activities.transcript)""",
        (conv["id"], contact["id"] if contact else None, conv["state"], conv.get("agent_id"),
         conv.get("created_at"), json.dumps(transcript) if transcript is not None else None),
    )


def apply(db, event):
    kind, data = event["type"], event["data"]
    if kind in ("conversation.created", "conversation.assigned", "conversation.ended"):
        upsert_contact(db, data.get("contact"))
        transcript = (data.get("activity") or {}).get("transcript")
        upsert_activity(db, data["conversation"], data.get("contact"), transcript)
        if kind == "conversation.ended":
            db.execute("UPDATE activities SET ended_at = ? WHERE conversation_id = ?",
                       (event["created_at"], data["conversation_id"]))
    elif kind == "message.created":
        m = data["message"]
        db.execute(
            """INSERT INTO messages (conversation_id, seq, sender, text, sent_at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (conversation_id, seq) DO NOTHING""",
            (data["conversation_id"], m["seq"], m["sender"], m["text"], m["sent_at"]),
        )
    # rating.created and types added later: stored as processed, nothing to upsert here.


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        if self.path != "/vouch-webhook":
            return self.answer(404, "no such route")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return self.answer(400, "bad Content-Length")
        if length <= 0 or length > MAX_BODY:
            return self.answer(413, "body missing or too large")
        body = self.rfile.read(length)
        why = verify(self.headers.get("Vouch-Signature", ""), body, secret())
        if why:
            return self.answer(401, why)
        try:
            event = json.loads(body)
        except ValueError:
            return self.answer(400, "not JSON")
        if event.get("id") != self.headers.get("Vouch-Event-Id"):
            return self.answer(400, "Vouch-Event-Id does not match the body")
        with DB_LOCK, sqlite3.connect(DB_PATH) as db:  # one transaction: event and upserts
            seen = db.execute("SELECT 1 FROM processed_events WHERE event_id = ?",
                              (event["id"],)).fetchone()
            if not seen:
                apply(db, event)
                db.execute("INSERT INTO processed_events VALUES (?, ?, ?)",
                           (event["id"], event["type"], int(time.time())))
        return self.answer(204, None)

    def answer(self, status, message):
        self.send_response(status)
        if message is None:
            self.end_headers()
            return
        data = message.encode()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):  # one line per request on stderr, never the body
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


def main():
    with sqlite3.connect(DB_PATH) as db:
        db.executescript(SCHEMA)
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8080"))), Handler)
    print("listening %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
