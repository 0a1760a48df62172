//! Smoke tests of the load harness, so it cannot rot: `vouch bench chat` and `vouch bench
//! sessions` run at tiny sizes against a real `vouch chat` child on loopback and print one JSON
//! line with every field; `vouch bench chat --nodes 2` runs two nodes on PostgreSQL and NATS
//! (`VOUCH_TEST_DATABASE_URL`, `VOUCH_TEST_NATS_URL`); `vouch bench token` runs against an
//! in-process portal and, when node and its packages are installed, the blog's Node.js app.
//! Counts are checked; timings never are (speed is measured, not asserted).

use std::process::Command;

use serde_json::Value;
use sqlx::Connection;

/// Runs `vouch bench ARGS…` and returns its JSON line.
fn bench(args: &[&str]) -> Value {
    bench_with_stderr(args).0
}

/// Runs `vouch bench ARGS…` and returns its JSON line and what it wrote on stderr.
fn bench_with_stderr(args: &[&str]) -> (Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .arg("bench")
        .args(args)
        .env_remove("VOUCH_LOG")
        .output()
        .expect("run vouch bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "vouch bench {args:?} failed: {}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "exactly one JSON line on stdout, got: {stdout}"
    );
    let v = serde_json::from_str(lines[0]).expect("the line is JSON");
    (v, stderr.into_owned())
}

fn count(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is not a count in {v}"))
}

fn number(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} is not a number in {v}"))
}

#[test]
fn bench_chat_relays_real_messages_and_reports_every_figure() {
    let v = bench(&[
        "chat",
        "--pairs",
        "3",
        "--rate",
        "2",
        "--duration",
        "2",
        "--idle",
        "20",
    ]);
    assert_eq!(v["bench"], "chat");
    assert_eq!(v["direction"], "customer_to_agent");
    assert_eq!(count(&v, "pairs"), 3);
    assert_eq!(count(&v, "nodes"), 1);
    assert_eq!(v["backend"], "sqlite");
    assert!(v["one_node_baseline"].is_null(), "{v}");
    let sent = count(&v, "sent");
    assert!(sent > 0, "{v}");
    assert!(count(&v, "acked") > 0, "{v}");
    assert!(count(&v, "relayed") > 0, "{v}");
    assert!(
        count(&v, "relayed") <= sent,
        "never more deliveries than sends: {v}"
    );
    assert_eq!(count(&v, "error_frames"), 0, "{v}");
    assert!(count(&v, "round_trip_samples") > 0, "{v}");
    for p in ["p50", "p90", "p99", "p99_9", "max"] {
        number(&v, &format!("/round_trip_ms/{p}"));
        number(&v, &format!("/ack_ms/{p}"));
    }
    number(&v, "/relayed_msgs_per_s");
    number(&v, "/server_cpu_us_per_msg");
    number(&v, "/rss_per_idle_conn_kib");
    assert_eq!(count(&v["idle"], "sockets"), 20);
    assert!(count(&v, "server_rss_kib") > 0, "{v}");
    number(&v, "/rss_per_pair_kib");
    assert!(
        v["node_relay"].is_null(),
        "no --baseline, no Node figures: {v}"
    );
    assert!(v["node_relay_skipped"].is_string(), "{v}");
    number(&v, "/targets/p99_ms");
    number(&v, "/targets/cpu_vs_node");
    number(&v, "/targets/idle_conn_kb");
}

/// `--echo --baseline`: agents answer every message, and the same load then runs through the
/// Node.js relay of bench/node-relay in the same run (when node and its `ws` are installed;
/// otherwise the report says why it was skipped).
#[test]
fn bench_chat_echo_runs_vouch_and_the_node_relay_in_the_same_run() {
    let v = bench(&[
        "chat",
        "--pairs",
        "4",
        "--agents",
        "2",
        "--rate",
        "2",
        "--duration",
        "2",
        "--idle",
        "0",
        "--echo",
        "--baseline",
    ]);
    assert_eq!(v["direction"], "customer_to_agent_and_back");
    let sent = count(&v, "sent");
    assert!(sent > 0, "{v}");
    assert_eq!(count(&v, "error_frames"), 0, "{v}");
    assert_eq!(count(&v, "acked"), sent, "every send acknowledged: {v}");
    assert_eq!(count(&v, "relayed_to_agents"), sent, "{v}");
    assert_eq!(
        count(&v, "relayed_to_customers"),
        sent,
        "every answer came back: {v}"
    );
    assert_eq!(count(&v, "relayed"), 2 * sent, "{v}");
    number(&v, "/round_trip_ms/p99");
    number(&v, "/one_way_ms/p99");
    number(&v, "/server_cpu_us_per_msg");
    let installed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../bench/node-relay/node_modules/ws/package.json")
        .is_file();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !(installed && node) {
        assert!(v["node_relay_skipped"].is_string(), "{v}");
        eprintln!("node or bench/node-relay's packages missing: the relay half was skipped");
        return;
    }
    let n = &v["node_relay"];
    let node_sent = count(n, "sent");
    assert!(node_sent > 0, "{v}");
    assert_eq!(count(n, "relayed_to_agents"), node_sent, "{v}");
    assert_eq!(count(n, "relayed_to_customers"), node_sent, "{v}");
    assert_eq!(count(n, "acked"), 0, "the relay does not acknowledge: {v}");
    number(n, "/round_trip_ms/p99");
    number(n, "/server_cpu_us_per_msg");
    number(&v, "/vs_node/cpu");
    number(&v, "/vs_node/p99");
}

#[test]
fn bench_sessions_creates_real_sessions_beside_raw_verification() {
    let v = bench(&["sessions", "--duration", "1", "--tokens", "300"]);
    assert_eq!(v["bench"], "sessions");
    assert!(count(&v, "created") > 0, "{v}");
    assert_eq!(count(&v, "errors"), 0, "{v}");
    assert!(number(&v, "/sessions_per_s") > 0.0, "{v}");
    assert!(number(&v, "/raw_verify_per_s") > 0.0, "{v}");
    number(&v, "/ratio");
    number(&v, "/server_cpu_us_per_session");
    number(&v, "/target_per_s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_chat_on_two_nodes_relays_every_message_across_them() {
    let (Ok(db), Ok(nats)) = (
        std::env::var("VOUCH_TEST_DATABASE_URL"),
        std::env::var("VOUCH_TEST_NATS_URL"),
    ) else {
        assert!(
            std::env::var_os("VOUCH_TEST_REQUIRE_SERVICES").is_none(),
            "VOUCH_TEST_DATABASE_URL or VOUCH_TEST_NATS_URL is not set: two-node bench test skipped, but VOUCH_TEST_REQUIRE_SERVICES says it must run"
        );
        eprintln!("VOUCH_TEST_DATABASE_URL or VOUCH_TEST_NATS_URL is not set: two-node bench test skipped");
        return;
    };
    let args: Vec<String> = [
        "chat",
        "--nodes",
        "2",
        "--database-url",
        &db,
        "--nats-url",
        &nats,
        "--pairs",
        "2",
        "--rate",
        "2",
        "--duration",
        "1",
        "--idle",
        "0",
    ]
    .map(str::to_string)
    .to_vec();
    let (v, stderr) = tokio::task::spawn_blocking(move || {
        bench_with_stderr(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .expect("bench ran");
    assert_eq!(count(&v, "nodes"), 2, "{v}");
    assert_eq!(v["backend"], "postgres", "{v}");
    // Two pairs on two nodes: one agent per node, each pair's customer on the other node.
    assert_eq!(count(&v, "agents"), 2, "{v}");
    let sent = count(&v, "sent");
    assert!(sent > 0, "{v}");
    assert_eq!(count(&v, "acked"), sent, "every message stored: {v}");
    assert_eq!(
        count(&v, "relayed"),
        sent,
        "every message relayed across nodes: {v}"
    );
    assert_eq!(count(&v, "error_frames"), 0, "{v}");
    number(&v, "/server_cpu_us_per_msg");
    assert_eq!(
        v["server_rss_kib_per_node"].as_array().map(Vec::len),
        Some(2),
        "{v}"
    );
    // The same run's baseline: one PostgreSQL node without NATS, every message relayed too.
    let one = &v["one_node_baseline"];
    assert_eq!(count(one, "nodes"), 1, "{v}");
    assert_eq!(one["backend"], "postgres", "{v}");
    assert_eq!(count(one, "relayed"), count(one, "sent"), "{v}");
    number(&v, "/cross_node_added_ms/p50");
    number(&v, "/cross_node_added_ms/p99");

    // The bench made its own databases (the baseline's and the two nodes') and dropped them.
    let made: Vec<&str> = stderr
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("vouch_scratch_"))
        .collect();
    assert_eq!(made.len(), 2, "two databases announced: {stderr}");
    let mut admin = sqlx::PgConnection::connect(&db).await.expect("connect");
    for name in made {
        let (left,): (i64,) = sqlx::query_as("SELECT count(*) FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_one(&mut admin)
            .await
            .expect("query");
        assert_eq!(left, 0, "{name} was dropped");
    }
}

#[test]
fn bench_token_serves_real_tokens_to_signed_in_clients() {
    let (v, stderr) = bench_with_stderr(&["token", "--seconds", "1", "--clients", "2"]);
    assert_eq!(v["bench"], "token");
    assert_eq!(count(&v, "clients"), 2);
    // Every answer is checked by the bench's client (200, application/jwt, no-store, a JWT).
    assert_eq!(count(&v, "errors"), 0, "{v}");
    assert!(number(&v, "/token_http_rps") > 0.0, "{v}");
    assert!(number(&v, "/raw_rsa2048_signs_per_s") > 0.0, "{v}");
    assert!(number(&v, "/cpu_us_per_token_request") > 0.0, "{v}");
    assert!(number(&v, "/cpu_us_per_raw_sign") > 0.0, "{v}");
    assert!(number(&v, "/cpu_us_per_healthz_request") > 0.0, "{v}");
    number(&v, "/ratio");
    number(&v, "/cpu_ratio");

    // The blog's Node.js app runs in the same run when node and its packages are here (CI runs
    // `npm ci` in tests/blog-app first); otherwise no Node.js figure at all, and a line says why.
    if blog_app_is_installed() {
        assert!(v["node_baseline_skipped"].is_null(), "{v}");
        assert_eq!(count(&v, "node_errors"), 0, "{v}\n{stderr}");
        assert!(number(&v, "/node_baseline_rps") > 0.0, "{v}");
        assert!(number(&v, "/cpu_us_per_node_request") > 0.0, "{v}");
        number(&v, "/vs_node");
    } else {
        for field in ["node_baseline_rps", "vs_node", "cpu_us_per_node_request"] {
            assert!(v[field].is_null(), "{field} not measured, not printed: {v}");
        }
        assert!(v["node_baseline_skipped"].is_string(), "{v}");
        assert!(stderr.contains("not measured"), "{stderr}");
    }
    // Neither the sign-ins nor the servers print a line each on the terminal.
    assert!(!stderr.contains("signed in"), "{stderr}");
    assert!(stderr.lines().count() <= 5, "{stderr}");
}

/// Whether `node` runs and tests/blog-app's packages are installed.
fn blog_app_is_installed() -> bool {
    let app = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/blog-app");
    let installed = ["express", "jsonwebtoken"].iter().all(|p| {
        app.join("node_modules")
            .join(p)
            .join("package.json")
            .is_file()
    });
    installed
        && Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
}

/// Memory per conversation (issue 17: ≤ 16 KiB per customer/agent pair after one message each
/// way): 200 pairs, 20 conversations per agent as at the size, every message answered;
/// the server's RSS grows by at most twice the target per pair (a generous margin: RSS counts
/// pages, and the allocator keeps some), and as little per idle socket.
#[test]
fn bench_chat_memory_per_pair_stays_bounded() {
    const BOUND_KIB: f64 = 32.0;
    let v = bench(&[
        "chat",
        "--pairs",
        "200",
        "--agents",
        "10",
        "--rate",
        "1",
        "--duration",
        "2",
        "--idle",
        "200",
        "--echo",
    ]);
    let sent = count(&v, "sent");
    assert!(sent >= 200, "one message each way per pair at least: {v}");
    assert_eq!(count(&v, "relayed_to_customers"), sent, "{v}");
    let per_pair = number(&v, "/rss_per_pair_kib");
    assert!(per_pair <= BOUND_KIB, "{per_pair} KiB per pair: {v}");
    let per_idle = number(&v, "/rss_per_idle_conn_kib");
    assert!(per_idle <= BOUND_KIB, "{per_idle} KiB per idle socket: {v}");
}
