//! Key sources: the body behind a "public key URL", in one of three formats told apart by content.
//!
//! * PEM: one or more `BEGIN PUBLIC KEY` / `BEGIN RSA PUBLIC KEY` blocks (the blog's `/publickey`);
//!   each key's `kid` is its RFC 7638 thumbprint.
//! * The Omnichannel multi-key list: `[{"kid","publicKey": base64 of the PEM,"expiry": unix secs}]`.
//! * A JWKS: `{"keys":[{"kty":"RSA","n","e",…}]}`; entries that are not RSA signing keys are skipped.
//!
//! Every error is a sentence an administrator can act on.

use crate::json::parse_strict;
use crate::keys::{is_private_label, public_from_block, KeyError, PublicKey};
use crate::pem::{self, PemError};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use serde_json::{json, Map, Value};

/// Most keys one source may publish.
pub const MAX_SOURCE_KEYS: usize = 100;
/// Largest key source body read (bytes). The chat service's fetcher stops earlier (64 KiB).
pub const MAX_SOURCE_BYTES: usize = 1024 * 1024;

/// Which of the three formats a body was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySourceFormat {
    Pem,
    MultiKeyList,
    Jwks,
}

impl KeySourceFormat {
    pub fn as_str(&self) -> &'static str {
        match self {
            KeySourceFormat::Pem => "pem",
            KeySourceFormat::MultiKeyList => "multi_key_list",
            KeySourceFormat::Jwks => "jwks",
        }
    }
}

/// One verification key from a source.
#[derive(Debug, Clone)]
pub struct SourceKey {
    pub kid: Option<String>,
    pub key: PublicKey,
    /// Unix seconds after which the key is no longer used (multi-key list only).
    pub expiry: Option<i64>,
}

/// The keys a verifier may use.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    pub keys: Vec<SourceKey>,
}

impl KeySet {
    /// One key whose `kid` is its thumbprint, without expiry (what a PEM source gives).
    pub fn single(key: PublicKey) -> KeySet {
        KeySet {
            keys: vec![SourceKey {
                kid: Some(key.thumbprint()),
                key,
                expiry: None,
            }],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Why a key source body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySourceError {
    #[error("the body is empty")]
    Empty,
    #[error("the body is {0} bytes: at most {MAX_SOURCE_BYTES}")]
    TooLarge(usize),
    #[error("the body is HTML, not a PEM key")]
    Html,
    #[error("the body is not text: expected a PEM public key, a JWKS or a key list (DER must be converted to PEM)")]
    Binary,
    #[error("the body is neither a PEM public key, a JWKS nor a key list")]
    Unrecognised,
    #[error("the body is not valid JSON: {0}")]
    BadJson(String),
    #[error("JSON but neither a JWKS nor a key list")]
    OtherJson,
    #[error("a single JWK, not a JWKS: wrap it as {{\"keys\":[…]}}")]
    SingleJwk,
    #[error("too many keys ({0}): at most {MAX_SOURCE_KEYS}")]
    TooManyKeys(usize),
    #[error("the key list is empty")]
    EmptyList,
    #[error("the JWKS has no RSA signing key (kty \"RSA\", use \"sig\")")]
    NoUsableJwk,
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("{context}: {error}")]
    Entry { context: String, error: String },
}

fn entry_err(context: String, error: impl ToString) -> KeySourceError {
    KeySourceError::Entry {
        context,
        error: error.to_string(),
    }
}

/// An entry's optional `kid`: absent or null, or a string of 1 to [`crate::MAX_KID_LEN`] characters.
fn kid_of(entry: &Map<String, Value>, ctx: &str) -> Result<Option<String>, KeySourceError> {
    match entry.get("kid") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= crate::MAX_KID_LEN => {
            Ok(Some(s.clone()))
        }
        Some(_) => Err(entry_err(
            ctx.to_string(),
            "\"kid\" must be a string of 1 to 256 characters",
        )),
    }
}

/// Finds the format of `body` by its content and reads every key in it.
pub fn parse_key_source(body: &[u8]) -> Result<(KeySourceFormat, KeySet), KeySourceError> {
    if body.len() > MAX_SOURCE_BYTES {
        return Err(KeySourceError::TooLarge(body.len()));
    }
    let text = std::str::from_utf8(body).map_err(|_| KeySourceError::Binary)?;
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Err(KeySourceError::Empty);
    }
    if looks_like_html(text) {
        return Err(KeySourceError::Html);
    }
    if text.contains("-----BEGIN ") {
        return parse_pem_source(text).map(|k| (KeySourceFormat::Pem, k));
    }
    if text.starts_with('{') || text.starts_with('[') {
        let doc =
            parse_strict(text.as_bytes()).map_err(|e| KeySourceError::BadJson(e.to_string()))?;
        return match doc {
            Value::Array(entries) => {
                parse_multi_key_list(&entries).map(|k| (KeySourceFormat::MultiKeyList, k))
            }
            Value::Object(obj) => match obj.get("keys") {
                Some(Value::Array(entries)) => {
                    parse_jwks(entries).map(|k| (KeySourceFormat::Jwks, k))
                }
                Some(_) => Err(KeySourceError::OtherJson),
                None if obj.contains_key("kty") => Err(KeySourceError::SingleJwk),
                None => Err(KeySourceError::OtherJson),
            },
            _ => Err(KeySourceError::OtherJson),
        };
    }
    Err(KeySourceError::Unrecognised)
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype")
        || head.starts_with("<html")
        || head.starts_with("<?xml")
        || head.starts_with("<head")
        || head.starts_with("<body")
        || (head.starts_with('<') && head.contains("<html"))
}

fn parse_pem_source(text: &str) -> Result<KeySet, KeySourceError> {
    let (blocks, more) = pem::parse_blocks(text, MAX_SOURCE_KEYS).map_err(|e| match e {
        PemError::NoBlock => KeySourceError::Unrecognised,
        PemError::Unterminated(label) => KeyError::Unterminated { label }.into(),
        PemError::BadBase64(label) => KeyError::BadBase64 { label }.into(),
    })?;
    if more {
        let count = text.matches("-----BEGIN ").count();
        return Err(KeySourceError::TooManyKeys(count));
    }
    let mut keys = Vec::with_capacity(blocks.len());
    let many = blocks.len() > 1;
    for (i, block) in blocks.iter().enumerate() {
        let key = public_from_block(&block.label, &block.der).map_err(|e| {
            if many {
                entry_err(format!("PEM block {}", i + 1), e)
            } else {
                e.into()
            }
        })?;
        keys.push(SourceKey {
            kid: Some(key.thumbprint()),
            key,
            expiry: None,
        });
    }
    Ok(KeySet { keys })
}

/// Standard base64 that accepts input with or without padding (the key list's `publicKey`).
const STANDARD_LAX: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
/// base64url that accepts padding (some JWKS publishers pad `n` and `e`).
const URL_SAFE_LAX: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn parse_multi_key_list(entries: &[Value]) -> Result<KeySet, KeySourceError> {
    if entries.is_empty() {
        return Err(KeySourceError::EmptyList);
    }
    if entries.len() > MAX_SOURCE_KEYS {
        return Err(KeySourceError::TooManyKeys(entries.len()));
    }
    let mut keys = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let ctx = format!("key list entry {}", i + 1);
        let Value::Object(obj) = entry else {
            return Err(entry_err(ctx, "not a JSON object"));
        };
        let kid = kid_of(obj, &ctx)?;
        let pem_b64 = match obj.get("publicKey") {
            Some(Value::String(s)) => s,
            Some(_) => {
                return Err(entry_err(
                    ctx,
                    "\"publicKey\" must be a string (base64 of the PEM)",
                ))
            }
            None => return Err(entry_err(ctx, "missing \"publicKey\"")),
        };
        let pem_text = if pem_b64.contains("-----BEGIN ") {
            pem_b64.clone()
        } else {
            let compact: String = pem_b64.chars().filter(|c| !c.is_whitespace()).collect();
            let raw = STANDARD_LAX
                .decode(compact.as_bytes())
                .or_else(|_| URL_SAFE_LAX.decode(compact.as_bytes()))
                .map_err(|_| entry_err(ctx.clone(), "\"publicKey\" is not base64 of a PEM key"))?;
            String::from_utf8(raw)
                .map_err(|_| entry_err(ctx.clone(), "\"publicKey\" is not base64 of a PEM key"))?
        };
        let key = pem_key(&pem_text).map_err(|e| entry_err(ctx.clone(), e))?;
        let expiry = match obj.get("expiry") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => {
                let secs = n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.is_finite())
                        .map(|f| f.floor() as i64)
                });
                match secs {
                    Some(s) => Some(s),
                    None => return Err(entry_err(ctx, "\"expiry\" must be unix seconds")),
                }
            }
            Some(_) => return Err(entry_err(ctx, "\"expiry\" must be a number (unix seconds)")),
        };
        keys.push(SourceKey { kid, key, expiry });
    }
    Ok(KeySet { keys })
}

/// The single public key in a PEM text, refusing private keys.
fn pem_key(text: &str) -> Result<PublicKey, KeyError> {
    let (blocks, _) = pem::parse_blocks(text, 1).map_err(|e| match e {
        PemError::NoBlock => KeyError::NotPem {
            expected: "PUBLIC KEY",
        },
        PemError::Unterminated(label) => KeyError::Unterminated { label },
        PemError::BadBase64(label) => KeyError::BadBase64 { label },
    })?;
    match blocks.first() {
        Some(b) if is_private_label(&b.label) => Err(KeyError::PrivateKeyGiven),
        Some(b) => public_from_block(&b.label, &b.der),
        None => Err(KeyError::NotPem {
            expected: "PUBLIC KEY",
        }),
    }
}

fn parse_jwks(entries: &[Value]) -> Result<KeySet, KeySourceError> {
    if entries.len() > MAX_SOURCE_KEYS {
        return Err(KeySourceError::TooManyKeys(entries.len()));
    }
    let mut keys = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let ctx = format!("JWKS key {}", i + 1);
        let Value::Object(jwk) = entry else {
            return Err(entry_err(ctx, "not a JSON object"));
        };
        if jwk.get("kty").and_then(Value::as_str) != Some("RSA") {
            continue;
        }
        if !matches!(jwk.get("use"), None | Some(Value::Null))
            && jwk.get("use").and_then(Value::as_str) != Some("sig")
        {
            continue;
        }
        if !matches!(jwk.get("alg"), None | Some(Value::Null))
            && jwk.get("alg").and_then(Value::as_str) != Some("RS256")
        {
            continue;
        }
        if let Some(ops) = jwk.get("key_ops").and_then(Value::as_array) {
            if !ops.iter().any(|o| o.as_str() == Some("verify")) {
                continue;
            }
        }
        if ["d", "p", "q", "dp", "dq", "qi"]
            .iter()
            .any(|k| jwk.contains_key(*k))
        {
            return Err(entry_err(ctx, KeyError::PrivateKeyGiven));
        }
        let kid = kid_of(jwk, &ctx)?;
        let n = jwk_uint(jwk, "n").map_err(|e| entry_err(ctx.clone(), e))?;
        let e = jwk_uint(jwk, "e").map_err(|e| entry_err(ctx.clone(), e))?;
        let key = PublicKey::from_components(&n, &e).map_err(|e| entry_err(ctx.clone(), e))?;
        keys.push(SourceKey {
            kid,
            key,
            expiry: None,
        });
    }
    if keys.is_empty() {
        return Err(KeySourceError::NoUsableJwk);
    }
    Ok(KeySet { keys })
}

fn jwk_uint(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    match jwk.get(name) {
        Some(Value::String(s)) => URL_SAFE_LAX
            .decode(s.as_bytes())
            .map_err(|_| format!("\"{name}\" is not base64url")),
        Some(_) => Err(format!("\"{name}\" must be a base64url string")),
        None => Err(format!("missing \"{name}\"")),
    }
}

/// A JWKS of `keys`, each with `kid` = its RFC 7638 thumbprint.
pub fn jwks_document(keys: &[&PublicKey]) -> Value {
    let keys: Vec<Value> = keys.iter().map(|k| k.to_jwk(&k.thumbprint())).collect();
    json!({ "keys": keys })
}

/// The Omnichannel multi-key list `[{"kid","publicKey","expiry"}]` (kid = thumbprint,
/// `publicKey` = standard base64 of the SPKI PEM).
pub fn multi_key_list(keys: &[(&PublicKey, i64)]) -> Value {
    Value::Array(
        keys.iter()
            .map(|(k, expiry)| {
                json!({
                    "kid": k.thumbprint(),
                    "publicKey": STANDARD.encode(k.to_spki_pem()),
                    "expiry": expiry,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names() {
        assert_eq!(KeySourceFormat::Pem.as_str(), "pem");
        assert_eq!(KeySourceFormat::MultiKeyList.as_str(), "multi_key_list");
        assert_eq!(KeySourceFormat::Jwks.as_str(), "jwks");
    }

    #[test]
    fn html_detection() {
        assert!(looks_like_html("<!doctype html><p>x"));
        assert!(looks_like_html("<HTML>"));
        assert!(looks_like_html("<!-- comment --><html>"));
        assert!(!looks_like_html("-----BEGIN PUBLIC KEY-----"));
        assert!(!looks_like_html("{\"keys\":[]}"));
    }

    #[test]
    fn json_that_is_not_a_source() {
        for body in ["1", "\"x\"", "null", "true"] {
            // not starting with { or [ → not recognised as JSON at all
            assert_eq!(
                parse_key_source(body.as_bytes()).unwrap_err(),
                KeySourceError::Unrecognised
            );
        }
        assert_eq!(
            parse_key_source(b"[1]").unwrap_err().to_string(),
            "key list entry 1: not a JSON object"
        );
        assert!(parse_key_source(br#"{"keys":[],"keys":[]}"#)
            .unwrap_err()
            .to_string()
            .contains("duplicate key"));
    }
}
