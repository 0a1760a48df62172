//! PostgreSQL's report query.

use async_trait::async_trait;

use super::super::reports::{ReportRow, ReportStore, REPORT_SQL};
use super::super::{Millis, StoreResult};
use super::steps::all;
use super::PgStore;

#[async_trait]
impl ReportStore for PgStore {
    async fn report_rows(&self, from: Millis, to: Millis) -> StoreResult<Vec<ReportRow>> {
        let sql = REPORT_SQL
            .replace("{P1}", "$1")
            .replace("{P2}", "$2")
            .replace("r.score", "r.score::BIGINT");
        all(sqlx::query(&sql)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?)
    }
}
