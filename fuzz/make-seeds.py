#!/usr/bin/env python3
"""Writes the committed seed corpus (fuzz/corpus/<target>/seed-*). Run by hand, after changing the
fixtures or the formats; needs Python's `cryptography`. The fuzz targets do not need it.

Tokens are signed with fuzz/fixtures/private_key.pem and verified at the targets' fixed clock
(NOW = 1750000000), so they stay valid forever."""
import base64, hashlib, hmac, json, os, pathlib
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

ROOT = pathlib.Path(__file__).resolve().parent
NOW = 1_750_000_000
ISS = "portal.example"

def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def b64u_int(i: int) -> str:
    return b64u(i.to_bytes((i.bit_length() + 7) // 8, "big"))

priv = serialization.load_pem_private_key((ROOT / "fixtures/private_key.pem").read_bytes(), None)
pub_pem = (ROOT / "fixtures/public_key.pem").read_bytes()
other_pem = (ROOT / "fixtures/other_public_key.pem").read_bytes()
other = serialization.load_pem_public_key(other_pem)

def jwk(key):
    n = key.public_numbers()
    return {"kty": "RSA", "n": b64u_int(n.n), "e": b64u_int(n.e)}

def thumb(key):
    j = jwk(key)
    canon = json.dumps({"e": j["e"], "kty": "RSA", "n": j["n"]}, separators=(",", ":"))
    return b64u(hashlib.sha256(canon.encode()).digest())

KID = thumb(priv.public_key())
OTHER_KID = thumb(other)

def compact(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()

def sign(header, payload, raw=False) -> str:
    h = header if raw else compact(header)
    p = payload if raw else compact(payload)
    signing_input = f"{b64u(h)}.{b64u(p)}".encode()
    sig = priv.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode()}.{b64u(sig)}"

CLAIMS = {
    "iss": ISS, "sub": "8f1c3a52-2b1e-4d7a-9c61-0b7f7e5a1d20", "iat": NOW - 10, "exp": NOW + 890,
    "preferred_username": "alex", "email": "customer@example.com", "given_name": "Alex",
    "family_name": "Doe", "phone_number": "+1 555 0100",
}
HDR = {"alg": "RS256", "typ": "JWT", "kid": KID}

def claims(**kw):
    c = dict(CLAIMS)
    for k, v in kw.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c

def write(target: str, name: str, data):
    d = ROOT / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / f"seed-{name}").write_bytes(data)

# --- verify_token ------------------------------------------------------------------------------
valid = sign(HDR, CLAIMS)
write("verify_token", "valid", valid)
write("verify_token", "valid-no-kid", sign({"alg": "RS256", "typ": "JWT"}, CLAIMS))
write("verify_token", "valid-lwicontexts", sign(HDR, claims(
    nbf=NOW - 10, lwicontexts=json.dumps({"plan": "gold", "visits": 3, "vip": True, "note": None}))))
write("verify_token", "valid-float-dates", sign(HDR, claims(iat=NOW - 10.5, exp=NOW + 0.25)))
write("verify_token", "expired", sign(HDR, claims(exp=NOW - 61)))
write("verify_token", "future-nbf", sign(HDR, claims(nbf=NOW + 61)))
write("verify_token", "exp-string", sign(HDR, claims(exp=str(NOW + 100))))
write("verify_token", "missing-sub", sign(HDR, claims(sub=None)))
write("verify_token", "wrong-issuer", sign(HDR, claims(iss="evil.example")))
write("verify_token", "kid-other", sign({"alg": "RS256", "kid": "other"}, CLAIMS))
write("verify_token", "kid-retired", sign({"alg": "RS256", "kid": "retired"}, CLAIMS))
write("verify_token", "kid-traversal", sign({"alg": "RS256", "kid": "../../etc/passwd' OR 1=1--"}, CLAIMS))
write("verify_token", "jku", sign(dict(HDR, jku="http://127.0.0.1:9/keys"), CLAIMS))
write("verify_token", "dup-alg", sign(b'{"alg":"RS256","alg":"none"}', compact(CLAIMS), raw=True))
write("verify_token", "alg-none", f"{b64u(compact({'alg': 'none'}))}.{b64u(compact(CLAIMS))}.")
hs_input = f"{b64u(compact({'alg': 'HS256'}))}.{b64u(compact(CLAIMS))}"
hs_sig = hmac.new(pub_pem, hs_input.encode(), hashlib.sha256).digest()
write("verify_token", "hs256-pubkey-secret", f"{hs_input}.{b64u(hs_sig)}")
h, p, s = valid.split(".")
write("verify_token", "jwe-shape", f"{h}.{p}.{s}.AAAA.BBBB")
write("verify_token", "padded", f"{h}.{p}=.{s}")
write("verify_token", "payload-changed", f"{h}.{b64u(compact(claims(sub='admin')))}.{s}")

# --- verify_token_mutated: arbitrary::Arbitrary bytes for `Input { resign, edits }` ----------------
write("verify_token_mutated", "unchanged", b"\x00")
write("verify_token_mutated", "resigned", b"\x01")
write("verify_token_mutated", "few-edits", bytes(range(0, 64)))
write("verify_token_mutated", "resigned-edits", b"\x01" + bytes(range(255, 191, -1)))

# --- key_source ----------------------------------------------------------------------------------
der = priv.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
pkcs1 = priv.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
write("key_source", "pem", pub_pem)
write("key_source", "pem-pkcs1", pkcs1)
write("key_source", "pem-two", pub_pem + other_pem)
write("key_source", "jwks", json.dumps({"keys": [
    dict(jwk(priv.public_key()), kid=KID, use="sig", alg="RS256"),
    dict(jwk(other), kid=OTHER_KID),
    {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "ec"},
]}))
write("key_source", "jwk-single", json.dumps(dict(jwk(other), kid=OTHER_KID)))
write("key_source", "multi-key-list", json.dumps([
    {"kid": KID, "publicKey": base64.b64encode(pub_pem).decode(), "expiry": NOW + 86400},
    {"kid": OTHER_KID, "publicKey": base64.b64encode(other_pem).decode(), "expiry": NOW - 1},
]))
write("key_source", "html", "<!doctype html><html><body>Sign in</body></html>")
write("key_source", "der", der)

# --- chat_frame ----------------------------------------------------------------------------------
CONV = "0b9d7c1e-4f2a-4c3b-9e8d-7a6b5c4d3e2f"
for name, frame in [
    ("send", {"type": "send", "client_msg_id": "m-1_a", "text": "Hello, I need help"}),
    ("send-agent", {"type": "send", "conversation_id": CONV, "client_msg_id": "a1", "text": "Hi!"}),
    ("resume", {"type": "resume", "after_seq": 0}),
    ("resume-agent", {"type": "resume", "conversation_id": CONV, "after_seq": 12}),
    ("auth", {"type": "auth", "token": valid}),
    ("typing", {"type": "typing"}),
    ("typing-agent", {"type": "typing", "conversation_id": CONV}),
    ("unknown", {"type": "subscribe", "channel": "*"}),
    ("bad-seq", {"type": "resume", "after_seq": -1.5}),
]:
    write("chat_frame", name, compact(frame))
write("chat_frame", "not-object", b'["send"]')
