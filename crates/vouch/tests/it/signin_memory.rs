//! Sign-in memory (issue 17): argon2id fills 19 MiB per hash, and both services take that
//! memory from a fixed pool of blocks allocated at start-up, so 100 concurrent sign-ins leave
//! each real `vouch` process's resident memory (`VmRSS`) at most 64 MB above what it was after
//! start-up and one sign-in. The per-address sign-in throttles are raised with the services'
//! flags so that none of the 100 is refused; the hashing caps stay at their defaults.

use std::path::Path;
use std::process::Stdio;

use futures_util::future::join_all;
use reqwest::StatusCode;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use vouch_testkit::http::{http_client, login};
use vouch_testkit::process::drain;
use vouch_testkit::WAIT;

use crate::chat_process::{add_admin, run_with_password, vouch, ChatProcess};

/// Concurrent sign-ins of the burst.
const BURST: usize = 100;
/// The most `VmRSS` may grow over the burst, in kB.
const MAX_GROWTH_KB: u64 = 64 * 1024;

/// The per-account limits both services share, raised so that one address may sign in to one
/// account `BURST` times at once (the per-pair limit stays below the per-account one).
const ACCOUNT_FLAGS: [&str; 8] = [
    "--login-account-address-burst",
    "500",
    "--login-account-address-per-minute",
    "500",
    "--login-account-burst",
    "1000",
    "--login-account-per-minute",
    "1000",
];

/// `ACCOUNT_FLAGS` and the service's per-address limit (`burst`, `rate` name its flags), raised.
fn login_flags(burst: &'static str, rate: &'static str) -> Vec<&'static str> {
    [burst, "1000", rate, "1000"]
        .into_iter()
        .chain(ACCOUNT_FLAGS)
        .collect()
}

/// `VmRSS` of process `pid`, in kB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

fn assert_bounded(service: &str, first_kb: u64, after_kb: u64) {
    eprintln!(
        "{service}: VmRSS {} MB after one sign-in, {} MB after {BURST} concurrent",
        first_kb / 1024,
        after_kb / 1024
    );
    assert!(
        after_kb <= first_kb + MAX_GROWTH_KB,
        "{service}: VmRSS grew from {first_kb} kB to {after_kb} kB over {BURST} concurrent \
         sign-ins (at most +{MAX_GROWTH_KB} kB)"
    );
}

#[tokio::test]
async fn chat_sign_in_burst_keeps_memory_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_admin(dir.path()).await;
    let chat = ChatProcess::start(
        dir.path(),
        &login_flags("--login-burst", "--login-rate-per-minute"),
    )
    .await;
    chat.login().await;
    let first = rss_kb(chat.pid);

    let (http, base) = (http_client(), chat.base());
    let burst = (0..BURST).map(|_| login(&http, &base, "admin@example.com", "secret"));
    assert_eq!(join_all(burst).await.len(), BURST);

    assert_bounded("vouch chat", first, rss_kb(chat.pid));
}

/// A running `vouch portal`.
struct PortalProcess {
    _child: Child,
    pid: u32,
    base: String,
}

/// `vouch portal users add`: `customer@example.com` / `secret` in `dir`.
async fn add_customer(dir: &Path) {
    let mut cmd = vouch();
    cmd.args(["portal", "users", "add", "--data-dir"])
        .arg(dir)
        .args(["--email", "customer@example.com", "--given-name", "Casey"])
        .args(["--family-name", "Customer", "--password-stdin"]);
    run_with_password(cmd, "users add").await;
}

/// `vouch portal --addr 127.0.0.1:0 --data-dir DIR EXTRA…`, once it prints `portal: URL`.
async fn start_portal(dir: &Path, extra: &[&str]) -> PortalProcess {
    let mut child = vouch()
        .args(["portal", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn vouch portal");
    let pid = child.id().expect("pid");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(url) = line.trim().strip_prefix("portal: ") {
                return url.trim().to_string();
            }
        }
        panic!("vouch portal exited before listening")
    })
    .await
    .expect("vouch portal prints its address in time");
    assert!(
        base.starts_with("http://127.0.0.1:"),
        "loopback only: {base}"
    );
    drain(lines);
    PortalProcess {
        _child: child,
        pid,
        base,
    }
}

/// A browser on the sign-in page: its client (with the page's cookies) and the form's token.
async fn open_sign_in_form(base: &str) -> (reqwest::Client, String) {
    let http = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(WAIT)
        .build()
        .expect("client");
    let page = http
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("sign-in page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker).expect("a csrf_token field") + marker.len();
    let end = start + html[start..].find('"').expect("end of the token");
    (http, html[start..end].to_string())
}

/// Submits the sign-in form; the status (303 when signed in).
async fn submit_sign_in(base: &str, http: &reqwest::Client, csrf: &str) -> StatusCode {
    http.post(format!("{base}/login"))
        .header("Origin", base)
        .form(&[
            ("email", "customer@example.com"),
            ("password", "secret"),
            ("csrf_token", csrf),
        ])
        .send()
        .await
        .expect("sign in")
        .status()
}

#[tokio::test]
async fn portal_sign_in_burst_keeps_memory_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    add_customer(dir.path()).await;
    let portal = start_portal(
        dir.path(),
        &login_flags("--login-address-burst", "--login-address-per-minute"),
    )
    .await;
    let base = portal.base.as_str();
    let (http, csrf) = open_sign_in_form(base).await;
    assert_eq!(
        submit_sign_in(base, &http, &csrf).await,
        StatusCode::SEE_OTHER
    );
    let first = rss_kb(portal.pid);

    let browsers = join_all((0..BURST).map(|_| open_sign_in_form(base))).await;
    let burst = browsers
        .iter()
        .map(|(http, csrf)| submit_sign_in(base, http, csrf));
    for status in join_all(burst).await {
        assert_eq!(status, StatusCode::SEE_OTHER);
    }

    assert_bounded("vouch portal", first, rss_kb(portal.pid));
}
