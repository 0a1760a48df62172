//! Readiness (`GET /readyz`): the database answers, and every chat authentication setting's key
//! URL has keys cached (or gives them now), so a customer token can be verified.

use std::time::Duration;

use serde::Serialize;
use uuid::Uuid;

use super::Chat;

/// One thing that is not ready, named for the operator.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum NotReady {
    /// The database did not answer in time or answered with an error.
    Database { message: String },
    /// A setting's key URL has no usable keys.
    Keys {
        auth_settings_id: Uuid,
        name: String,
        public_key_url: String,
        /// The key fetcher's machine code (`connect`, `http_status`, `timeout`, …).
        error: String,
        message: String,
    },
}

impl Chat {
    /// What is not ready (empty = ready). Waits at most `wait` for the database and for key
    /// fetches; a fetch that takes longer goes on in the background and counts as not ready.
    pub async fn readiness(&self, wait: Duration) -> Vec<NotReady> {
        let mut out = Vec::new();
        match tokio::time::timeout(wait, self.store.ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "readiness: the database does not answer");
                out.push(NotReady::Database {
                    message: "the database does not answer".into(),
                });
                return out;
            }
            Err(_) => {
                out.push(NotReady::Database {
                    message: format!("the database did not answer within {} ms", wait.as_millis()),
                });
                return out;
            }
        }
        let settings = match tokio::time::timeout(wait, self.store.list_auth_settings()).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "readiness: listing the settings failed");
                out.push(NotReady::Database {
                    message: "reading the chat authentication settings failed".into(),
                });
                return out;
            }
            Err(_) => {
                out.push(NotReady::Database {
                    message: "reading the chat authentication settings timed out".into(),
                });
                return out;
            }
        };
        // Fetches run as their own tasks: a slow key server delays this answer by `wait` at
        // most, and the fetch still completes for the next probe.
        let checks: Vec<_> = settings
            .into_iter()
            .map(|s| {
                let keys = self.keys.clone();
                let url = s.public_key_url.clone();
                (s, tokio::spawn(async move { keys.ensure(&url).await }))
            })
            .collect();
        let deadline = tokio::time::Instant::now() + wait;
        for (s, task) in checks {
            let failure = match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(Ok(()))) => None,
                Ok(Ok(Err(e))) => Some((e.code().to_string(), e.to_string())),
                Ok(Err(join)) => Some(("internal".into(), format!("the check failed: {join}"))),
                Err(_) => Some((
                    "timeout".into(),
                    format!(
                        "no keys yet: the fetch did not finish within {} ms",
                        wait.as_millis()
                    ),
                )),
            };
            if let Some((error, message)) = failure {
                out.push(NotReady::Keys {
                    auth_settings_id: s.id,
                    name: s.name,
                    public_key_url: s.public_key_url,
                    error,
                    message,
                });
            }
        }
        out
    }
}
