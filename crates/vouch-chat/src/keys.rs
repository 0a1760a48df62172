//! Fetching and caching the public keys that verify customer tokens.
