//! RSA keys: generation, PEM/DER formats, RFC 7638 thumbprints, JWK output and RS256 signing.

use crate::pem::{self, PemError};
use crate::B64;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use base64::Engine;
use pkcs1::der::{Decode, Encode};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;

/// `rsaEncryption` (RFC 8017).
const RSA_ENCRYPTION_OID: spki::ObjectIdentifier =
    spki::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Smallest RSA modulus accepted anywhere (bits).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted anywhere (bits).
pub const MAX_RSA_BITS: usize = 8192;
/// Longest `kid` accepted in a token header and written by [`SigningKey::sign_with_kid`].
pub const MAX_KID_LEN: usize = 256;

/// Why a key could not be generated or read. The text is meant for a person: it says what
/// is wrong and, where there is one, what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("RSA key of {bits} bits: at least {MIN_RSA_BITS} required")]
    TooSmall { bits: usize },
    #[error("RSA key of {bits} bits: at most {MAX_RSA_BITS} supported")]
    TooLarge { bits: usize },
    #[error("RSA key size {bits} is not supported: use 2048, 3072 or 4096")]
    UnsupportedSize { bits: usize },
    #[error("not a PEM key: expected a line \"-----BEGIN {expected}-----\"")]
    NotPem { expected: &'static str },
    #[error("the PEM block \"{label}\" has no matching END line")]
    Unterminated { label: String },
    #[error("the PEM block \"{label}\" is not valid base64")]
    BadBase64 { label: String },
    #[error("this is a PRIVATE key: publish only the public key")]
    PrivateKeyGiven,
    #[error("this is a public key: signing needs the private key")]
    PublicKeyGiven,
    #[error("the private key is encrypted: decrypt it first (openssl pkey -in KEY -out PLAIN)")]
    Encrypted,
    #[error(
        "a certificate, not a public key: publish the key (openssl x509 -pubkey -noout -in CERT)"
    )]
    Certificate,
    #[error("not an RSA key ({what}): only RSA keys are supported")]
    NotRsa { what: String },
    #[error("unexpected PEM block \"{label}\": expected {expected}")]
    WrongLabel {
        label: String,
        expected: &'static str,
    },
    #[error("invalid RSA key: {0}")]
    Invalid(String),
    #[error("RSA key generation failed")]
    Generation,
}

/// Why a token could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("claims could not be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("claims must serialize to a JSON object")]
    NotAnObject,
    #[error("kid must be 1 to {MAX_KID_LEN} characters")]
    InvalidKid,
    #[error("RSA signing failed")]
    Crypto,
}

/// An RSA public key, parsed once for fast repeated RS256 verification.
///
/// Cheap to clone (the parsed key is shared).
#[derive(Clone)]
pub struct PublicKey {
    inner: Arc<PublicInner>,
}

struct PublicInner {
    /// Modulus, big-endian without leading zeros.
    n: Vec<u8>,
    /// Public exponent, big-endian without leading zeros.
    e: Vec<u8>,
    bits: usize,
    spki_der: Vec<u8>,
    thumbprint: String,
    parsed: ParsedPublicKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.inner.bits)
            .field("thumbprint", &self.inner.thumbprint)
            .finish()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.inner.n == other.inner.n && self.inner.e == other.inner.e
    }
}
impl Eq for PublicKey {}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

fn bit_len(n: &[u8]) -> usize {
    let n = strip_zeros(n);
    match n.first() {
        None => 0,
        Some(&top) => (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

impl PublicKey {
    /// Reads `BEGIN PUBLIC KEY` (SPKI) or `BEGIN RSA PUBLIC KEY` (PKCS#1) PEM.
    /// The first key block in the text is used.
    pub fn from_pem(pem_text: &str) -> Result<PublicKey, KeyError> {
        let (blocks, _) = pem::parse_blocks(pem_text, 1).map_err(|e| pem_error(e, "PUBLIC KEY"))?;
        let block = blocks.into_iter().next().ok_or(KeyError::NotPem {
            expected: "PUBLIC KEY",
        })?;
        public_from_block(&block.label, &block.der)
    }

    /// Reads a DER `SubjectPublicKeyInfo` (rsaEncryption).
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| KeyError::Invalid(format!("not a SubjectPublicKeyInfo: {e}")))?;
        if spki.algorithm.oid != RSA_ENCRYPTION_OID {
            return Err(KeyError::NotRsa {
                what: format!("algorithm {}", spki.algorithm.oid),
            });
        }
        let bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::Invalid("public key bit string has unused bits".to_owned()))?;
        Self::from_pkcs1_der(bytes)
    }

    /// Reads a DER PKCS#1 `RSAPublicKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let k = pkcs1::RsaPublicKey::from_der(der)
            .map_err(|e| KeyError::Invalid(format!("not an RSAPublicKey: {e}")))?;
        Self::from_components(k.modulus.as_bytes(), k.public_exponent.as_bytes())
    }

    /// Builds a key from its modulus `n` and exponent `e` (big-endian; leading zeros allowed).
    /// Moduli under 2048 or over 8192 bits are refused.
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<PublicKey, KeyError> {
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        let bits = bit_len(n);
        if bits < MIN_RSA_BITS {
            return Err(KeyError::TooSmall { bits });
        }
        if bits > MAX_RSA_BITS {
            return Err(KeyError::TooLarge { bits });
        }
        // RFC 8017: e odd, 3 <= e; aws-lc further bounds it to 33 bits.
        if e.is_empty() || e.len() > 8 || e.last().is_some_and(|b| b & 1 == 0) || e == [1] {
            return Err(KeyError::Invalid(
                "public exponent must be an odd number of at least 3".to_owned(),
            ));
        }
        if n.last().is_some_and(|b| b & 1 == 0) {
            return Err(KeyError::Invalid("modulus must be odd".to_owned()));
        }
        let components = PublicKeyComponents { n, e };
        let parsed = components
            .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
            .map_err(|e| KeyError::Invalid(e.to_string()))?;
        let spki_der = components
            .as_der()
            .map_err(|_| KeyError::Invalid("cannot encode the key".to_owned()))?
            .as_ref()
            .to_vec();
        let thumbprint = thumbprint_of(n, e);
        Ok(PublicKey {
            inner: Arc::new(PublicInner {
                n: n.to_vec(),
                e: e.to_vec(),
                bits,
                spki_der,
                thumbprint,
                parsed,
            }),
        })
    }

    /// `-----BEGIN PUBLIC KEY-----` PEM (SPKI), as `openssl rsa -pubout` writes it.
    pub fn to_spki_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.inner.spki_der)
    }

    /// DER `SubjectPublicKeyInfo`.
    pub fn to_spki_der(&self) -> &[u8] {
        &self.inner.spki_der
    }

    /// DER PKCS#1 `RSAPublicKey` (what `BEGIN RSA PUBLIC KEY` holds).
    pub fn to_pkcs1_der(&self) -> Vec<u8> {
        let (Ok(modulus), Ok(public_exponent)) = (
            pkcs1::UintRef::new(&self.inner.n),
            pkcs1::UintRef::new(&self.inner.e),
        ) else {
            return Vec::new();
        };
        pkcs1::RsaPublicKey {
            modulus,
            public_exponent,
        }
        .to_der()
        .unwrap_or_default()
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.inner.bits
    }

    /// Modulus, big-endian without leading zeros.
    pub fn modulus(&self) -> &[u8] {
        &self.inner.n
    }

    /// Public exponent, big-endian without leading zeros.
    pub fn exponent(&self) -> &[u8] {
        &self.inner.e
    }

    /// RFC 7638 JWK thumbprint: base64url(SHA-256(`{"e":…,"kty":"RSA","n":…}`)).
    pub fn thumbprint(&self) -> String {
        self.inner.thumbprint.clone()
    }

    /// The key as a JWK: `{"kty":"RSA","use":"sig","alg":"RS256","kid","n","e"}`.
    pub fn to_jwk(&self, kid: &str) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "n": B64.encode(&self.inner.n),
            "e": B64.encode(&self.inner.e),
        })
    }

    /// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) check of `signature` over `message`.
    pub fn verify_rs256(&self, message: &[u8], signature: &[u8]) -> bool {
        self.inner.parsed.verify_sig(message, signature).is_ok()
    }
}

fn thumbprint_of(n: &[u8], e: &[u8]) -> String {
    // Members in lexicographic order, no whitespace (RFC 7638 section 3).
    let json = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        B64.encode(e),
        B64.encode(n)
    );
    B64.encode(Sha256::digest(json.as_bytes()))
}

fn pem_error(e: PemError, expected: &'static str) -> KeyError {
    match e {
        PemError::NoBlock => KeyError::NotPem { expected },
        PemError::Unterminated(label) => KeyError::Unterminated { label },
        PemError::BadBase64(label) => KeyError::BadBase64 { label },
    }
}

/// Interprets one PEM block as a public key, with a helpful error for every other kind.
pub(crate) fn public_from_block(label: &str, der: &[u8]) -> Result<PublicKey, KeyError> {
    match label {
        "PUBLIC KEY" => PublicKey::from_spki_der(der),
        "RSA PUBLIC KEY" => PublicKey::from_pkcs1_der(der),
        l if is_private_label(l) => Err(KeyError::PrivateKeyGiven),
        "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => Err(KeyError::Certificate),
        other => Err(KeyError::WrongLabel {
            label: crate::shorten(other),
            expected: "PUBLIC KEY or RSA PUBLIC KEY",
        }),
    }
}

pub(crate) fn is_private_label(label: &str) -> bool {
    label.contains("PRIVATE KEY")
}

/// An RSA private key, parsed once, with its public key and `kid` (RFC 7638 thumbprint).
///
/// `Debug` prints only the `kid` and size, never key material.
pub struct SigningKey {
    pair: KeyPair,
    public: PublicKey,
    kid: String,
    /// base64url of the default header `{"alg":"RS256","typ":"JWT","kid":<kid>}`.
    header_b64: String,
    sig_len: usize,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("bits", &self.public.bits())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

fn header_b64(kid: Option<&str>) -> Result<String, SignError> {
    let json = serde_json::to_vec(&Header {
        alg: "RS256",
        typ: "JWT",
        kid,
    })?;
    Ok(B64.encode(json))
}

impl SigningKey {
    /// A new key of `bits` bits: 2048, 3072 or 4096 only.
    pub fn generate(bits: usize) -> Result<SigningKey, KeyError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            _ => return Err(KeyError::UnsupportedSize { bits }),
        };
        let pair = KeyPair::generate(size).map_err(|_| KeyError::Generation)?;
        Self::from_pair(pair)
    }

    /// Reads PKCS#8 (`BEGIN PRIVATE KEY`, what `openssl genpkey` writes) or PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`, `openssl rsa -traditional`) PEM. Keys under 2048 bits are refused.
    pub fn from_pem(pem_text: &str) -> Result<SigningKey, KeyError> {
        let (blocks, _) =
            pem::parse_blocks(pem_text, 1).map_err(|e| pem_error(e, "PRIVATE KEY"))?;
        let block = blocks.into_iter().next().ok_or(KeyError::NotPem {
            expected: "PRIVATE KEY",
        })?;
        if block.has_headers {
            return Err(KeyError::Encrypted);
        }
        match block.label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&block.der),
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&block.der),
            "ENCRYPTED PRIVATE KEY" => Err(KeyError::Encrypted),
            "PUBLIC KEY" | "RSA PUBLIC KEY" => Err(KeyError::PublicKeyGiven),
            "EC PRIVATE KEY" | "OPENSSH PRIVATE KEY" | "DSA PRIVATE KEY" => Err(KeyError::NotRsa {
                what: block.label.to_lowercase(),
            }),
            other => Err(KeyError::WrongLabel {
                label: crate::shorten(other),
                expected: "PRIVATE KEY or RSA PRIVATE KEY",
            }),
        }
    }

    /// Reads a DER PKCS#8 `PrivateKeyInfo` holding an RSA key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, KeyError> {
        let info = pkcs8::PrivateKeyInfo::try_from(der)
            .map_err(|e| KeyError::Invalid(format!("not a PKCS#8 private key: {e}")))?;
        if info.algorithm.oid != RSA_ENCRYPTION_OID {
            return Err(KeyError::NotRsa {
                what: format!("algorithm {}", info.algorithm.oid),
            });
        }
        check_private_size(info.private_key)?;
        let pair = KeyPair::from_pkcs8(der).map_err(|e| KeyError::Invalid(e.to_string()))?;
        Self::from_pair(pair)
    }

    /// Reads a DER PKCS#1 `RSAPrivateKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<SigningKey, KeyError> {
        check_private_size(der)?;
        let pair = KeyPair::from_der(der).map_err(|e| KeyError::Invalid(e.to_string()))?;
        Self::from_pair(pair)
    }

    fn from_pair(pair: KeyPair) -> Result<SigningKey, KeyError> {
        let public = PublicKey::from_pkcs1_der(pair.public_key().as_ref())?;
        let kid = public.thumbprint();
        let header_b64 = header_b64(Some(&kid))
            .map_err(|_| KeyError::Invalid("cannot encode the header".to_owned()))?;
        let sig_len = pair.public_modulus_len();
        Ok(SigningKey {
            pair,
            public,
            kid,
            header_b64,
            sig_len,
        })
    }

    /// `-----BEGIN PRIVATE KEY-----` PEM (PKCS#8), as `openssl genpkey` writes it.
    pub fn to_pkcs8_pem(&self) -> String {
        match AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&self.pair) {
            Ok(der) => pem::encode("PRIVATE KEY", der.as_ref()),
            // Serialising a key aws-lc itself holds does not fail in practice.
            Err(_) => String::new(),
        }
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// RFC 7638 thumbprint of the public key; the `kid` of tokens from [`SigningKey::sign`].
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A compact RS256 JWT with header `{"alg":"RS256","typ":"JWT","kid":<thumbprint>}`.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, SignError> {
        let payload = serde_json::to_vec(claims)?;
        self.sign_parts(&self.header_b64, &payload)
    }

    /// Like [`SigningKey::sign`] with a chosen `kid` header; `None` leaves `kid` out.
    pub fn sign_with_kid<C: Serialize>(
        &self,
        claims: &C,
        kid: Option<&str>,
    ) -> Result<String, SignError> {
        if let Some(k) = kid {
            if k.is_empty() || k.chars().count() > MAX_KID_LEN {
                return Err(SignError::InvalidKid);
            }
        }
        let header = header_b64(kid)?;
        let payload = serde_json::to_vec(claims)?;
        self.sign_parts(&header, &payload)
    }

    /// RS256 signature of arbitrary bytes (for tests and tools that build their own tokens).
    pub fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let mut sig = vec![0u8; self.sig_len];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.pair
            .sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
            .map_err(|_| SignError::Crypto)?;
        Ok(sig)
    }

    fn sign_parts(&self, header_b64: &str, payload: &[u8]) -> Result<String, SignError> {
        if payload.first() != Some(&b'{') {
            return Err(SignError::NotAnObject);
        }
        let payload_len = payload.len().div_ceil(3) * 4;
        let sig_b64_len = self.sig_len.div_ceil(3) * 4;
        let mut token = String::with_capacity(header_b64.len() + payload_len + sig_b64_len + 2);
        token.push_str(header_b64);
        token.push('.');
        B64.encode_string(payload, &mut token);
        let sig = self.sign_bytes(token.as_bytes())?;
        token.push('.');
        B64.encode_string(sig, &mut token);
        Ok(token)
    }
}

fn check_private_size(pkcs1_der: &[u8]) -> Result<(), KeyError> {
    let key = pkcs1::RsaPrivateKey::from_der(pkcs1_der)
        .map_err(|e| KeyError::Invalid(format!("not an RSAPrivateKey: {e}")))?;
    let bits = bit_len(key.modulus.as_bytes());
    if bits < MIN_RSA_BITS {
        return Err(KeyError::TooSmall { bits });
    }
    if bits > MAX_RSA_BITS {
        return Err(KeyError::TooLarge { bits });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 section 3.1: the example RSA key and its thumbprint.
    #[test]
    fn rfc7638_thumbprint_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let n = B64.decode(n).unwrap();
        let e = B64.decode("AQAB").unwrap();
        let key = PublicKey::from_components(&n, &e).unwrap();
        assert_eq!(key.bits(), 2048);
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        // leading zero bytes do not change the key
        let mut padded = vec![0u8, 0];
        padded.extend_from_slice(&n);
        let same = PublicKey::from_components(&padded, &[0, 1, 0, 1]).unwrap();
        assert_eq!(same.thumbprint(), key.thumbprint());
        let jwk = key.to_jwk("k1");
        assert_eq!(
            jwk,
            serde_json::json!({"kty":"RSA","use":"sig","alg":"RS256","kid":"k1",
                "n": B64.encode(&n), "e":"AQAB"})
        );
    }

    #[test]
    fn components_are_checked() {
        let mut n = vec![0xffu8; 256];
        n[255] = 0xfb; // odd
        assert!(PublicKey::from_components(&n, &[1, 0, 1]).is_ok());
        assert_eq!(
            PublicKey::from_components(&n[..128], &[1, 0, 1]).unwrap_err(),
            KeyError::TooSmall { bits: 1024 }
        );
        assert_eq!(
            PublicKey::from_components(&vec![0xff; 1025], &[1, 0, 1]).unwrap_err(),
            KeyError::TooLarge { bits: 8200 }
        );
        for e in [&[][..], &[1], &[2], &[1, 0, 0], &[0]] {
            assert!(PublicKey::from_components(&n, e).is_err(), "e = {e:?}");
        }
        let mut even = n.clone();
        even[255] = 0xfa;
        assert!(PublicKey::from_components(&even, &[1, 0, 1]).is_err());
    }

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[0, 0]), 0);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0, 0x80, 0]), 16);
    }
}
