//! The real binary's JSON logs (`vouch --log-json demo`) at trace level (the most an operator
//! can ask for) while a customer signs in at the portal, gets a token, opens a chat session and
//! its socket, re-authenticates on the socket, and an agent signs in (Bearer and cookie) and
//! opens the agent socket: every line is JSON, requests carry their request id, and no token,
//! session token, CSRF token or cookie value appears.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vouch_testkit::ws::send_frame;
use vouch_testkit::{Ws, WAIT};

struct Demo {
    child: Child,
    portal: String,
    chat: String,
    widget: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_demo(dir: &std::path::Path, log: &std::path::Path) -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["--log-json", "demo", "--data-dir"])
        .arg(dir)
        .args(["--portal-addr", "127.0.0.1:0", "--chat-addr", "127.0.0.1:0"])
        .env("VOUCH_LOG", "trace")
        .env_remove("VOUCH_LOG_JSON")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("start vouch demo");
    let stdout = child.stdout.take().expect("stdout");
    let (mut portal, mut chat, mut widget) = (None, None, None);
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("read stdout");
        if let Some(v) = line.strip_prefix("portal: ") {
            portal = Some(v.to_string());
        } else if let Some(v) = line.strip_prefix("chat: ") {
            chat = Some(v.to_string());
        } else if let Some(v) = line.strip_prefix("widget: ") {
            widget = Some(v.to_string());
        } else if line.starts_with("vouch demo is running") {
            break;
        }
    }
    // Keep reading: the demo prints more, and a closed pipe would end it.
    std::thread::spawn(move || lines.for_each(drop));
    Demo {
        child,
        portal: portal.expect("portal URL"),
        chat: chat.expect("chat URL"),
        widget: widget.expect("widget id"),
    }
}

/// The `name=value` values of a response's Set-Cookie headers (non-empty ones).
fn cookie_values(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

#[tokio::test]
async fn json_logs_carry_request_ids_and_never_a_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("stderr.log");
    let demo = start_demo(&dir.path().join("data"), &log);
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut secrets: Vec<String> = Vec::new();

    // The customer signs in at the portal and fetches a token.
    let page = http
        .get(format!("{}/login", demo.portal))
        .send()
        .await
        .expect("login page");
    let mut jar = cookie_values(&page);
    let set_cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next().map(str::to_string))
        .collect();
    let html = page.text().await.expect("html");
    let csrf = html
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf token")
        .to_string();
    secrets.push(csrf.clone());
    let res = http
        .post(format!("{}/login", demo.portal))
        .header("Origin", &demo.portal)
        .header("Cookie", set_cookies.join("; "))
        .form(&[
            ("email", "customer@example.com"),
            ("password", "customer"),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    let session_cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next().map(str::to_string))
        .collect();
    jar.extend(cookie_values(&res));
    let res = http
        .get(format!("{}/token", demo.portal))
        .header("Cookie", session_cookies.join("; "))
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let jwt = res.text().await.expect("jwt");
    secrets.push(jwt.clone());
    secrets.push(jwt.rsplit('.').next().expect("signature").to_string());
    secrets.extend(jar);

    // The widget opens a verified session and its socket, sends, and re-authenticates.
    let res = http
        .post(format!(
            "{}/api/v1/widgets/{}/sessions",
            demo.chat, demo.widget
        ))
        .header("Origin", &demo.portal)
        .header("AuthenticatedUserToken", &jwt)
        .header("x-request-id", "logs-test-session")
        .json(&json!({}))
        .send()
        .await
        .expect("session");
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    let s: Value = res.json().await.expect("json");
    let session_token = s["session_token"]
        .as_str()
        .expect("session token")
        .to_string();
    secrets.push(session_token.clone());
    // A refused token is logged by reason, never by value.
    let forged = format!(
        "{}.{}",
        jwt.rsplit_once('.').expect("jwt").0,
        "AAAA".repeat(86)
    );
    secrets.push(forged.clone());
    let res = http
        .post(format!(
            "{}/api/v1/widgets/{}/sessions",
            demo.chat, demo.widget
        ))
        .header("Origin", &demo.portal)
        .header("AuthenticatedUserToken", &forged)
        .send()
        .await
        .expect("forged session");
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);

    let ws_base = demo.chat.replacen("http://", "ws://", 1);
    let mut customer = Ws::customer(&ws_base, &session_token, Some(&demo.portal))
        .await
        .expect("customer socket");
    customer.send(send_frame("m1", "hello")).await;
    customer.next_type("ack").await;
    customer.send(json!({"type": "auth", "token": jwt})).await;
    customer.next_type("reauthenticated").await;

    // The agent signs in (Bearer token and cookie) and opens the agent socket.
    let res = http
        .post(format!("{}/api/v1/agent/login", demo.chat))
        .json(&json!({"email": "agent@example.com", "password": "agent"}))
        .send()
        .await
        .expect("agent login");
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    secrets.extend(cookie_values(&res));
    let v: Value = res.json().await.expect("json");
    let agent_token = v["token"].as_str().expect("token").to_string();
    secrets.push(agent_token.clone());
    let res = http
        .get(format!("{}/api/v1/agent/me", demo.chat))
        .header("Cookie", format!("vouch_agent={agent_token}"))
        .send()
        .await
        .expect("me");
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let mut agent = Ws::agent(&ws_base, &agent_token)
        .await
        .expect("agent socket");
    agent.next_type("conversation").await;
    drop(customer);
    drop(agent);

    // Let the last lines reach the file, then stop the process.
    let text = {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = std::fs::read_to_string(&log).expect("log");
            if text.contains("logs-test-session") && text.contains("customer token refused") {
                break text;
            }
            assert!(Instant::now() < deadline, "expected lines missing:\n{text}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    drop(demo);
    let text = text + &std::fs::read_to_string(&log).expect("log");

    let secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 16).collect();
    assert!(secrets.len() >= 8, "{secrets:?}");
    let mut with_request_id = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        if v["span"]["request_id"].is_string() {
            with_request_id += 1;
        }
        for s in &secrets {
            assert!(!line.contains(s.as_str()), "a secret in the log: {line}");
        }
    }
    assert!(with_request_id > 0, "no line carries a request id:\n{text}");
    // The session's lines carry the caller's request id.
    assert!(
        text.lines().any(|l| l.contains("customer session created")
            && l.contains("\"request_id\":\"logs-test-session\"")),
        "{text}"
    );
}
