//! HTTP clients on loopback and the chat service's REST calls the tests and the bench make.
//! Every call answers `(status, JSON body)`; a body that is not JSON reads as `null`.

use std::net::{IpAddr, Ipv4Addr};

use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{json, Value};

use crate::WAIT;

/// 127.0.0.`n`: a loopback address other than 127.0.0.1, to act as another client.
pub fn loopback(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}

/// A client that ignores proxy settings and gives up after [`WAIT`].
pub fn http_client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(WAIT)
        .build()
        .expect("client")
}

/// [`http_client`] speaking from `from` (a 127.x.y.z address).
pub fn client_from(from: IpAddr) -> Client {
    Client::builder()
        .no_proxy()
        .local_address(from)
        .timeout(WAIT)
        .build()
        .expect("client")
}

/// Sends `req`; the status and the JSON body.
async fn answer(req: RequestBuilder, what: &str) -> (StatusCode, Value) {
    let r = req.send().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// `GET url` with `Authorization: Bearer token`.
pub async fn get_as(http: &Client, url: &str, token: &str) -> (StatusCode, Value) {
    answer(http.get(url).bearer_auth(token), "get").await
}

/// `POST url` with `Authorization: Bearer token` and a JSON body.
pub async fn post_as(http: &Client, url: &str, token: &str, body: Value) -> (StatusCode, Value) {
    answer(http.post(url).bearer_auth(token).json(&body), "post").await
}

/// `POST {base}/api/v1/agent/login`. A `Retry-After` header is added to an object body as
/// `retry_after_header`.
pub async fn sign_in(
    http: &Client,
    base: &str,
    email: &str,
    password: &str,
) -> (StatusCode, Value) {
    let r = http
        .post(format!("{base}/api/v1/agent/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login request");
    let s = r.status();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut v: Value = r.json().await.unwrap_or(Value::Null);
    if let (Some(retry), Some(obj)) = (retry, v.as_object_mut()) {
        obj.insert("retry_after_header".into(), json!(retry));
    }
    (s, v)
}

/// The bearer token of a sign-in that must succeed.
pub async fn login(http: &Client, base: &str, email: &str, password: &str) -> String {
    let (s, v) = sign_in(http, base, email, password).await;
    assert_eq!(s, StatusCode::OK, "login of {email}: {v}");
    v["token"].as_str().expect("token").to_string()
}

/// `POST {base}/api/v1/widgets/{app_id}/sessions` with an optional `Origin`, customer token
/// and JSON body; None when the request failed in transport (the server closed the connection).
pub async fn create_session(
    http: &Client,
    base: &str,
    app_id: &str,
    origin: Option<&str>,
    token: Option<&str>,
    body: Option<Value>,
) -> Option<(StatusCode, Value)> {
    let mut req = http.post(format!("{base}/api/v1/widgets/{app_id}/sessions"));
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    if let Some(t) = token {
        req = req.header("AuthenticatedUserToken", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.ok()?;
    let s = r.status();
    Some((s, r.json().await.unwrap_or(Value::Null)))
}

/// (session token, conversation id) of a `201` session answer.
pub fn session_ids(v: &Value) -> (String, String) {
    (
        v["session_token"]
            .as_str()
            .expect("session_token")
            .to_string(),
        v["conversation_id"]
            .as_str()
            .expect("conversation_id")
            .to_string(),
    )
}

/// One message of a conversation as the agent API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub seq: i64,
    pub sender: String,
    pub client_msg_id: String,
    pub text: String,
}

/// The messages of a conversation body (`GET /api/v1/agent/conversations/{id}`).
pub fn listed_messages(conversation: &Value) -> Vec<Listed> {
    let field = |m: &Value, name: &str| m[name].as_str().unwrap_or_default().to_string();
    conversation["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| Listed {
            seq: m["seq"].as_i64().expect("seq"),
            sender: field(m, "sender"),
            client_msg_id: field(m, "client_msg_id"),
            text: field(m, "text"),
        })
        .collect()
}
