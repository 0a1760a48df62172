//! `vouch bench chat --pairs N --rate R --duration S`: N verified customers (real tokens, real
//! sessions) each send R messages/s to their conversation for S seconds; the conversations are
//! dealt round-robin to a few agents (one socket each, every agent holding many conversations),
//! who accepted them first. Direction: customer → agent only.
//!
//! Measured: messages the agents received per second, the round trip (customer's send → the
//! agent's socket has the `message` frame; the send time travels in the text) and the ack
//! latency (send → `ack`, i.e. stored), the server's CPU time per relayed message (its
//! `/proc/<pid>/stat`, the service being a child process), and its RSS per idle customer socket
//! (RSS before and after opening K sockets on already created sessions). One JSON line on stdout.
//!
//! With `--nodes N` (PostgreSQL + NATS) customers of pair i are on node i mod N and their agent
//! on node (i+1) mod N, so with N ≥ 2 every message crosses nodes; server CPU is the sum over the
//! nodes, RSS per idle socket is node 0's. Before the N-node run the same load runs on one
//! PostgreSQL node without NATS (a fresh database too): the same-run baseline, and the
//! cross-node latency added is the N-node round trip minus that one's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use futures_util::{stream, SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use super::procstat::{cpu_micros, cpu_split_micros, rss_kib, thread_cpu_micros};
use super::server::{BenchServer, ChildLimits, Ws};
use super::stats::{profile, round, Samples};
use super::topology::{NodesArgs, ServerArgs, Topology};
use super::MAX_SECONDS;

/// Most messages per second the bench will offer in total.
const MAX_TOTAL_RATE: u64 = 50_000;
/// How long after the last send the bench waits for outstanding acks and deliveries.
const DRAIN: Duration = Duration::from_secs(5);
/// Concurrent HTTP requests / socket opens while setting up.
const SETUP_CONCURRENCY: usize = 32;

/// Issue 7's baseline: a minimal Node.js `ws` relay (no authentication, no persistence) at
/// 1,000 pairs × 5 msg/s on this kind of machine (2 cores).
const NODE_P50_MS: f64 = 0.64;
const NODE_P99_MS: f64 = 4.0;
const NODE_CPU_US_PER_MSG: f64 = 25.8;
const NODE_IDLE_CONN_KB: [f64; 2] = [7.0, 11.0];
/// Issue 7's targets for vouch, authenticated and durable.
const TARGET_P99_MS: f64 = 10.0;
const TARGET_CPU_US_PER_MSG: f64 = 25.0;
const TARGET_IDLE_CONN_KB: f64 = 16.0;

#[derive(Args, Debug)]
pub struct ChatBenchArgs {
    /// Customer/agent pairs, one conversation each (at most 5,000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pairs: u32,
    /// Messages per second each customer sends to its agent (at most 50; pairs × rate ≤ 50,000).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    rate: u32,
    /// Seconds of load (at most 120), followed by up to 5 s for outstanding acks and deliveries.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    duration: u64,
    /// Agents, one socket each; conversations are dealt round-robin among them.
    /// Default: one per 100 pairs.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=200))]
    agents: Option<u32>,
    /// Idle customer sockets opened to measure the server's RSS per idle connection (0 skips it;
    /// at most 10,000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    idle: u32,
    #[command(flatten)]
    nodes: NodesArgs,
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn run(args: ChatBenchArgs) -> anyhow::Result<()> {
    let pairs = args.pairs as usize;
    if u64::from(args.pairs) * u64::from(args.rate) > MAX_TOTAL_RATE {
        bail!("--pairs × --rate may be at most {MAX_TOTAL_RATE} messages/s");
    }
    let topology = args.nodes.topology(&args.server)?;
    let agents = agent_count(args.agents, pairs, topology.nodes);
    let baseline = match topology.one_node_baseline() {
        Some(one) if topology.nodes > 1 && !args.nodes.no_baseline => {
            eprintln!("bench: baseline first: the same load on one PostgreSQL node without NATS");
            Some(run_once(&args, &one, agents, 0).await?)
        }
        _ => None,
    };
    let mut report = run_once(&args, &topology, agents, args.idle).await?;
    add_baseline(&mut report, baseline.as_ref());
    println!("{report}");
    eprintln!(
        "chat: {} node(s) on {}; {} msgs/s relayed ({} pairs × {}/s, customer → agent, {} agents); round trip p50 {} ms p99 {} ms \
         (Node ws relay {NODE_P50_MS} / {NODE_P99_MS}; target p99 ≤ {TARGET_P99_MS}); ack p99 {} ms; \
         {} µs server CPU per message (Node {NODE_CPU_US_PER_MSG}; target ≤ {TARGET_CPU_US_PER_MSG}); \
         {} KiB RSS per idle socket (Node 7–11 KB; target ≤ {TARGET_IDLE_CONN_KB})",
        topology.nodes,
        report["backend"].as_str().unwrap_or("?"),
        report["relayed_msgs_per_s"],
        args.pairs,
        args.rate,
        agents,
        report["round_trip_ms"]["p50"],
        report["round_trip_ms"]["p99"],
        report["ack_ms"]["p99"],
        report["server_cpu_us_per_msg"],
        report["rss_per_idle_conn_kib"],
    );
    if baseline.is_some() {
        eprintln!(
            "chat: cross-node latency added (round trip minus the same run's one-node PostgreSQL \
             baseline, p50 {} ms): p50 {} ms, p99 {} ms",
            report["one_node_baseline"]["round_trip_ms"]["p50"],
            report["cross_node_added_ms"]["p50"],
            report["cross_node_added_ms"]["p99"],
        );
    }
    Ok(())
}

/// Agents: one per 100 pairs unless given, at most one per pair — rounded up to a multiple of
/// the node count, so that agent `a` on node (a+1) mod N holds exactly the pairs i ≡ a (mod N)
/// can hold (customer on node i mod N): with N ≥ 2 every conversation spans two nodes.
fn agent_count(given: Option<u32>, pairs: usize, nodes: usize) -> usize {
    let agents = given
        .map_or(pairs.div_ceil(100), |a| a as usize)
        .clamp(1, pairs);
    agents.div_ceil(nodes) * nodes
}

/// Node of the customer of pair `i`.
fn customer_node(i: usize, nodes: usize) -> usize {
    i % nodes
}

/// Node of agent `a` (who holds the pairs i with i mod agents = a).
fn agent_node(a: usize, nodes: usize) -> usize {
    (a + 1) % nodes
}

/// One measured run on fresh nodes of `topology`, stopped (and its database dropped) after.
async fn run_once(
    args: &ChatBenchArgs,
    topology: &Topology,
    agents: usize,
    idle: u32,
) -> anyhow::Result<Value> {
    let limits = ChildLimits {
        sockets: args.pairs as usize + agents + idle as usize + 64,
        msg_rate: (args.rate * 2).max(20),
        msg_burst: (args.rate * 4).max(100),
    };
    let server = BenchServer::start(&args.server, topology, agents, limits).await?;
    let result = measure(&server, args, agents, idle).await;
    server.stop().await;
    result
}

/// Puts the baseline's figures and the cross-node latency added (this run's round trip minus
/// the baseline's, per percentile) into the report; nulls without a baseline.
fn add_baseline(report: &mut Value, baseline: Option<&Value>) {
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

/// A server frame, as far as the bench reads it.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(default, borrow)]
    sender: Option<&'a str>,
    #[serde(default, borrow)]
    text: Option<&'a str>,
    #[serde(default, borrow)]
    client_msg_id: Option<&'a str>,
}

/// When everyone sends and stops (all tasks share one clock).
#[derive(Clone, Copy)]
struct Plan {
    /// Send times travel in the message text as microseconds since this instant.
    base: Instant,
    start: Instant,
    end: Instant,
    hard_stop: Instant,
    period: Duration,
    pairs: usize,
}

async fn measure(
    server: &BenchServer,
    args: &ChatBenchArgs,
    agents: usize,
    idle: u32,
) -> anyhow::Result<Value> {
    let pairs = args.pairs as usize;
    let nodes = server.node_count();
    let run_id = format!("{}-{}", std::process::id(), crate::cmd_token::unix_now());

    // 1. RSS per idle connection (node 0): sessions first, then RSS before and after opening
    //    the sockets.
    let idle = match (idle, server.pid()) {
        (0, _) | (_, None) => Value::Null,
        (k, Some(pid)) => idle_rss(server, pid, k as usize, &run_id).await?,
    };

    // 2. The pairs: real tokens, real sessions (on the customer's node); agents accept
    //    round-robin (on the agent's node), then connect.
    let tokens = sign_tokens(server, &format!("cust-{run_id}"), pairs).await?;
    let sessions = create_sessions(server, &tokens, |i| customer_node(i, nodes)).await?;
    stream::iter(sessions.iter().enumerate())
        .map(|(i, (_, conv))| {
            let agent = i % agents;
            server.accept(agent_node(agent, nodes), agent, conv)
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<()>>>()?;
    let relayed_total = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut agent_sockets = Vec::with_capacity(agents);
    for a in 0..agents {
        agent_sockets.push(server.connect_agent(agent_node(a, nodes), a).await?);
    }
    let customers = open_customers(server, &sessions, |i| customer_node(i, nodes)).await?;

    // 3. The load.
    let base = Instant::now();
    let start = base + Duration::from_millis(300);
    let end = start + Duration::from_secs(args.duration);
    let plan = Plan {
        base,
        start,
        end,
        hard_stop: end + DRAIN,
        period: Duration::from_secs(1) / args.rate,
        pairs,
    };
    let agent_tasks: Vec<_> = agent_sockets
        .into_iter()
        .map(|ws| tokio::spawn(agent(ws, plan, relayed_total.clone(), stop_rx.clone())))
        .collect();
    let customer_tasks: Vec<_> = customers
        .into_iter()
        .enumerate()
        .map(|(i, ws)| tokio::spawn(customer(ws, i, plan)))
        .collect();
    tokio::time::sleep_until(start).await;
    let pids = server.pids();
    let own_pid = std::process::id();
    let cpu0 = (nodes_cpu(pids.as_deref()), cpu_micros(own_pid));
    let threads0 = pids.as_deref().and_then(nodes_thread_cpu);

    let mut c = CustomerOut::default();
    for t in customer_tasks {
        c.add(t.await?);
    }
    while relayed_total.load(Ordering::Relaxed) < c.sent && Instant::now() < plan.hard_stop {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    let mut rtts = Samples::default();
    let mut relayed = 0u64;
    let mut agent_closes = Vec::new();
    for t in agent_tasks {
        let out = t.await?;
        relayed += out.relayed;
        rtts.extend(out.rtts);
        agent_closes.extend(out.closed);
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu1 = (nodes_cpu(pids.as_deref()), cpu_micros(own_pid));
    let threads1 = pids.as_deref().and_then(nodes_thread_cpu);
    // Where the server's time went, per thread name: the SQLite writer (durable writes: WAL
    // writes and fsyncs), its checkpointer, and tokio's workers (sockets, frames, fan-out).
    let by_thread = match (threads0, threads1) {
        (Some(a), Some(b)) if relayed > 0 => Value::Object(
            b.iter()
                .map(|(name, us)| {
                    let used = us.saturating_sub(a.get(name).copied().unwrap_or(0));
                    (name.clone(), json!(round(used as f64 / relayed as f64, 1)))
                })
                .collect(),
        ),
        _ => Value::Null,
    };
    let (server_cpu, server_sys) = match (cpu0.0, cpu1.0) {
        (Some(a), Some(b)) => {
            let sys = b.1.saturating_sub(a.1) as f64;
            (Some(b.0.saturating_sub(a.0) as f64 + sys), Some(sys))
        }
        _ => (None, None),
    };
    let client_cpu = match (cpu0.1, cpu1.1) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64),
        _ => None,
    };
    let cpu_per_msg = server_cpu
        .filter(|_| relayed > 0)
        .map(|us| round(us / relayed as f64, 1));
    let rtt_samples = rtts.len();
    let round_trip = rtts.summary_ms();
    let ack = std::mem::take(&mut c.acks).summary_ms();
    let secs = args.duration as f64;
    let rss_per_idle = idle.get("per_conn_kib").cloned().unwrap_or(Value::Null);
    let p99 = round_trip["p99"].as_f64();
    Ok(json!({
        "bench": "chat",
        "build": profile(),
        "cores": std::thread::available_parallelism().map_or(2, |n| n.get()),
        "nodes": nodes,
        "backend": server.backend(),
        "pairs": pairs,
        "rate_per_pair": args.rate,
        "direction": "customer_to_agent",
        "agents": agents,
        "agent_sockets": agents,
        "customer_sockets": pairs,
        "duration_s": args.duration,
        "offered_msgs_per_s": pairs as u64 * u64::from(args.rate),
        "sent": c.sent,
        "acked": c.acked,
        "relayed": relayed,
        "undelivered_at_stop": c.sent.saturating_sub(relayed),
        "unacked": c.unacked,
        "error_frames": c.errors,
        "first_error": c.first_error,
        "customer_sockets_closed": c.closed,
        "agent_sockets_closed": agent_closes,
        "relayed_msgs_per_s": round(relayed as f64 / secs, 1),
        "round_trip_ms": round_trip,
        "round_trip_samples": rtt_samples,
        "ack_ms": ack,
        "server_cpu_us_per_msg": cpu_per_msg,
        "server_cpu_us_per_msg_by_thread": by_thread,
        "server_cpu_cores": server_cpu.map(|us| round(us / 1e6 / wall, 2)),
        "server_cpu_system_share": server_cpu
            .zip(server_sys)
            .filter(|(all, _)| *all > 0.0)
            .map(|(all, sys)| round(sys / all, 2)),
        "load_generator_cpu_cores": client_cpu.map(|us| round(us / 1e6 / wall, 2)),
        "server_rss_kib": server.pid().and_then(rss_kib),
        "server_rss_kib_per_node": pids
            .as_deref()
            .map(|p| p.iter().map(|pid| rss_kib(*pid)).collect::<Vec<_>>()),
        "idle": idle,
        "rss_per_idle_conn_kib": rss_per_idle,
        "baseline_node_ws_relay": {
            "p50_ms": NODE_P50_MS, "p99_ms": NODE_P99_MS,
            "cpu_us_per_msg": NODE_CPU_US_PER_MSG, "idle_conn_kb": NODE_IDLE_CONN_KB,
            "note": "1,000 pairs × 5 msg/s, no authentication, no persistence, 2 cores",
        },
        "targets": {
            "p99_ms": TARGET_P99_MS, "cpu_us_per_msg": TARGET_CPU_US_PER_MSG,
            "idle_conn_kb": TARGET_IDLE_CONN_KB,
        },
        "meets_targets": {
            "p99": p99.map(|p| p <= TARGET_P99_MS),
            "cpu": cpu_per_msg.map(|c| c <= TARGET_CPU_US_PER_MSG),
            "idle_conn": rss_per_idle.as_f64().map(|k| k <= TARGET_IDLE_CONN_KB),
        },
    }))
}

/// Customer tokens for `count` distinct subjects `prefix-i`, signed on every core.
pub async fn sign_tokens(
    server: &BenchServer,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let key = server.key.clone();
    let prefix = prefix.to_string();
    tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = count.div_ceil(threads).max(1);
        let ids: Vec<usize> = (0..count).collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = ids
                .chunks(chunk)
                .map(|part| {
                    let (key, prefix) = (&key, &prefix);
                    scope.spawn(move || {
                        part.iter()
                            .map(|i| key.sign(&BenchServer::claims(&format!("{prefix}-{i}"))))
                            .collect::<Result<Vec<_>, _>>()
                    })
                })
                .collect();
            let mut out = Vec::with_capacity(count);
            for h in handles {
                match h.join() {
                    Ok(part) => out.extend(part?),
                    Err(_) => bail!("a signing thread panicked"),
                }
            }
            Ok(out)
        })
    })
    .await?
}

/// CPU time of all the nodes' threads by thread name, in microseconds.
fn nodes_thread_cpu(pids: &[u32]) -> Option<std::collections::BTreeMap<String, u64>> {
    let mut all = std::collections::BTreeMap::new();
    for pid in pids {
        for (name, us) in thread_cpu_micros(*pid)? {
            *all.entry(name).or_default() += us;
        }
    }
    Some(all)
}

/// (user, system) CPU time of all the nodes together, in microseconds; None when one of them is
/// unknown.
fn nodes_cpu(pids: Option<&[u32]>) -> Option<(u64, u64)> {
    pids?.iter().try_fold((0, 0), |(user, system), pid| {
        let (u, s) = cpu_split_micros(*pid)?;
        Some((user + u, system + s))
    })
}

/// One session per token, in token order, token `i` on node `node_of(i)`: (session token,
/// conversation id).
async fn create_sessions(
    server: &BenchServer,
    tokens: &[String],
    node_of: impl Fn(usize) -> usize,
) -> anyhow::Result<Vec<(String, String)>> {
    let results: Vec<_> = stream::iter(tokens.iter().enumerate())
        .map(|(i, t)| server.create_session(node_of(i), t))
        .buffered(SETUP_CONCURRENCY)
        .collect()
        .await;
    results
        .into_iter()
        .map(|r| {
            r.map_err(|(status, body)| {
                anyhow::anyhow!("session creation answered {status:?}: {body}")
            })
        })
        .collect()
}

/// The customer socket of session `i` on node `node_of(i)`, in session order.
async fn open_customers(
    server: &BenchServer,
    sessions: &[(String, String)],
    node_of: impl Fn(usize) -> usize,
) -> anyhow::Result<Vec<Ws>> {
    stream::iter(sessions.iter().enumerate())
        .map(|(i, (token, _))| server.connect_customer(node_of(i), token))
        .buffered(SETUP_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// Node 0's RSS before and after opening `k` idle customer sockets there on sessions created
/// beforehand.
async fn idle_rss(server: &BenchServer, pid: u32, k: usize, run_id: &str) -> anyhow::Result<Value> {
    let tokens = sign_tokens(server, &format!("idle-{run_id}"), k).await?;
    let sessions = create_sessions(server, &tokens, |_| 0).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid).context("reading the server's RSS")?;
    let sockets = open_customers(server, &sessions, |_| 0).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(pid).context("reading the server's RSS")?;
    drop(sockets);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let per = after.saturating_sub(before) as f64 / k as f64;
    Ok(json!({
        "sockets": k,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "per_conn_kib": round(per, 2),
    }))
}

#[derive(Default)]
struct CustomerOut {
    acks: Samples,
    sent: u64,
    acked: u64,
    unacked: u64,
    errors: u64,
    first_error: Option<String>,
    closed: u64,
}

impl CustomerOut {
    fn add(&mut self, o: CustomerOut) {
        self.acks.extend(o.acks);
        self.sent += o.sent;
        self.acked += o.acked;
        self.unacked += o.unacked;
        self.errors += o.errors;
        self.closed += o.closed;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
}

/// The number `n` of this customer's `client_msg_id` `c<idx>-<n>`.
fn msg_number(client_msg_id: &str) -> Option<u64> {
    client_msg_id.rsplit('-').next()?.parse().ok()
}

/// Sends every `plan.period` from `plan.start` (staggered by index) until `plan.end`, then waits
/// for the outstanding acks (at most until `plan.hard_stop`).
async fn customer(ws: Ws, idx: usize, plan: Plan) -> CustomerOut {
    let (mut sink, mut stream) = ws.split();
    let offset = plan.period.mul_f64(idx as f64 / plan.pairs as f64);
    let mut tick = tokio::time::interval_at(plan.start + offset, plan.period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut pending: HashMap<u64, Instant> = HashMap::new();
    let mut out = CustomerOut::default();
    let mut sending = true;
    let mut n = 0u64;
    let hard_stop = tokio::time::sleep_until(plan.hard_stop);
    tokio::pin!(hard_stop);
    loop {
        tokio::select! {
            at = tick.tick(), if sending => {
                if at >= plan.end {
                    sending = false;
                    if pending.is_empty() {
                        break;
                    }
                    continue;
                }
                n += 1;
                let now = Instant::now();
                let frame = format!(
                    r#"{{"type":"send","client_msg_id":"c{idx}-{n}","text":"bench {}"}}"#,
                    now.duration_since(plan.base).as_micros()
                );
                pending.insert(n, now);
                if sink.send(Message::text(frame)).await.is_err() {
                    out.closed += 1;
                    break;
                }
                out.sent += 1;
            }
            msg = stream.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                        out.closed += 1;
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                match serde_json::from_str::<Incoming>(text.as_str()) {
                    Ok(f) if f.kind == "ack" => {
                        if let Some(sent_at) =
                            f.client_msg_id.and_then(msg_number).and_then(|k| pending.remove(&k))
                        {
                            out.acks.push(sent_at.elapsed().as_micros());
                            out.acked += 1;
                        }
                    }
                    Ok(f) if f.kind == "error" => {
                        out.errors += 1;
                        if out.first_error.is_none() {
                            out.first_error = Some(text.as_str().chars().take(300).collect());
                        }
                        if let Some(k) = f.client_msg_id.and_then(msg_number) {
                            pending.remove(&k);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => out.errors += 1,
                }
                if !sending && pending.is_empty() {
                    break;
                }
            }
            _ = &mut hard_stop => break,
        }
    }
    out.unacked = pending.len() as u64;
    let _ = sink.send(Message::Close(None)).await;
    out
}

struct AgentOut {
    rtts: Samples,
    relayed: u64,
    closed: Option<String>,
}

/// Reads the agent's socket: every customer `message` frame is one relayed message, its round
/// trip the time since the send time carried in its text.
async fn agent(
    mut ws: Ws,
    plan: Plan,
    relayed_total: Arc<AtomicU64>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> AgentOut {
    let mut out = AgentOut {
        rtts: Samples::default(),
        relayed: 0,
        closed: None,
    };
    let hard_stop = tokio::time::sleep_until(plan.hard_stop);
    tokio::pin!(hard_stop);
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let Ok(f) = serde_json::from_str::<Incoming>(t.as_str()) else { continue };
                    if f.kind != "message" || f.sender != Some("customer") {
                        continue;
                    }
                    let Some(sent) = f
                        .text
                        .and_then(|t| t.strip_prefix("bench "))
                        .and_then(|v| v.parse::<u128>().ok())
                    else {
                        continue;
                    };
                    let now = Instant::now().duration_since(plan.base).as_micros();
                    out.rtts.push(now.saturating_sub(sent));
                    out.relayed += 1;
                    relayed_total.fetch_add(1, Ordering::Relaxed);
                }
                Some(Ok(Message::Close(frame))) => {
                    out.closed = Some(frame.map_or_else(
                        || "closed".to_string(),
                        |f| format!("{} {}", u16::from(f.code), f.reason),
                    ));
                    break;
                }
                Some(Err(e)) => {
                    out.closed = Some(e.to_string());
                    break;
                }
                None => {
                    out.closed = Some("connection ended".into());
                    break;
                }
                Some(Ok(_)) => {}
            },
            _ = stop.changed() => break,
            _ = &mut hard_stop => break,
        }
    }
    let _ = ws.close(None).await;
    out
}
