//! `/token`'s one session read, run on the calling thread (SQLite back-end only).
//!
//! sqlx's SQLite driver runs every statement on a worker thread of its own connection: a query
//! is a channel send and a futex wake-up to that thread and another back, with a context switch
//! each way, which costs more CPU than the indexed lookup itself (the profile is in
//! docs/benchmarks.md). `/token` is the portal's hot path and needs just this one read, so it
//! runs here synchronously with rusqlite, on the same SQLite library and the same database file,
//! with no thread hand-off.
//!
//! This is **not a cache**: every call reads the committed database, so a logout, an expiry
//! sweep, or a session deleted by another process that shares the file (a second portal, an
//! admin command) is seen by the very next request, exactly as with the sqlx path. Writes and
//! every other query stay on sqlx. Connections are read-only (`SQLITE_OPEN_READ_ONLY` and
//! `query_only`), and never wait for a lock: when SQLite answers busy (rare in WAL mode: a
//! recovery or a truncating checkpoint) or anything else fails, the caller falls back to the
//! sqlx path, which has the busy timeout and reports errors as before.
//!
//! Blocking the async worker for the read is deliberate and cheap: the pages are in memory
//! (SQLite's page cache, or the OS page cache after a write), as the RSA signature that `/token`
//! also does inline on the same thread.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

use super::SessionRecord;

/// `/token`'s session read, in [`SessionRecord`]'s field order; the sqlx path of
/// [`super::sqlite::SqliteStore`] runs the same text.
pub(super) const SESSION_SQL: &str = "SELECT s.csrf_token, s.created_at, s.last_seen_at, u.email, \
     u.given_name, u.family_name, u.contact_id, u.phone, u.context_json \
     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?";

/// Idle connections kept for reuse. Each caller holds one only for the synchronous read, so
/// at most one per thread that serves requests is ever in use at once.
const MAX_IDLE: usize = 8;

pub(crate) struct SessionReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SessionReader {
    /// Opens one read-only connection to `path` (an existing, migrated database file) to
    /// check that the fast path works here; the caller uses sqlx alone when it does not.
    pub fn open(path: &Path) -> rusqlite::Result<SessionReader> {
        let reader = SessionReader {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        };
        let conn = reader.connect()?;
        conn.prepare_cached(SESSION_SQL)?;
        reader.put_back(conn);
        Ok(reader)
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Refuse any write even if a bug tried one; never sleep on a lock (see the module doc).
        conn.pragma_update(None, "query_only", true)?;
        conn.busy_timeout(std::time::Duration::ZERO)?;
        Ok(conn)
    }

    fn take(&self) -> rusqlite::Result<Connection> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => self.connect(),
        }
    }

    fn put_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// The session row joined with its user, read now from the committed database.
    pub fn session(&self, id_hash: &[u8; 32]) -> rusqlite::Result<Option<SessionRecord>> {
        let conn = self.take()?;
        let result = read(&conn, id_hash);
        // A connection whose read failed is dropped rather than reused.
        if result.is_ok() {
            self.put_back(conn);
        }
        result
    }
}

fn read(conn: &Connection, id_hash: &[u8; 32]) -> rusqlite::Result<Option<SessionRecord>> {
    let mut stmt = conn.prepare_cached(SESSION_SQL)?;
    let mut rows = stmt.query([&id_hash[..]])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    Ok(Some(SessionRecord {
        csrf_token: r.get(0)?,
        created_at: r.get(1)?,
        last_seen_at: r.get(2)?,
        email: r.get(3)?,
        given_name: r.get(4)?,
        family_name: r.get(5)?,
        contact_id: r.get(6)?,
        phone: r.get(7)?,
        context_json: r.get(8)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::sqlite::SqliteStore;
    use super::super::{Lifecycle, SessionStore, UserStore};
    use crate::users::{validate, NewUser};

    async fn store_at(dir: &std::path::Path) -> SqliteStore {
        let url = format!("sqlite://{}", dir.join("portal.db").display());
        SqliteStore::open(&url).await.expect("open the database")
    }

    /// A user and one session for them, written through sqlx; returns the session's id hash.
    async fn with_session(store: &SqliteStore) -> [u8; 32] {
        let user = validate(&NewUser {
            email: "alex@example.com".into(),
            given_name: "Alex".into(),
            family_name: "Doe".into(),
            contact_id: None,
            phone: Some("+1 555 0100".into()),
            context: serde_json::Map::new(),
            password: "unused here".into(),
        })
        .expect("valid user");
        let user = store.insert_user(&user, "$argon2id$not-used", 1_000).await;
        let id_hash = [7u8; 32];
        store
            .create_session(&id_hash, user.expect("inserted").id, "csrf", 1_000)
            .await
            .expect("session row");
        id_hash
    }

    #[tokio::test]
    async fn every_read_sees_the_committed_database_including_other_connections() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_at(dir.path()).await;
        let reader = store
            .session_reader
            .clone()
            .expect("a file database reads directly");
        let id_hash = with_session(&store).await;

        let found = reader.session(&id_hash).unwrap().expect("the new session");
        assert_eq!(
            (found.email.as_str(), found.last_seen_at),
            ("alex@example.com", 1_000)
        );
        assert_eq!(found.phone.as_deref(), Some("+1 555 0100"));
        assert!(reader.session(&[8u8; 32]).unwrap().is_none(), "unknown id");

        // A write through sqlx is seen by the very next read (nothing is remembered).
        store.touch_session(&id_hash, 1_060).await.unwrap();
        let found = reader.session(&id_hash).unwrap().expect("still there");
        assert_eq!(found.last_seen_at, 1_060);

        // Another "process" on the same file (its own pool) ends the session: gone at once.
        let other = store_at(dir.path()).await;
        other.delete_session(&id_hash).await.unwrap();
        assert!(
            reader.session(&id_hash).unwrap().is_none(),
            "deleted elsewhere"
        );
        // …and through the store's own entry point too.
        assert!(store.session(&id_hash).await.unwrap().is_none());
        other.close().await;
        store.close().await;
    }

    #[tokio::test]
    async fn reader_connections_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_at(dir.path()).await;
        let id_hash = with_session(&store).await;
        let reader = store.session_reader.clone().unwrap();
        let conn = reader.take().unwrap();
        assert!(conn.execute("DELETE FROM sessions", []).is_err());
        reader.put_back(conn);
        assert!(reader.session(&id_hash).unwrap().is_some());
        store.close().await;
    }

    #[tokio::test]
    async fn in_memory_databases_use_sqlx_alone() {
        let store = SqliteStore::open("sqlite::memory:").await.unwrap();
        assert!(store.session_reader.is_none());
        store.close().await;
    }
}
