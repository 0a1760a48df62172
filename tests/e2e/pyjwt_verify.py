"""Verifies a vouch token with PyJWT, an independent implementation.

usage: pyjwt_verify.py TOKEN (pem|jwks) URL ISSUER
Fetches the key from URL (loopback only, as every test here), verifies RS256 + issuer + exp,
prints the claims as JSON. Exit 1 with the PyJWT error on failure.
"""
import json
import sys
import urllib.request
from urllib.parse import urlparse

import jwt
from jwt import PyJWKClient


def main() -> int:
    token, mode, url, issuer = sys.argv[1:5]
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"refusing to contact {host}: tests talk to loopback only", file=sys.stderr)
        return 2
    try:
        if mode == "pem":
            with urllib.request.urlopen(url, timeout=5) as resp:
                key = resp.read().decode()
        else:
            key = PyJWKClient(url).get_signing_key_from_jwt(token).key
        claims = jwt.decode(token, key, algorithms=["RS256"], issuer=issuer,
                            options={"require": ["iss", "sub", "iat", "exp"]})
    except Exception as err:  # the test prints it
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(json.dumps(claims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
