//! SQLite's report query.

use async_trait::async_trait;
use rusqlite::params;

use super::super::reports::{ReportRow, ReportStore, REPORT_SQL};
use super::super::{Millis, StoreResult};
use super::steps::query_all;
use super::SqliteStore;

#[async_trait]
impl ReportStore for SqliteStore {
    async fn report_rows(&self, from: Millis, to: Millis) -> StoreResult<Vec<ReportRow>> {
        self.read(move |c| {
            let sql = REPORT_SQL.replace("{P1}", "?").replace("{P2}", "?");
            query_all(c, &sql, params![from, to])
        })
        .await
    }
}
