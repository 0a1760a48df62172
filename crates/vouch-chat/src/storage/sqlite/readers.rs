//! Read-only SQLite connections for queries, used on tokio's blocking threads.
//!
//! A query takes a free connection (opening one when none is free), runs, and puts the connection
//! back. In WAL mode readers never wait for the writer (checkpoints are PASSIVE, so they do not
//! wait for them either), and a read that starts after a commit has returned sees it.
//!
//! Two ways to run: [`Readers::run`] on tokio's blocking threads (one hand-off there and back,
//! at most [`MAX_READERS`] at once) for queries that may return many rows, and
//! [`Readers::lookup`] right on the calling task for lookups of one row by key, which take a few
//! microseconds of page-cache reads — less than the two thread switches of a hand-off, which were
//! the largest cost of creating a session (three such lookups each).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use super::super::{StoreError, StoreResult};

/// Most reads at once (and most reader connections kept).
pub const MAX_READERS: usize = 4;
/// Prepared statements each reader keeps.
const STATEMENT_CACHE: usize = 64;

#[derive(Clone)]
pub struct Readers {
    path: Arc<PathBuf>,
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    pub fn new(path: &Path) -> Readers {
        Readers {
            path: Arc::new(path.to_path_buf()),
            idle: Arc::new(Mutex::new(Vec::with_capacity(MAX_READERS))),
            permits: Arc::new(Semaphore::new(MAX_READERS)),
        }
    }

    /// Runs `query` on a reader connection.
    pub async fn run<T, F>(&self, query: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("the database is closed".into()))?;
        let readers = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            readers.with_connection(query)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("a database read stopped: {e}")))?
    }

    /// Runs a one-row lookup by key on the calling thread (see the module docs for why).
    pub fn lookup<T>(&self, query: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        if self.permits.is_closed() {
            return Err(StoreError::Unavailable("the database is closed".into()));
        }
        self.with_connection(query)
    }

    /// Runs `query` on an idle connection (or a new one) and keeps the connection for reuse.
    fn with_connection<T>(
        &self,
        query: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let conn = match self.take() {
            Some(c) => c,
            None => open(&self.path)?,
        };
        let result = query(&conn);
        self.put(conn);
        result
    }

    /// Closes the idle connections and refuses every later read.
    pub fn close(&self) {
        self.permits.close();
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn take(&self) -> Option<Connection> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn put(&self, conn: Connection) {
        if !self.permits.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
        }
    }
}

fn open(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}
