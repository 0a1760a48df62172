//! The same-run comparisons of `vouch bench chat`: the one-node baseline of an N-node run
//! (cross-node latency added) and the Node.js relay of `bench/node-relay` under the same load
//! (its figures beside vouch's, and the ratios).

use super::*;

/// Puts the baseline's figures and the cross-node latency added (this run's round trip minus
/// the baseline's, per percentile) into the report; nulls without a baseline.
pub(super) fn add_baseline(report: &mut Value, baseline: Option<&Value>) {
    let (summary, added) = match baseline {
        Some(b) => {
            let diff = |p: &str| -> Value {
                match (
                    report["round_trip_ms"][p].as_f64(),
                    b["round_trip_ms"][p].as_f64(),
                ) {
                    (Some(n), Some(one)) => json!(round(n - one, 3)),
                    _ => Value::Null,
                }
            };
            let added = json!({"p50": diff("p50"), "p90": diff("p90"), "p99": diff("p99")});
            let summary = json!({
                "nodes": b["nodes"], "backend": b["backend"],
                "relayed": b["relayed"], "sent": b["sent"],
                "relayed_msgs_per_s": b["relayed_msgs_per_s"],
                "round_trip_ms": b["round_trip_ms"], "ack_ms": b["ack_ms"],
                "server_cpu_us_per_msg": b["server_cpu_us_per_msg"],
                "server_cpu_cores": b["server_cpu_cores"],
            });
            (summary, added)
        }
        None => (Value::Null, Value::Null),
    };
    if let Some(obj) = report.as_object_mut() {
        obj.insert("one_node_baseline".into(), summary);
        obj.insert("cross_node_added_ms".into(), added);
    }
}

/// The same load through the Node.js relay: conversation `p<i>` for pair i, held by agent
/// i mod `agents`.
pub(super) async fn measure_relay(
    args: &ChatBenchArgs,
    dir: &std::path::Path,
    agents: usize,
) -> anyhow::Result<Value> {
    let pairs = args.pairs as usize;
    let logs = super::super::tempdir()?;
    let relay = super::super::relay::NodeRelay::start(&args.node, dir, &logs).await?;
    let result = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let rss_before = rss_kib(relay.pid);
        let mut agent_sockets = Vec::with_capacity(agents);
        for a in 0..agents {
            let ids: Vec<String> = (a..pairs)
                .step_by(agents)
                .map(|i| format!("p{i}"))
                .collect();
            agent_sockets.push(relay.agent(&ids).await?);
        }
        let ids: Vec<String> = (0..pairs).map(|i| format!("p{i}")).collect();
        let customers = stream::iter(ids.iter())
            .map(|id| relay.customer(id))
            .buffered(SETUP_CONCURRENCY)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<anyhow::Result<Vec<_>>>()?;
        let pids = [relay.pid];
        let d = drive(
            Plan::new(args, false),
            customers,
            agent_sockets,
            Some(&pids),
        )
        .await?;
        let rss_after = rss_kib(relay.pid);
        Ok(figures(d, args, rss_before, rss_after))
    }
    .await;
    relay.stop().await;
    let _ = std::fs::remove_dir_all(&logs);
    result
}

/// Puts the Node.js relay's figures (or why it was not measured) into the report, and the
/// ratios vouch / Node of each.
pub(super) fn add_node(report: &mut Value, node: &Result<Value, String>) {
    let (figures, ratios, skipped) = match node {
        Ok(n) => {
            let ratio = |ours: &Value, theirs: &Value| -> Value {
                match (ours.as_f64(), theirs.as_f64()) {
                    (Some(a), Some(b)) if b > 0.0 => json!(round(a / b, 2)),
                    _ => Value::Null,
                }
            };
            let ratios = json!({
                "msgs_per_s": ratio(&report["relayed_msgs_per_s"], &n["relayed_msgs_per_s"]),
                "p50": ratio(&report["round_trip_ms"]["p50"], &n["round_trip_ms"]["p50"]),
                "p99": ratio(&report["round_trip_ms"]["p99"], &n["round_trip_ms"]["p99"]),
                "cpu": ratio(&report["server_cpu_us_per_msg"], &n["server_cpu_us_per_msg"]),
                "rss_per_pair": ratio(&report["rss_per_pair_kib"], &n["rss_per_pair_kib"]),
            });
            (n.clone(), ratios, Value::Null)
        }
        Err(why) => (Value::Null, Value::Null, json!(why)),
    };
    let cpu_ok = ratios["cpu"].as_f64().map(|r| r <= TARGET_CPU_VS_NODE);
    if let Some(obj) = report.as_object_mut() {
        obj.insert("node_relay".into(), figures);
        obj.insert("vs_node".into(), ratios);
        obj.insert("node_relay_skipped".into(), skipped);
        if let Some(m) = obj.get_mut("meets_targets").and_then(Value::as_object_mut) {
            m.insert("cpu_vs_node".into(), json!(cpu_ok));
        }
    }
}
