//! Website accounts: the shape of a user and the rules a new one must follow.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::PortalError;

pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_NAME_LEN: usize = 200;
pub const MAX_PHONE_LEN: usize = 64;
pub const MAX_PASSWORD_LEN: usize = 1024;
pub const MAX_CONTEXT_ENTRIES: usize = 100;
pub const MAX_CONTEXT_NAME_LEN: usize = 100;
pub const MAX_CONTEXT_VALUE_LEN: usize = 4000;

/// A user to create (`vouch portal users add`, the demo data).
#[derive(Clone)]
pub struct NewUser {
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    /// The contact id in the chat service's CRM (the token's `sub`); random when `None`.
    pub contact_id: Option<Uuid>,
    pub phone: Option<String>,
    /// Context variables sent as the `lwicontexts` claim (primitives only).
    pub context: Map<String, Value>,
    pub password: String,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("email", &self.email)
            .field("given_name", &self.given_name)
            .field("family_name", &self.family_name)
            .field("contact_id", &self.contact_id)
            .field("phone", &self.phone)
            .field("context", &self.context)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A stored website account (never carries the password hash).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub contact_id: Uuid,
    pub phone: Option<String>,
    pub context: Map<String, Value>,
    /// Unix seconds.
    pub created_at: i64,
}

impl User {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
            .trim()
            .to_string()
    }
}

/// Lower-cases and trims an email; `None` when it cannot be an address.
pub fn normalize_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    if e.is_empty() || e.len() > MAX_EMAIL_LEN {
        return None;
    }
    if e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = e.rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() || domain.starts_with('.') || domain.ends_with('.') {
        return None;
    }
    Some(e)
}

fn check_text(field: &'static str, v: &str, max: usize, required: bool) -> Result<(), PortalError> {
    let invalid = |message: String| PortalError::InvalidUser { field, message };
    if required && v.trim().is_empty() {
        return Err(invalid("must not be empty".into()));
    }
    if v.chars().count() > max {
        return Err(invalid(format!("must be at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters".into()));
    }
    Ok(())
}

/// The checked, normalised parts of a [`NewUser`] ready for storage.
pub(crate) struct ValidUser {
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub contact_id: Uuid,
    pub phone: Option<String>,
    pub context_json: String,
}

pub(crate) fn validate(user: &NewUser) -> Result<ValidUser, PortalError> {
    let email = normalize_email(&user.email).ok_or(PortalError::InvalidUser {
        field: "email",
        message: format!("must be an email address of at most {MAX_EMAIL_LEN} characters"),
    })?;
    check_text("given_name", &user.given_name, MAX_NAME_LEN, true)?;
    check_text("family_name", &user.family_name, MAX_NAME_LEN, false)?;
    let phone = match user.phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => {
            check_text("phone", p, MAX_PHONE_LEN, true)?;
            Some(p.to_string())
        }
    };
    if user.password.is_empty() || user.password.len() > MAX_PASSWORD_LEN {
        return Err(PortalError::InvalidUser {
            field: "password",
            message: format!("must be 1-{MAX_PASSWORD_LEN} bytes"),
        });
    }
    let context_json = validate_context(&user.context)?;
    Ok(ValidUser {
        email,
        given_name: user.given_name.trim().to_string(),
        family_name: user.family_name.trim().to_string(),
        contact_id: user.contact_id.unwrap_or_else(Uuid::new_v4),
        phone,
        context_json,
    })
}

/// Context variables follow the verifier's `lwicontexts` rules, so every token the portal
/// issues is accepted: an object of primitives, ≤100 entries, names ≤100, values ≤4000 chars.
fn validate_context(ctx: &Map<String, Value>) -> Result<String, PortalError> {
    let invalid = |message: String| PortalError::InvalidUser {
        field: "context",
        message,
    };
    if ctx.len() > MAX_CONTEXT_ENTRIES {
        return Err(invalid(format!(
            "at most {MAX_CONTEXT_ENTRIES} context variables"
        )));
    }
    for (name, value) in ctx {
        if name.is_empty() || name.chars().count() > MAX_CONTEXT_NAME_LEN {
            return Err(invalid(format!(
                "variable names must be 1-{MAX_CONTEXT_NAME_LEN} characters"
            )));
        }
        let len = match value {
            Value::String(s) => s.chars().count(),
            Value::Number(n) => n.to_string().len(),
            Value::Bool(_) | Value::Null => 0,
            Value::Array(_) | Value::Object(_) => {
                return Err(invalid(format!(
                    "variable {name:?} must be a string, number, boolean or null"
                )))
            }
        };
        if len > MAX_CONTEXT_VALUE_LEN {
            return Err(invalid(format!(
                "variable {name:?} must be at most {MAX_CONTEXT_VALUE_LEN} characters"
            )));
        }
    }
    serde_json::to_string(ctx).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            normalize_email("  Alex.Doe@Example.COM ").as_deref(),
            Some("alex.doe@example.com")
        );
        assert_eq!(normalize_email("no-at-sign"), None);
        assert_eq!(normalize_email("a b@example.com"), None);
        assert_eq!(normalize_email("@example.com"), None);
        assert_eq!(normalize_email("a@"), None);
        assert_eq!(normalize_email(&format!("{}@x.io", "a".repeat(260))), None);
    }

    #[test]
    fn context_must_hold_primitives() {
        let mut ctx = Map::new();
        ctx.insert("tier".into(), Value::String("gold".into()));
        ctx.insert("n".into(), Value::from(3));
        assert!(validate_context(&ctx).is_ok());
        ctx.insert("nested".into(), serde_json::json!({"a": 1}));
        assert!(validate_context(&ctx).is_err());
        let mut long = Map::new();
        long.insert("v".into(), Value::String("x".repeat(4001)));
        assert!(validate_context(&long).is_err());
    }
}
