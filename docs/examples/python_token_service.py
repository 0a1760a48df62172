"""A website's two token routes in Python (PyJWT), the counterpart of the blog's Node.js code.

    GET /publickey  -> the SPKI PEM, text/plain
    GET /token      -> an RS256 JWT for the signed-in user, application/jwt, Cache-Control: no-store

Run:  KEYS_DIR=./keys ISSUER=shop.example PORT=8000 python3 python_token_service.py
(keys made with `vouch keys generate --dir ./keys` or the blog's openssl commands).

A real site takes the user from its own session; this example reads the signed-in user from
`current_user()` so that the one line to change is obvious.
"""
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

KEYS_DIR = os.environ.get("KEYS_DIR", "./keys")
ISSUER = os.environ.get("ISSUER", "shop.example")
TTL = 900  # seconds; keep tokens short-lived: the chat service asks for a fresh one at exp

with open(os.path.join(KEYS_DIR, "private.key"), encoding="utf-8") as f:
    PRIVATE_KEY = f.read()
with open(os.path.join(KEYS_DIR, "public.key"), encoding="utf-8") as f:
    PUBLIC_KEY = f.read()


def current_user(handler):
    """Replace with your session lookup; return None when nobody is signed in."""
    return {
        "contact_id": "4c9a6c53-2f6d-4a0b-9d8e-1f2a3b4c5d6e",
        "email": "alex@example.com",
        "given_name": "Alex",
        "family_name": "Doe",
        "context": {"plan": "gold"},
    }


def sign_token(user):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": user["contact_id"],
        "iat": now,
        "exp": now + TTL,
        "preferred_username": user["email"],
        "email": user["email"],
        "given_name": user["given_name"],
        "family_name": user["family_name"],
    }
    if user.get("context"):
        # lwicontexts is a *string* holding a JSON object of primitives.
        claims["lwicontexts"] = json.dumps(user["context"])
    return jwt.encode(claims, PRIVATE_KEY, algorithm="RS256")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/publickey":
            self.reply(200, "text/plain; charset=utf-8", PUBLIC_KEY)
        elif self.path == "/token":
            user = current_user(self)
            if user is None:
                self.reply(401, "text/plain; charset=utf-8", "sign in first")
            else:
                self.reply(200, "application/jwt", sign_token(user))
        else:
            self.reply(404, "text/plain; charset=utf-8", "not found")

    def reply(self, status, content_type, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep tokens out of the console
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Handler)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()
