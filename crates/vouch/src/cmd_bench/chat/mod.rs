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
//! With `--echo` every agent answers each customer message at once (an echo): the round trip is
//! then the customer's send → the answer on the customer's socket, and both directions count as
//! relayed messages. With `--baseline` the same load client drives, in the same run and after
//! vouch, the Node.js `ws` relay of `bench/node-relay` (no authentication, no storage, no acks:
//! [`super::relay`]), and its figures are printed beside vouch's with the ratios.
//!
//! With `--nodes N` (PostgreSQL + NATS) customers of pair i are on node i mod N and their agent
//! on node (i+1) mod N, so with N ≥ 2 every message crosses nodes; server CPU is the sum over the
//! nodes, RSS per idle socket is node 0's. Before the N-node run the same load runs on one
//! PostgreSQL node without NATS (a fresh database too): the same-run baseline, and the
//! cross-node latency added is the N-node round trip minus that one's.

mod clients;
mod compare;

use clients::{agent, customer, CustomerOut};
use compare::{add_baseline, add_node, measure_relay};

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

/// Issue 17's targets for vouch, authenticated and durable: p99 round trip, server CPU per
/// relayed message against the Node.js relay's in the same run (`--baseline`), memory per pair.
const TARGET_P99_MS: f64 = 10.0;
const TARGET_CPU_VS_NODE: f64 = 2.0;
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
    /// Agents answer every customer message at once; the round trip is the customer's send →
    /// the answer on its socket.
    #[arg(long)]
    echo: bool,
    /// Then drive the Node.js `ws` relay of bench/node-relay with the same load, in the same run,
    /// and print its figures beside vouch's with the ratios.
    #[arg(long)]
    baseline: bool,
    /// The relay's directory [default: bench/node-relay of the current directory, else of the
    /// checkout vouch was built from].
    #[arg(long, value_name = "DIR")]
    relay_dir: Option<std::path::PathBuf>,
    /// The Node.js binary that runs the relay.
    #[arg(long, value_name = "PATH", default_value = "node")]
    node: std::path::PathBuf,
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
    let node = if args.baseline {
        let dir = args
            .relay_dir
            .clone()
            .unwrap_or_else(super::relay::default_dir);
        match super::relay::unavailable(&args.node, &dir).await {
            Some(why) => {
                eprintln!("bench: the Node.js relay is not measured in this run: {why}");
                Err(why)
            }
            None => {
                eprintln!(
                    "bench: the same load through the Node.js relay ({})",
                    dir.display()
                );
                Ok(measure_relay(&args, &dir, agents).await?)
            }
        }
    } else {
        Err("not asked (--baseline)".to_string())
    };
    add_node(&mut report, &node);
    println!("{report}");
    let direction = if args.echo {
        "customer → agent → customer (echo)"
    } else {
        "customer → agent"
    };
    eprintln!(
        "chat: {} node(s) on {}; {} pairs × {}/s, {direction}, {} agents",
        topology.nodes,
        report["backend"].as_str().unwrap_or("?"),
        args.pairs,
        args.rate,
        agents,
    );
    let n = &report["node_relay"];
    let v = &report["vs_node"];
    for (what, ours, theirs, ratio) in [
        (
            "relayed msgs/s",
            &report["relayed_msgs_per_s"],
            &n["relayed_msgs_per_s"],
            &v["msgs_per_s"],
        ),
        (
            "round trip p50 ms",
            &report["round_trip_ms"]["p50"],
            &n["round_trip_ms"]["p50"],
            &v["p50"],
        ),
        (
            "round trip p99 ms",
            &report["round_trip_ms"]["p99"],
            &n["round_trip_ms"]["p99"],
            &v["p99"],
        ),
        (
            "ack p99 ms",
            &report["ack_ms"]["p99"],
            &Value::Null,
            &Value::Null,
        ),
        (
            "server CPU µs/relayed msg",
            &report["server_cpu_us_per_msg"],
            &n["server_cpu_us_per_msg"],
            &v["cpu"],
        ),
        (
            "RSS KiB per pair (loaded)",
            &report["rss_per_pair_kib"],
            &n["rss_per_pair_kib"],
            &v["rss_per_pair"],
        ),
        (
            "RSS KiB per idle socket",
            &report["rss_per_idle_conn_kib"],
            &Value::Null,
            &Value::Null,
        ),
    ] {
        eprintln!("chat: {what:<28} vouch {ours:<10} node {theirs:<10} ratio {ratio}");
    }
    eprintln!(
        "chat: targets: p99 ≤ {TARGET_P99_MS} ms, CPU ≤ {TARGET_CPU_VS_NODE}× Node's, \
         ≤ {TARGET_IDLE_CONN_KB} KiB per pair"
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
    #[serde(default, borrow)]
    conversation_id: Option<&'a str>,
}

/// When everyone sends and stops (all tasks share one clock), and what the server answers.
#[derive(Clone, Copy)]
struct Plan {
    /// Send times travel in the message text as microseconds since this instant.
    base: Instant,
    start: Instant,
    end: Instant,
    hard_stop: Instant,
    period: Duration,
    pairs: usize,
    /// Agents answer every customer message.
    echo: bool,
    /// The server acknowledges sends (vouch does; the Node.js relay does not).
    acks: bool,
}

impl Plan {
    fn new(args: &ChatBenchArgs, acks: bool) -> Plan {
        let base = Instant::now();
        let start = base + Duration::from_millis(300);
        let end = start + Duration::from_secs(args.duration);
        Plan {
            base,
            start,
            end,
            hard_stop: end + DRAIN,
            period: Duration::from_secs(1) / args.rate,
            pairs: args.pairs as usize,
            echo: args.echo,
            acks,
        }
    }
}

/// What one load run measured, whichever server relayed it.
struct Driven {
    c: CustomerOut,
    /// Customer messages the agents got, and their one-way latencies.
    to_agents: u64,
    one_way: Samples,
    agent_closes: Vec<String>,
    wall: f64,
    /// (user + system, system) CPU µs of the server processes during the load.
    server_cpu: Option<(f64, f64)>,
    client_cpu: Option<f64>,
    by_thread: Value,
}

impl Driven {
    /// Every message relayed: customer → agent, and with `--echo` the answers too.
    fn relayed(&self) -> u64 {
        self.to_agents + self.c.echoed
    }

    fn cpu_per_msg(&self) -> Option<f64> {
        let relayed = self.relayed();
        self.server_cpu
            .filter(|_| relayed > 0)
            .map(|(us, _)| round(us / relayed as f64, 1))
    }
}

/// Runs the load on open sockets (customers in pair order; agents) and measures it, the servers'
/// CPU from `/proc/<pid>/stat` of `pids`.
async fn drive(
    plan: Plan,
    customers: Vec<Ws>,
    agents: Vec<Ws>,
    pids: Option<&[u32]>,
) -> anyhow::Result<Driven> {
    let to_agents = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let agent_tasks: Vec<_> = agents
        .into_iter()
        .map(|ws| tokio::spawn(agent(ws, plan, to_agents.clone(), stop_rx.clone())))
        .collect();
    let customer_tasks: Vec<_> = customers
        .into_iter()
        .enumerate()
        .map(|(i, ws)| tokio::spawn(customer(ws, i, plan)))
        .collect();
    tokio::time::sleep_until(plan.start).await;
    let own_pid = std::process::id();
    let cpu0 = (nodes_cpu(pids), cpu_micros(own_pid));
    let threads0 = pids.and_then(nodes_thread_cpu);

    let mut c = CustomerOut::default();
    for t in customer_tasks {
        c.add(t.await?);
    }
    while to_agents.load(Ordering::Relaxed) < c.sent && Instant::now() < plan.hard_stop {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    let mut one_way = Samples::default();
    let mut relayed = 0u64;
    let mut agent_closes = Vec::new();
    for t in agent_tasks {
        let out = t.await?;
        relayed += out.relayed;
        one_way.extend(out.rtts);
        agent_closes.extend(out.closed);
    }
    let wall = plan.start.elapsed().as_secs_f64();
    let cpu1 = (nodes_cpu(pids), cpu_micros(own_pid));
    let threads1 = pids.and_then(nodes_thread_cpu);
    let all_relayed = relayed + c.echoed;
    // Where the server's time went, per thread name: the SQLite writer (durable writes: WAL
    // writes and fsyncs), its checkpointer, and tokio's workers (sockets, frames, fan-out).
    let by_thread = match (threads0, threads1) {
        (Some(a), Some(b)) if all_relayed > 0 => Value::Object(
            b.iter()
                .map(|(name, us)| {
                    let used = us.saturating_sub(a.get(name).copied().unwrap_or(0));
                    (
                        name.clone(),
                        json!(round(used as f64 / all_relayed as f64, 1)),
                    )
                })
                .collect(),
        ),
        _ => Value::Null,
    };
    let server_cpu = match (cpu0.0, cpu1.0) {
        (Some(a), Some(b)) => {
            let sys = b.1.saturating_sub(a.1) as f64;
            Some((b.0.saturating_sub(a.0) as f64 + sys, sys))
        }
        _ => None,
    };
    let client_cpu = match (cpu0.1, cpu1.1) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64),
        _ => None,
    };
    Ok(Driven {
        c,
        to_agents: relayed,
        one_way,
        agent_closes,
        wall,
        server_cpu,
        client_cpu,
        by_thread,
    })
}

/// The figures both servers report, from one load run.
fn figures(
    d: Driven,
    args: &ChatBenchArgs,
    rss_before: Option<u64>,
    rss_after: Option<u64>,
) -> Value {
    let pairs = args.pairs as usize;
    let secs = args.duration as f64;
    let relayed = d.relayed();
    let cpu_per_msg = d.cpu_per_msg();
    let (round_trip, samples, one_way) = if args.echo {
        let n = d.c.echo_rtts.len();
        (d.c.echo_rtts.summary_ms(), n, d.one_way.summary_ms())
    } else {
        let n = d.one_way.len();
        (d.one_way.summary_ms(), n, Value::Null)
    };
    let rss_per_pair = rss_before
        .zip(rss_after)
        .map(|(b, a)| round(a.saturating_sub(b) as f64 / pairs as f64, 2));
    json!({
        "sent": d.c.sent,
        "acked": d.c.acked,
        "relayed": relayed,
        "relayed_to_agents": d.to_agents,
        "relayed_to_customers": d.c.echoed,
        "undelivered_at_stop": d.c.sent.saturating_sub(d.to_agents),
        "unanswered_at_stop": if args.echo { json!(d.to_agents.saturating_sub(d.c.echoed)) } else { Value::Null },
        "unacked": d.c.unacked,
        "error_frames": d.c.errors,
        "first_error": d.c.first_error,
        "customer_sockets_closed": d.c.closed,
        "agent_sockets_closed": d.agent_closes,
        "relayed_msgs_per_s": round(relayed as f64 / secs, 1),
        "round_trip_ms": round_trip,
        "round_trip_samples": samples,
        "one_way_ms": one_way,
        "ack_ms": if args.echo || d.c.acked > 0 { d.c.acks.summary_ms() } else { Value::Null },
        "server_cpu_us_per_msg": cpu_per_msg,
        "server_cpu_us_per_msg_by_thread": d.by_thread,
        "server_cpu_cores": d.server_cpu.map(|(us, _)| round(us / 1e6 / d.wall, 2)),
        "server_cpu_system_share": d.server_cpu
            .filter(|(all, _)| *all > 0.0)
            .map(|(all, sys)| round(sys / all, 2)),
        "load_generator_cpu_cores": d.client_cpu.map(|us| round(us / 1e6 / d.wall, 2)),
        "rss_before_load_kib": rss_before,
        "rss_after_load_kib": rss_after,
        "rss_per_pair_kib": rss_per_pair,
    })
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
    let rss_before = server.pid().and_then(rss_kib);
    let mut agent_sockets = Vec::with_capacity(agents);
    for a in 0..agents {
        agent_sockets.push(server.connect_agent(agent_node(a, nodes), a).await?);
    }
    let customers = open_customers(server, &sessions, |i| customer_node(i, nodes)).await?;

    // 3. The load.
    let pids = server.pids();
    let d = drive(
        Plan::new(args, true),
        customers,
        agent_sockets,
        pids.as_deref(),
    )
    .await?;
    let rss_after = server.pid().and_then(rss_kib);
    let mut out = json!({
        "bench": "chat",
        "build": profile(),
        "cores": std::thread::available_parallelism().map_or(2, |n| n.get()),
        "nodes": nodes,
        "backend": server.backend(),
        "pairs": pairs,
        "rate_per_pair": args.rate,
        "direction": if args.echo { "customer_to_agent_and_back" } else { "customer_to_agent" },
        "agents": agents,
        "agent_sockets": agents,
        "customer_sockets": pairs,
        "duration_s": args.duration,
        "offered_msgs_per_s": pairs as u64 * u64::from(args.rate),
        "server_rss_kib": server.pid().and_then(rss_kib),
        "server_rss_kib_per_node": pids
            .as_deref()
            .map(|p| p.iter().map(|pid| rss_kib(*pid)).collect::<Vec<_>>()),
        "idle": idle,
    });
    let rss_per_idle = idle.get("per_conn_kib").cloned().unwrap_or(Value::Null);
    if let (Some(o), Value::Object(f)) =
        (out.as_object_mut(), figures(d, args, rss_before, rss_after))
    {
        o.extend(f);
        let p99 = o["round_trip_ms"]["p99"].as_f64();
        o.insert("rss_per_idle_conn_kib".into(), rss_per_idle.clone());
        o.insert(
            "targets".into(),
            json!({
                "p99_ms": TARGET_P99_MS, "cpu_vs_node": TARGET_CPU_VS_NODE,
                "idle_conn_kb": TARGET_IDLE_CONN_KB,
            }),
        );
        o.insert(
            "meets_targets".into(),
            json!({
                "p99": p99.map(|p| p <= TARGET_P99_MS),
                "idle_conn": rss_per_idle.as_f64().map(|k| k <= TARGET_IDLE_CONN_KB),
            }),
        );
    }
    Ok(out)
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
