//! Chat authentication settings and widgets, validated on save.
//!
//! Requests are checked field by field in request order (the order the API documents), and the
//! first invalid field is named. A setting's key URL is fetched at save time and must give at
//! least one RSA key of ≥2048 bits; the fetcher's message says what is wrong in plain words.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::Chat;
use crate::error::ChatError;
use crate::storage::{now_millis, AuthSettings, Widget};

/// Longest setting/widget name and widget title.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest JS function name path.
pub const MAX_FUNCTION_NAME: usize = 100;
/// Most allowed origins per widget.
pub const MAX_ORIGINS: usize = 50;
/// Largest leeway a setting may allow, in seconds.
pub const MAX_LEEWAY_SECS: u64 = 600;

/// A chat authentication setting to create (or the new values of one to update): the body of
/// `POST /api/v1/admin/auth-settings` and `PUT …/{id}`. The key URL is fetched on save and must
/// give at least one RSA key of ≥2048 bits.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NewAuthSettings {
    #[schema(max_length = 200)]
    pub name: String,
    pub public_key_url: String,
    /// A dotted JS identifier path, ≤100 characters.
    #[schema(max_length = 100)]
    pub function_name: String,
    pub issuer: Option<String>,
    /// Clock leeway for `exp`/`nbf`/`iat` in seconds; default 60.
    #[schema(minimum = 0, maximum = 600)]
    pub leeway_secs: Option<u64>,
}

/// A widget to create (or the new values of one to update): the body of
/// `POST /api/v1/admin/widgets` and `PUT …/{app_id}`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NewWidget {
    #[schema(max_length = 200)]
    pub name: String,
    /// Origins (`scheme://host[:port]`) the widget may be used from; at most 50.
    #[schema(max_items = 50)]
    pub allowed_origins: Vec<String>,
    pub auth_settings_id: Option<Uuid>,
    pub require_auth: bool,
    /// Shown in the widget's header; default: the name.
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// `{"timezone": IANA, "days": {"mon": [["09:00","17:00"]], …}}`; null: always open. On
    /// update, absent keeps the widget's hours.
    #[schema(value_type = Option<Object>)]
    pub business_hours: Option<serde_json::Value>,
    /// What the widget says while offline (≤1000 characters); absent on update keeps it.
    #[schema(max_length = 1000)]
    pub offline_message: Option<String>,
}

fn invalid(field: &str, message: impl Into<String>) -> ChatError {
    ChatError::validation(field, message)
}

fn to_map<T: serde::Serialize>(v: &T) -> Result<Map<String, Value>, ChatError> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(ChatError::Internal(
            "request did not serialize to an object".into(),
        )),
    }
}

fn required_string<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, ChatError> {
    match body.get(field) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(invalid(field, format!("{field} is required"))),
        Some(_) => Err(invalid(field, format!("{field} must be a string"))),
    }
}

fn optional_string<'a>(
    body: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, ChatError> {
    match body.get(field) {
        Some(Value::String(s)) => Ok(Some(s)),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(invalid(field, format!("{field} must be a string"))),
    }
}

fn check_name(body: &Map<String, Value>, field: &str) -> Result<String, ChatError> {
    let name = required_string(body, field)?.trim();
    if name.is_empty() {
        return Err(invalid(field, format!("{field} must not be empty")));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!(
                "{field} must be at most {MAX_NAME_CHARS} characters, without control characters"
            ),
        ));
    }
    Ok(name.to_string())
}

/// Whether `s` is a dotted JavaScript identifier path such as `auth.getAuthenticationToken`.
pub fn is_function_path(s: &str) -> bool {
    s.len() <= MAX_FUNCTION_NAME
        && s.split('.').all(|seg| {
            let mut chars = seg.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        })
}

/// `scheme://host[:port]` of an allowed origin, or why it is not one.
pub fn normalize_origin(s: &str) -> Result<String, String> {
    let bad = || format!("{s:?} is not an origin: write scheme://host[:port], with no path");
    let url = url::Url::parse(s.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(bad());
    }
    Ok(url.origin().ascii_serialization())
}

/// The `<script>` tag a website pastes to embed a widget (the blog's snippet shape).
pub fn snippet(public_origin: &str, app_id: Uuid) -> String {
    let base = html_attr(public_origin.trim_end_matches('/'));
    format!(
        "<script id=\"Microsoft_Omnichannel_LCWidget\" src=\"{base}/livechatwidget/scripts/LiveChatBootstrapper.js\" data-app-id=\"{app_id}\" data-lcw-version=\"prod\" data-org-id=\"{app_id}\" data-org-url=\"{base}\"></script>"
    )
}

fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Chat {
    /// Checks a settings request in request order, fetching the key URL (only when the fields
    /// before it are valid). Returns the setting to store.
    async fn validate_auth_settings(
        &self,
        id: Uuid,
        created_at: i64,
        body: &Map<String, Value>,
    ) -> Result<AuthSettings, ChatError> {
        let name = check_name(body, "name")?;
        let url = required_string(body, "public_key_url")?.trim().to_string();
        if url.is_empty() {
            return Err(invalid(
                "public_key_url",
                "public_key_url must not be empty",
            ));
        }
        if url.len() > 2048 {
            return Err(invalid(
                "public_key_url",
                "public_key_url must be at most 2048 characters",
            ));
        }
        let keys = self
            .keys
            .load(&url)
            .await
            .map_err(|e| invalid("public_key_url", e.to_string()))?;
        let function_name = required_string(body, "function_name")?.trim().to_string();
        if !is_function_path(&function_name) {
            return Err(invalid(
                "function_name",
                "function name must look like auth.getAuthenticationToken (a dotted JavaScript name, at most 100 characters)",
            ));
        }
        let issuer = optional_string(body, "issuer")?
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        if issuer.as_ref().is_some_and(|i| i.chars().count() > 512) {
            return Err(invalid("issuer", "issuer must be at most 512 characters"));
        }
        let leeway_secs = match body.get("leeway_secs") {
            None | Some(Value::Null) => vouch_jwt::DEFAULT_LEEWAY_SECS,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if v <= MAX_LEEWAY_SECS => v,
                _ => {
                    return Err(invalid(
                        "leeway_secs",
                        format!(
                        "leeway_secs must be a whole number of seconds from 0 to {MAX_LEEWAY_SECS}"
                    ),
                    ))
                }
            },
            Some(_) => return Err(invalid("leeway_secs", "leeway_secs must be a number")),
        };
        Ok(AuthSettings {
            id,
            name,
            public_key_url: url,
            function_name,
            issuer,
            leeway_secs,
            key_count: keys.len() as u32,
            created_at,
        })
    }

    /// Creates a setting from a JSON request body (admin API).
    pub async fn create_auth_settings_from(
        &self,
        body: &Map<String, Value>,
    ) -> Result<AuthSettings, ChatError> {
        let s = self
            .validate_auth_settings(Uuid::new_v4(), now_millis(), body)
            .await?;
        self.store.insert_auth_settings(&s).await?;
        tracing::info!(id = %s.id, keys = s.key_count, "chat authentication setting created");
        Ok(s)
    }

    /// Replaces a setting's values from a JSON request body; the key URL is fetched again.
    pub async fn update_auth_settings_from(
        &self,
        id: Uuid,
        body: &Map<String, Value>,
    ) -> Result<AuthSettings, ChatError> {
        let old = self
            .store
            .get_auth_settings(id)
            .await?
            .ok_or(ChatError::NotFound("chat authentication setting"))?;
        let s = self
            .validate_auth_settings(id, old.created_at, body)
            .await?;
        self.store.update_auth_settings(&s).await?;
        Ok(s)
    }

    pub async fn create_auth_settings(
        &self,
        s: NewAuthSettings,
    ) -> Result<AuthSettings, ChatError> {
        self.create_auth_settings_from(&to_map(&s)?).await
    }

    pub async fn list_auth_settings(&self) -> Result<Vec<AuthSettings>, ChatError> {
        Ok(self.store.list_auth_settings().await?)
    }

    async fn validate_widget(
        &self,
        app_id: Uuid,
        created_at: i64,
        body: &Map<String, Value>,
    ) -> Result<Widget, ChatError> {
        let name = check_name(body, "name")?;
        let origins =
            match body.get("allowed_origins") {
                Some(Value::Array(a)) => a,
                None | Some(Value::Null) => return Err(invalid(
                    "allowed_origins",
                    "allowed_origins is required: the origins of the pages that embed the widget",
                )),
                Some(_) => {
                    return Err(invalid(
                        "allowed_origins",
                        "allowed_origins must be a list of origins",
                    ))
                }
            };
        if origins.is_empty() || origins.len() > MAX_ORIGINS {
            return Err(invalid(
                "allowed_origins",
                format!("allowed_origins must list 1 to {MAX_ORIGINS} origins"),
            ));
        }
        let mut allowed_origins = Vec::with_capacity(origins.len());
        for o in origins {
            let Value::String(s) = o else {
                return Err(invalid(
                    "allowed_origins",
                    "each allowed origin must be a string",
                ));
            };
            let norm = normalize_origin(s).map_err(|m| invalid("allowed_origins", m))?;
            if !allowed_origins.contains(&norm) {
                allowed_origins.push(norm);
            }
        }
        let auth_settings_id = match optional_string(body, "auth_settings_id")? {
            None => None,
            Some(s) => {
                let id = Uuid::parse_str(s.trim()).map_err(|_| {
                    invalid(
                        "auth_settings_id",
                        "auth_settings_id must be the id of a chat authentication setting",
                    )
                })?;
                if self.store.get_auth_settings(id).await?.is_none() {
                    return Err(invalid(
                        "auth_settings_id",
                        "no chat authentication setting has this id",
                    ));
                }
                Some(id)
            }
        };
        let require_auth = match body.get("require_auth") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(invalid(
                    "require_auth",
                    "require_auth must be true or false",
                ))
            }
        };
        if require_auth && auth_settings_id.is_none() {
            return Err(invalid(
                "require_auth",
                "require_auth needs an auth_settings_id: choose the chat authentication setting that verifies customers",
            ));
        }
        let title = match optional_string(body, "title")?.map(str::trim) {
            None | Some("") => name.clone(),
            Some(t) if t.chars().count() > MAX_NAME_CHARS || t.chars().any(char::is_control) => {
                return Err(invalid(
                    "title",
                    format!("title must be at most {MAX_NAME_CHARS} characters"),
                ))
            }
            Some(t) => t.to_string(),
        };
        Ok(Widget {
            app_id,
            name,
            allowed_origins,
            auth_settings_id,
            require_auth,
            title,
            created_at,
            business_hours: None,
            offline_message: String::new(),
        })
    }

    pub async fn create_widget_from(&self, body: &Map<String, Value>) -> Result<Widget, ChatError> {
        let mut w = self
            .validate_widget(Uuid::new_v4(), now_millis(), body)
            .await?;
        super::offline::apply_offline_fields(&mut w, body, None)?;
        self.store.insert_widget(&w).await?;
        tracing::info!(app_id = %w.app_id, "widget created");
        Ok(w)
    }

    pub async fn update_widget_from(
        &self,
        app_id: Uuid,
        body: &Map<String, Value>,
    ) -> Result<Widget, ChatError> {
        let old = self
            .store
            .get_widget(app_id)
            .await?
            .ok_or(ChatError::NotFound("widget"))?;
        let mut w = self.validate_widget(app_id, old.created_at, body).await?;
        super::offline::apply_offline_fields(&mut w, body, Some(&old))?;
        self.store.update_widget(&w).await?;
        Ok(w)
    }

    pub async fn create_widget(&self, w: NewWidget) -> Result<Widget, ChatError> {
        self.create_widget_from(&to_map(&w)?).await
    }

    pub async fn list_widgets(&self) -> Result<Vec<Widget>, ChatError> {
        Ok(self.store.list_widgets().await?)
    }

    /// The embed snippet of a widget.
    pub fn snippet(&self, app_id: Uuid) -> String {
        snippet(&self.public_origin(), app_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_paths() {
        for ok in [
            "auth.getAuthenticationToken",
            "getToken",
            "$a._b.c1",
            "a.b.c.d",
        ] {
            assert!(is_function_path(ok), "{ok}");
        }
        for bad in [
            "",
            "auth.",
            ".x",
            "1a",
            "a b",
            "auth.get()",
            "a;alert(1)",
            "a-b",
            "ä",
        ] {
            assert!(!is_function_path(bad), "{bad}");
        }
        assert!(!is_function_path(&format!("a{}", "b".repeat(100))));
    }

    #[test]
    fn origins() {
        assert_eq!(
            normalize_origin("https://Shop.Example.com").unwrap(),
            "https://shop.example.com"
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:3000/").unwrap(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            normalize_origin("https://a.com:443").unwrap(),
            "https://a.com"
        );
        for bad in [
            "https://a.com/path",
            "ftp://a.com",
            "a.com",
            "https://u:p@a.com",
            "https://a.com?q",
            "*",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn snippet_is_the_blog_shape() {
        let id = Uuid::nil();
        let s = snippet("http://127.0.0.1:3001", id);
        assert!(s.starts_with("<script id=\"Microsoft_Omnichannel_LCWidget\" src=\"http://127.0.0.1:3001/livechatwidget/scripts/LiveChatBootstrapper.js\""));
        assert!(s.contains(&format!("data-app-id=\"{id}\"")));
        assert!(s.contains("data-org-url=\"http://127.0.0.1:3001\""));
    }
}
