//! Verification-failure diagnostics: every refused customer token is counted per reason and the
//! newest 100 are kept with time, reason, detail and the token's (unverified) `kid`, `iss` and
//! `sub` — never the token itself.

use base64::Engine;
use serde_json::Value;
use uuid::Uuid;

use super::Chat;
use crate::error::ChatError;
use crate::storage::{now_millis, VerificationFailure};

/// How many failures are listed.
pub const KEEP_RECENT: u32 = 100;

/// Counts per reason and the newest failures first.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FailureReport {
    /// Refusals per reason code.
    #[schema(value_type = std::collections::BTreeMap<String, u64>)]
    pub counts: serde_json::Map<String, Value>,
    pub recent: Vec<VerificationFailure>,
}

/// Cuts an attacker-chosen string for display.
fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn segment_json(segment: Option<&str>) -> Option<serde_json::Map<String, Value>> {
    let seg = segment?;
    if seg.len() > 8192 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(seg.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn string_of(map: &Option<serde_json::Map<String, Value>>, key: &str) -> Option<String> {
    match map.as_ref()?.get(key)? {
        Value::String(s) => Some(cut(s, 200)),
        Value::Number(n) => Some(cut(&n.to_string(), 200)),
        _ => None,
    }
}

/// The `kid`, `iss` and `sub` a token claims, read without trusting it (for the diagnostics list).
pub(crate) fn unverified_ids(token: &str) -> (Option<String>, Option<String>, Option<String>) {
    if token.len() > 64 * 1024 {
        return (None, None, None);
    }
    let mut parts = token.split('.');
    let header = segment_json(parts.next());
    let payload = segment_json(parts.next());
    (
        string_of(&header, "kid"),
        string_of(&payload, "iss"),
        string_of(&payload, "sub"),
    )
}

impl Chat {
    /// Records a refused token: the diagnostics list and the `vouch_chat_token_verifications_total`
    /// metric both count here, so they agree. Failures to record are logged, never shown to the
    /// customer.
    pub(crate) async fn record_failure(
        &self,
        token: &str,
        auth_settings_id: Option<Uuid>,
        reason: &str,
        detail: &str,
    ) {
        self.metrics.token_failed(reason);
        let (kid, iss, sub) = unverified_ids(token);
        let f = VerificationFailure {
            at: now_millis(),
            reason: reason.to_string(),
            detail: cut(detail, 500),
            kid,
            iss,
            sub,
            auth_settings_id,
        };
        tracing::info!(reason, detail = %f.detail, kid = ?f.kid, iss = ?f.iss, "customer token refused");
        if let Err(e) = self
            .store
            .record_verification_failure(&f, KEEP_RECENT)
            .await
        {
            tracing::error!(error = %e, "could not record a verification failure");
        }
    }

    /// Counts per reason and the newest [`KEEP_RECENT`] failures, newest first.
    pub async fn verification_failures(&self) -> Result<FailureReport, ChatError> {
        let counts = self
            .store
            .verification_failure_counts()
            .await?
            .into_iter()
            .map(|(reason, n)| (reason, Value::from(n)))
            .collect();
        let recent = self.store.recent_verification_failures(KEEP_RECENT).await?;
        Ok(FailureReport { counts, recent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ids_without_trusting() {
        let enc = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let t = format!(
            "{}.{}.sig",
            enc(r#"{"alg":"none","kid":"k1"}"#),
            enc(r#"{"iss":"https://x","sub":"u-1"}"#)
        );
        assert_eq!(
            unverified_ids(&t),
            (
                Some("k1".into()),
                Some("https://x".into()),
                Some("u-1".into())
            )
        );
        assert_eq!(unverified_ids("garbage"), (None, None, None));
        assert_eq!(unverified_ids(""), (None, None, None));
    }
}
