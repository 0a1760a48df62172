//! The database's disk fills up: sends are answered with a clear error and never acknowledged,
//! nothing is corrupted, and everything works again once there is space.
//!
//! A full disk is simulated without root-only mounts: the chat process ignores `SIGXFSZ` and the
//! test lowers its `RLIMIT_FSIZE` to 0 with prlimit(2), so every write to a file fails with
//! `EFBIG` exactly as writes fail on a full disk (this works as root too, where file permissions
//! would not stop anything). Raising the limit again is "space returns".

use std::path::Path;

use serde_json::Value;
use vouch_testkit::ws::send_frame;

use crate::chat_process::{add_admin, messages_of, ChatProcess, Ws, LOAD_FLAGS};

/// Sets the soft `RLIMIT_FSIZE` of process `pid` (the hard limit stays unlimited).
fn set_file_size_limit(pid: u32, soft: libc::rlim_t) {
    let new = libc::rlimit {
        rlim_cur: soft,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit reads `new` and writes nothing (old limit pointer is null).
    let rc = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &new,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

async fn start_fillable(dir: &Path) -> ChatProcess {
    let mut cmd = ChatProcess::command(dir, LOAD_FLAGS);
    // SAFETY: only an async-signal-safe call between fork and exec. Ignoring SIGXFSZ makes a
    // write past RLIMIT_FSIZE fail with EFBIG instead of killing the process; the disposition
    // survives exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    ChatProcess::spawn(cmd).await
}

/// The reply to a send while the disk is full: an error naming the message, never an ack.
async fn refused(ws: &mut Ws, cid: &str) -> Value {
    assert!(ws.try_send(send_frame(cid, "while the disk is full")).await);
    let f = ws.next_reply().await;
    assert_eq!(f["type"], "error", "no ack without durable storage: {f}");
    assert_eq!(f["client_msg_id"], cid, "{f}");
    f
}

async fn integrity_check(db: &Path) {
    use sqlx::Row;
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .read_only(true);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .expect("open the database");
    let row = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .expect("integrity_check");
    let verdict: String = row.try_get(0).expect("verdict");
    assert_eq!(verdict, "ok");
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_sends_clearly_and_recovers_without_corruption() {
    const CUSTOMERS: usize = 3;
    let dir = tempfile::tempdir().expect("tempdir");
    add_admin(dir.path()).await;
    let mut chat = start_fillable(dir.path()).await;
    let admin = chat.login().await;
    let app_id = chat.create_widget(&admin).await;
    let mut customers = Vec::new();
    for k in 0..CUSTOMERS {
        let (token, id) = chat.session(&app_id).await;
        let mut ws = chat.customer_ws(&token).await;
        for i in 1..=5 {
            assert_eq!(ws.say(&format!("c{k}-before-{i}"), "fine").await, i);
        }
        customers.push((ws, id));
    }

    set_file_size_limit(chat.pid, 0);

    // Every send is refused clearly, from several sockets at once (one group commit fails).
    let mut tasks = Vec::new();
    for (k, (mut ws, id)) in customers.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 1..=3 {
                let f = refused(&mut ws, &format!("c{k}-during-{i}")).await;
                assert_eq!(f["error"], "storage_unavailable", "{f}");
                assert!(f["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("send it again")));
            }
            (ws, id)
        }));
    }
    let mut customers = Vec::new();
    for t in tasks {
        customers.push(t.await.expect("customer"));
    }
    // New sessions cannot be stored either: a clear 503, not a hang.
    let (s, v) = chat.session_raw(&app_id).await;
    assert_eq!(s, 503, "{v}: {}", chat.logs());
    assert_eq!(v["error"], "storage_unavailable", "{v}");
    // Reading still works: the history is intact and nothing refused shows up.
    for (_, id) in &customers {
        let stored = messages_of(&chat.conversation(&admin, id).await);
        assert_eq!(stored.len(), 5, "{id}");
    }
    let r = chat
        .http
        .get(chat.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);

    // Space returns: the widget's resends go through, gapless after what was stored.
    set_file_size_limit(chat.pid, libc::RLIM_INFINITY);
    for (k, (ws, id)) in customers.iter_mut().enumerate() {
        for i in 1..=3 {
            assert_eq!(
                ws.say(&format!("c{k}-during-{i}"), "resent").await,
                5 + i,
                "{id}"
            );
        }
        assert_eq!(ws.say(&format!("c{k}-after"), "new").await, 9, "{id}");
    }
    let (s, v) = chat.session_raw(&app_id).await;
    assert_eq!(s, 201, "{v}");

    // No corruption: the database checks clean and a restart serves everything.
    chat.kill().await;
    integrity_check(&dir.path().join("chat.db")).await;
    let chat = ChatProcess::start(dir.path(), LOAD_FLAGS).await;
    for (k, (_, id)) in customers.iter().enumerate() {
        let stored = messages_of(&chat.conversation(&admin, id).await);
        let seqs: Vec<i64> = stored.iter().map(|m| m.0).collect();
        assert_eq!(seqs, (1..=9).collect::<Vec<_>>(), "{id}");
        assert_eq!(stored[5].1, format!("c{k}-during-1"));
        assert_eq!(stored[8].1, format!("c{k}-after"));
    }
}
