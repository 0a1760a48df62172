//! Smoke tests of the load harness, so it cannot rot: `vouch bench chat` and `vouch bench
//! sessions` run at tiny sizes against a real `vouch chat` child on loopback and print one JSON
//! line with every field. Counts are checked; timings never are (speed is measured, not asserted).

use std::process::Command;

use serde_json::Value;

/// Runs `vouch bench ARGS…` and returns its JSON line.
fn bench(args: &[&str]) -> Value {
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
    serde_json::from_str(lines[0]).expect("the line is JSON")
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
    number(&v, "/baseline_node_ws_relay/p50_ms");
    number(&v, "/baseline_node_ws_relay/p99_ms");
    number(&v, "/baseline_node_ws_relay/cpu_us_per_msg");
    number(&v, "/targets/p99_ms");
    number(&v, "/targets/cpu_us_per_msg");
    number(&v, "/targets/idle_conn_kb");
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
