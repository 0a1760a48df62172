//! RSA keys, key-source formats, RS256 signing and strict JWT verification (no I/O).
