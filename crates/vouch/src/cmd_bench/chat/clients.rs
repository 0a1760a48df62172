//! The load clients of `vouch bench chat`: a customer that sends on its plan and times its acks
//! (and, with `--echo`, the answers), and an agent that times what it relays and answers.

use super::*;

#[derive(Default)]
pub(super) struct CustomerOut {
    pub(super) acks: Samples,
    /// Round trips of the agents' answers (`--echo`).
    pub(super) echo_rtts: Samples,
    pub(super) sent: u64,
    pub(super) acked: u64,
    pub(super) echoed: u64,
    pub(super) unacked: u64,
    pub(super) errors: u64,
    pub(super) first_error: Option<String>,
    pub(super) closed: u64,
}

impl CustomerOut {
    pub(super) fn add(&mut self, o: CustomerOut) {
        self.acks.extend(o.acks);
        self.echo_rtts.extend(o.echo_rtts);
        self.sent += o.sent;
        self.acked += o.acked;
        self.echoed += o.echoed;
        self.unacked += o.unacked;
        self.errors += o.errors;
        self.closed += o.closed;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
}

/// The number `n` of this customer's `client_msg_id` `c<idx>-<n>` (or of its echo's,
/// `ec<idx>-<n>`).
fn msg_number(client_msg_id: &str) -> Option<u64> {
    client_msg_id.rsplit('-').next()?.parse().ok()
}

/// Sends every `plan.period` from `plan.start` (staggered by index) until `plan.end`, then waits
/// for the outstanding acks and answers (at most until `plan.hard_stop`).
pub(super) async fn customer(ws: Ws, idx: usize, plan: Plan) -> CustomerOut {
    let (mut sink, mut stream) = ws.split();
    let offset = plan.period.mul_f64(idx as f64 / plan.pairs as f64);
    let mut tick = tokio::time::interval_at(plan.start + offset, plan.period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    // Sends waiting for their ack, and for their answer (`--echo`).
    let mut pending: HashMap<u64, Instant> = HashMap::new();
    let mut answers: HashMap<u64, Instant> = HashMap::new();
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
                    if pending.is_empty() && answers.is_empty() {
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
                if plan.acks {
                    pending.insert(n, now);
                }
                if plan.echo {
                    answers.insert(n, now);
                }
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
                    Ok(f) if f.kind == "message" && f.sender == Some("agent") => {
                        if let Some(sent_at) =
                            f.client_msg_id.and_then(msg_number).and_then(|k| answers.remove(&k))
                        {
                            out.echo_rtts.push(sent_at.elapsed().as_micros());
                            out.echoed += 1;
                        }
                    }
                    Ok(f) if f.kind == "error" => {
                        out.errors += 1;
                        if out.first_error.is_none() {
                            out.first_error = Some(text.as_str().chars().take(300).collect());
                        }
                        if let Some(k) = f.client_msg_id.and_then(msg_number) {
                            pending.remove(&k);
                            answers.remove(&k);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => out.errors += 1,
                }
                if !sending && pending.is_empty() && answers.is_empty() {
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

pub(super) struct AgentOut {
    pub(super) rtts: Samples,
    pub(super) relayed: u64,
    pub(super) closed: Option<String>,
}

/// Reads the agent's socket: every customer `message` frame is one relayed message, its one-way
/// time the time since the send time carried in its text. With `--echo` the agent answers it at
/// once with the same text (`client_msg_id` `e` + the customer's).
pub(super) async fn agent(
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
                    if let (true, Some(conv), Some(cid), Some(text)) =
                        (plan.echo, f.conversation_id, f.client_msg_id, f.text)
                    {
                        let answer = json!({"type": "send", "conversation_id": conv,
                            "client_msg_id": format!("e{cid}"), "text": text});
                        if let Err(e) = ws.send(Message::text(answer.to_string())).await {
                            out.closed = Some(e.to_string());
                            break;
                        }
                    }
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
