//! A quick, bounded bench of durable appends: many conversations append concurrently to one SQLite
//! database (WAL, `synchronous=FULL`) through `ConversationStore::append_message`; prints messages/s and the
//! append ("ack") latency p50/p99 as one JSON line.
//!
//! `cargo run --release -p vouch-chat --example append_bench -- [CONVERSATIONS] [MESSAGES_EACH] [DIR]`
//! (defaults 200 × 50, a tempdir under the current directory so fsync hits the real disk).

use std::sync::Arc;
use std::time::{Duration, Instant};

use vouch_chat::storage::sqlite::SqliteStore;
use vouch_chat::storage::{now_millis, NewMessage, Sender, Store};
use vouch_testkit::chat::{conversation_row, widget_row};

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
        .clamp(1, 100_000)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let conversations = arg(1, 200).min(10_000);
    let each = arg(2, 50).min(10_000);
    let parent = std::env::args().nth(3).unwrap_or_else(|| ".".into());
    let dir = tempfile::Builder::new()
        .prefix("append-bench")
        .tempdir_in(parent)?;
    let url = format!("sqlite://{}", dir.path().join("chat.db").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await?);
    let widget = widget_row("http://bench.test");
    store.insert_widget(&widget).await?;
    let mut ids = Vec::with_capacity(conversations);
    for _ in 0..conversations {
        let c = conversation_row(widget.app_id);
        store.insert_conversation(&c).await?;
        ids.push(c.id);
    }
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(conversations);
    for id in ids {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(each);
            for i in 0..each {
                let t = Instant::now();
                let a = store
                    .append_message(&NewMessage {
                        conversation_id: id,
                        sender: Sender::Customer,
                        agent_id: None,
                        text: format!("message {i} of a durable chat"),
                        client_msg_id: Some(format!("m{i}")),
                        sent_at: now_millis(),
                        attachments: Vec::new(),
                    })
                    .await?;
                anyhow::ensure!(a.message.seq == i as i64 + 1, "seq gap");
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::with_capacity(conversations * each);
    for t in tasks {
        all.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort();
    println!(
        "{}",
        serde_json::json!({
            "conversations": conversations,
            "messages": all.len(),
            "seconds": (secs * 1000.0).round() / 1000.0,
            "msgs_per_s": (all.len() as f64 / secs).round(),
            "ack_p50_ms": (pct(&all, 0.50) * 100.0).round() / 100.0,
            "ack_p99_ms": (pct(&all, 0.99) * 100.0).round() / 100.0,
        })
    );
    Ok(())
}
