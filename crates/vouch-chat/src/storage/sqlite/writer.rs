//! The SQLite writer: one connection on its own OS thread, every write applied by GROUP COMMIT.
//!
//! A caller hands a write (a closure over the connection) to [`Writer::run`] and waits. The
//! thread takes every write queued meanwhile (up to [`MAX_BATCH`], from any number of
//! conversations and callers; when busy, after a short pause, [`COMMIT_DELAY`]), applies them in
//! one `BEGIN IMMEDIATE` transaction, each inside its own savepoint, commits once — one fsync of
//! the WAL for the whole batch — and only then answers each waiter. Durability is unchanged (an
//! answer comes after the fsync that covers its write, so an `ack` still means "on disk");
//! throughput no longer pays one fsync per write.
//!
//! Why a hand-made thread on `rusqlite` rather than sqlx's SQLite driver: sqlx runs each
//! statement on its own worker thread and hands every statement and row across threads; a message
//! append is four statements, so the hand-offs (not SQLite) were most of the server's CPU per
//! message. Here a whole batch runs on one thread with cached prepared statements, and a write
//! crosses threads twice (queue in, answer out) however many statements it runs.
//!
//! The WAL is checkpointed (copied into the database file) by a second connection on a thread of
//! its own every [`CHECKPOINT_EVERY`], not by the writer inside a commit as SQLite does by default:
//! an automatic checkpoint every 1,000 WAL pages stalled the writer — and every ack waiting on it —
//! for a checkpoint's writes and fsync many times a second under load. The writer still
//! checkpoints by itself past [`FALLBACK_CHECKPOINT_PAGES`], so the WAL stays bounded even if the
//! checkpointer cannot keep up.
//!
//! Each write runs in a savepoint, so a write that refuses (`NotFound`, `Conflict`) or fails on its
//! own (a constraint) is rolled back alone and its neighbours still commit. A failure of the
//! transaction itself (disk full, I/O error, read-only file) fails every write of the batch with
//! [`StoreError::Unavailable`]: nothing of it was stored, and each may be tried again.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use super::super::{StoreError, StoreResult};

/// Most writes one group commit applies in a transaction.
pub const MAX_BATCH: usize = 512;
/// Writes that may wait for the writer before callers wait to enqueue (back-pressure).
const WRITE_QUEUE: usize = 8192;
/// Group commit's gathering pause under load, as PostgreSQL's `commit_delay` with
/// `commit_siblings`: when the previous batch held at least [`COMMIT_SIBLINGS`] writes, the writer
/// waits this long after the next write arrives, so more join its batch and share its fsync,
/// whose CPU cost does not depend on the batch's size; it trades a little latency for less CPU
/// per message (figures: `vouch bench chat` in docs/benchmarks.md). Under light load (smaller
/// batches) there is no pause at all.
const COMMIT_DELAY: Duration = Duration::from_micros(500);
/// See [`COMMIT_DELAY`].
const COMMIT_SIBLINGS: usize = 4;
/// Prepared statements the connection keeps (the hot writes use about a dozen).
const STATEMENT_CACHE: usize = 64;
/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// WAL size (pages) past which the writer checkpoints by itself (SQLite's default is 1,000).
const FALLBACK_CHECKPOINT_PAGES: i64 = 20_000;

/// One queued write: applied inside the batch's transaction, answered after its commit.
trait Job: Send {
    /// Runs the write. `Ok(true)`: keep it; `Ok(false)`: it refused or failed alone (its savepoint
    /// is rolled back, the batch goes on); `Err`: the transaction itself failed.
    fn apply(&mut self, conn: &Connection) -> Result<bool, StoreError>;
    /// Sends the write's outcome (after the commit, or after its savepoint was rolled back).
    fn answer(self: Box<Self>);
    /// Sends `e`: the batch did not commit.
    fn fail(self: Box<Self>, e: StoreError);
}

/// A write given as a closure, and where its outcome goes.
struct Closure<T, F> {
    write: Option<F>,
    outcome: Option<StoreResult<T>>,
    done: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job for Closure<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> StoreResult<T> + Send,
{
    fn apply(&mut self, conn: &Connection) -> Result<bool, StoreError> {
        let Some(write) = self.write.take() else {
            return Ok(false);
        };
        match write(conn) {
            Ok(v) => {
                self.outcome = Some(Ok(v));
                Ok(true)
            }
            Err(e) if breaks_transaction(&e) => Err(e),
            Err(e) => {
                self.outcome = Some(Err(e));
                Ok(false)
            }
        }
    }

    fn answer(self: Box<Self>) {
        let outcome = self
            .outcome
            .unwrap_or_else(|| Err(StoreError::Unavailable("the write was not applied".into())));
        let _ = self.done.send(outcome);
    }

    fn fail(self: Box<Self>, e: StoreError) {
        let _ = self.done.send(Err(e));
    }
}

/// Whether a write's error means the transaction cannot go on (rather than the write failing
/// alone): storage trouble, which is what [`StoreError::Unavailable`] says.
fn breaks_transaction(e: &StoreError) -> bool {
    matches!(e, StoreError::Unavailable(_))
}

/// Handle to the writer thread. The thread ends (closing its connection) when the last handle is
/// dropped.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
    /// Set by [`Writer::close`]: every later write is refused.
    closed: Arc<AtomicBool>,
    /// Transactions committed so far (each a batch of writes), for the metrics.
    commits: Arc<AtomicU64>,
}

impl Writer {
    /// Opens the database file at `path` (which must exist: sqlx created and migrated it) with
    /// the service's settings, and starts the writer thread.
    pub fn start(path: &Path) -> StoreResult<Writer> {
        let conn = open(path)?;
        conn.pragma_update(None, "wal_autocheckpoint", FALLBACK_CHECKPOINT_PAGES)?;
        let checkpointer = open(path)?;
        // The checkpointer runs while the writer does: it stops when this sender, owned by the
        // writer thread, is dropped.
        let (writer_alive, alive) = std::sync::mpsc::channel::<()>();
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>(WRITE_QUEUE);
        let commits = Arc::new(AtomicU64::new(0));
        let counted = commits.clone();
        let thread_error = |e: std::io::Error| {
            StoreError::Unavailable(format!("starting the database writer: {e}"))
        };
        std::thread::Builder::new()
            .name("vouch-sqlite-ckpt".into())
            .spawn(move || checkpoint_periodically(checkpointer, alive))
            .map_err(thread_error)?;
        std::thread::Builder::new()
            .name("vouch-sqlite-writer".into())
            .spawn(move || {
                let _alive = writer_alive;
                group_commit(conn, queue, &counted)
            })
            .map_err(thread_error)?;
        Ok(Writer {
            jobs,
            closed: Arc::new(AtomicBool::new(false)),
            commits,
        })
    }

    /// Refuses every later write (for [`crate::ChatService::close_database`]).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// Queues `write` for the next group commit and waits until it is committed (its value) or
    /// refused/failed (its error). `write` runs on the writer thread inside a savepoint: it must
    /// not begin, commit or roll back transactions itself.
    pub async fn run<T, F>(&self, write: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.queue(write).await?.await
    }

    /// Queues `write` for a group commit and returns once it is queued, with the future of its
    /// outcome ([`Writer::run`] without the wait for the commit). Writes queued one after another
    /// are applied, committed and answered in that order (one FIFO queue, one thread).
    pub async fn queue<T, F>(
        &self,
        write: F,
    ) -> StoreResult<impl std::future::Future<Output = StoreResult<T>> + Send + 'static>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("the database is closed".into()));
        }
        let (done, outcome) = oneshot::channel();
        let job = Box::new(Closure {
            write: Some(write),
            outcome: None,
            done,
        });
        self.jobs.send(job).await.map_err(|_| writer_stopped())?;
        Ok(async move { outcome.await.map_err(|_| writer_stopped())? })
    }

    /// Transactions committed so far.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }
}

fn writer_stopped() -> StoreError {
    StoreError::Unavailable("the database writer has stopped".into())
}

fn open(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // The same settings as the sqlx pools: WAL, fsync on every commit, foreign keys enforced, and
    // a wait (not an error) while another process or connection holds the write lock.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// The writer thread: one batch per turn, every waiter answered after its batch's commit. While a
/// batch commits, the next one queues; so batches grow with the load and the fsync is shared. A
/// waiter that went away (socket closed) is not a problem: its client resends with the same
/// `client_msg_id` and gets the stored message back.
fn group_commit(conn: Connection, mut queue: mpsc::Receiver<Box<dyn Job>>, commits: &AtomicU64) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    // Whether the last batch was big enough to pause for the next one (see COMMIT_DELAY).
    let mut under_load = false;
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        if under_load {
            std::thread::sleep(COMMIT_DELAY);
        }
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        under_load = batch.len() >= COMMIT_SIBLINGS;
        match write_batch(&conn, &mut batch) {
            Ok(()) => {
                commits.fetch_add(1, Ordering::Relaxed);
                batch.drain(..).for_each(|job| job.answer());
            }
            Err(e) => {
                tracing::warn!(error = %e, size = batch.len(), "a group commit failed; none of its writes was stored");
                let message = e.to_string();
                for job in batch.drain(..) {
                    job.fail(StoreError::Unavailable(message.clone()));
                }
            }
        }
    }
}

/// Copies the WAL into the database file every [`CHECKPOINT_EVERY`] (PASSIVE: never waits for
/// the writer or readers, so it never holds up an ack) until the writer stops.
fn checkpoint_periodically(conn: Connection, writer_alive: std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    while let Err(RecvTimeoutError::Timeout) = writer_alive.recv_timeout(CHECKPOINT_EVERY) {
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        if let Err(e) = done {
            tracing::warn!(error = %e, "checkpointing the database's WAL failed");
        }
    }
}

/// Applies `batch` in one transaction, each write in a savepoint, and commits once. `Err` when the
/// transaction failed: then nothing of the batch is stored.
fn write_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> StoreResult<()> {
    let result = (|| -> StoreResult<()> {
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        for job in batch.iter_mut() {
            conn.prepare_cached("SAVEPOINT job")?.execute([])?;
            if !job.apply(conn)? {
                conn.prepare_cached("ROLLBACK TO job")?.execute([])?;
            }
            conn.prepare_cached("RELEASE job")?.execute([])?;
        }
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    })();
    if result.is_err() && !conn.is_autocommit() {
        // A failed COMMIT on an I/O error may have rolled back already; otherwise undo it here.
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

impl From<rusqlite::Error> for StoreError {
    /// Storage trouble (disk full, I/O error, read-only, busy, cannot open) becomes
    /// [`StoreError::Unavailable`]; the rest (constraints, bad SQL) is a database error.
    fn from(e: rusqlite::Error) -> Self {
        let trouble = matches!(
            e.sqlite_error_code(),
            Some(
                ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::ReadOnly
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::DiskFull
                    | ErrorCode::CannotOpen
            )
        );
        if trouble {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Engine(e.to_string())
        }
    }
}

/// Whether `e` is a unique-constraint violation.
pub fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
