//! Scratch PostgreSQL databases and the services the tests find in the environment
//! (`VOUCH_TEST_DATABASE_URL`, `VOUCH_TEST_NATS_URL`; `VOUCH_TEST_REQUIRE_SERVICES` makes a
//! missing one an error instead of a skip).

use anyhow::Context;
use sqlx::Connection;
use uuid::Uuid;

/// The value of the service variable `name` (e.g. `VOUCH_TEST_DATABASE_URL`); None, with a note
/// on stderr that `what` was skipped, when it is not set. Panics instead when
/// `VOUCH_TEST_REQUIRE_SERVICES` is set.
pub fn service_url(name: &str, what: &str) -> Option<String> {
    if let Ok(url) = std::env::var(name) {
        return Some(url);
    }
    assert!(
        std::env::var_os("VOUCH_TEST_REQUIRE_SERVICES").is_none(),
        "{name} is not set: {what} skipped, but VOUCH_TEST_REQUIRE_SERVICES says it must run"
    );
    eprintln!("{name} is not set: {what} skipped");
    None
}

/// A uniquely named PostgreSQL database made for one test or bench run and dropped after it
/// (`DROP DATABASE … WITH (FORCE)`, so connections still open do not keep it alive).
pub struct ScratchDatabase {
    /// `postgres://…/vouch_scratch_<random>`.
    pub url: String,
    name: String,
    admin_url: String,
    dropped: bool,
}

impl ScratchDatabase {
    /// Creates `vouch_scratch_<random>` on the server `admin_url` names (a URL to any database
    /// there, e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
    pub async fn create(admin_url: &str) -> anyhow::Result<ScratchDatabase> {
        let mut url = url::Url::parse(admin_url).context("database URL")?;
        let name = format!("vouch_scratch_{}", Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(admin_url).await?;
        // The name is ours (hex digits), never input: safe to splice into DDL.
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let _ = admin.close().await;
        url.set_path(&format!("/{name}"));
        Ok(ScratchDatabase {
            url: url.to_string(),
            name,
            admin_url: admin_url.to_string(),
            dropped: false,
        })
    }

    /// A scratch database on the server `VOUCH_TEST_DATABASE_URL` names; None when it is not
    /// set (see [`service_url`]; `what` names what is skipped then).
    pub async fn from_env(what: &str) -> Option<ScratchDatabase> {
        let admin = service_url("VOUCH_TEST_DATABASE_URL", what)?;
        let db = ScratchDatabase::create(&admin)
            .await
            .expect("create a scratch database on VOUCH_TEST_DATABASE_URL");
        Some(db)
    }

    /// Drops the database now.
    pub async fn drop_now(mut self) -> anyhow::Result<()> {
        self.dropped = true;
        drop_database(&self.admin_url, &self.name).await
    }
}

async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    let _ = admin.close().await;
    Ok(())
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Drop may run inside a runtime: use a thread of its own with a small runtime.
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                if let Err(e) = rt.block_on(drop_database(&admin, &name)) {
                    eprintln!("could not drop scratch database {name}: {e}");
                }
            }
        });
        let _ = done.join();
    }
}
