//! `Vouch-Signature: t=<unix secs>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, keyed by the
//! webhook's secret exactly as shown at creation (Stripe's scheme). Verification compares in
//! constant time (`Mac::verify_slice`) and refuses a timestamp outside the tolerance (replays).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How old (or how far in the future) a signature's timestamp may be by default: 5 minutes.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused. The text is what `vouch webhooks verify` prints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the header is not t=<unix seconds>,v1=<hex>")]
    Malformed,
    #[error("the timestamp is {age} s away from now (more than {tolerance} s): a replay or a wrong clock")]
    Stale { age: i64, tolerance: i64 },
    #[error("no v1 signature matches the body and secret")]
    Mismatch,
}

fn mac(secret: &str, t: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for HMAC.
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The header value for `body` signed at `t` (Unix seconds).
pub fn signature_header(secret: &str, t: i64, body: &[u8]) -> String {
    let sig = mac(secret, t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(sig))
}

/// Checks a `Vouch-Signature` header against `body`: one of its `v1` values must match, and
/// its `t` must be within `tolerance_secs` of `now_secs` (`None`: no age check).
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: Option<i64>,
) -> Result<i64, VerifyError> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.trim().split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.parse::<i64>().map_err(|_| VerifyError::Malformed)?),
            Some(("v1", v)) => sigs.push(hex::decode(v).map_err(|_| VerifyError::Malformed)?),
            Some(_) => {} // other schemes are ignored, as Stripe's receivers do
            None => return Err(VerifyError::Malformed),
        }
    }
    let t = t.ok_or(VerifyError::Malformed)?;
    if sigs.is_empty() {
        return Err(VerifyError::Malformed);
    }
    if let Some(tolerance) = tolerance_secs {
        let age = (now_secs - t).abs();
        if age > tolerance {
            return Err(VerifyError::Stale { age, tolerance });
        }
    }
    if sigs
        .iter()
        .any(|s| mac(secret, t, body).verify_slice(s).is_ok())
    {
        Ok(t)
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_refuses_tampering_and_replays() {
        let h = signature_header("whsec_x", 1_700_000_000, b"{\"a\":1}");
        assert!(h.starts_with("t=1700000000,v1="));
        assert_eq!(h.len(), "t=1700000000,v1=".len() + 64);
        assert_eq!(
            verify("whsec_x", &h, b"{\"a\":1}", 1_700_000_100, Some(300)),
            Ok(1_700_000_000)
        );
        assert_eq!(
            verify("whsec_x", &h, b"{\"a\":2}", 1_700_000_100, Some(300)),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("whsec_y", &h, b"{\"a\":1}", 1_700_000_100, Some(300)),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("whsec_x", &h, b"{\"a\":1}", 1_700_000_301, Some(300)),
            Err(VerifyError::Stale {
                age: 301,
                tolerance: 300
            })
        );
        assert_eq!(
            verify("whsec_x", "v1=00", b"", 0, None),
            Err(VerifyError::Malformed)
        );
    }

    #[test]
    fn matches_an_independent_hmac_computation() {
        // Computed with Python's hmac module: hmac.new(b"Jefe", b"0.what do ya want for
        // nothing?", hashlib.sha256).hexdigest() (the receiver in docs/integrate.md does this).
        assert_eq!(
            signature_header("Jefe", 0, b"what do ya want for nothing?"),
            "t=0,v1=37f471929915ccd2cbbe79feb84ffcff4f2bb25e15fc41c2506687331ae179cc"
        );
    }
}
