//! The admins' summary report for a period: conversations created in it, how many verified and
//! ended, the median wait (created → an agent took it) and the median first response (created
//! → the first agent message), and the ratings' average.

use serde::Serialize;

use super::Chat;
use crate::error::ChatError;
use crate::storage::{rfc3339, Millis, ReportRow};

/// Longest period one report covers.
pub const MAX_PERIOD_MS: Millis = 366 * 24 * 3600 * 1000;
/// The period when none is given: the last 30 days.
pub const DEFAULT_PERIOD_MS: Millis = 30 * 24 * 3600 * 1000;

/// `GET /api/v1/admin/reports/summary`
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReportSummary {
    /// The period's start (inclusive), RFC 3339.
    pub from: String,
    /// The period's end (exclusive), RFC 3339.
    pub to: String,
    /// Conversations created in the period.
    pub conversations: u64,
    /// Of them, verified.
    pub verified: u64,
    /// Of them, ended.
    pub ended: u64,
    /// Median seconds from a conversation's start until an agent took it (of those taken).
    #[schema(required = true)]
    pub median_wait_secs: Option<f64>,
    /// Median seconds from a conversation's start until the first agent message (of those with one).
    #[schema(required = true)]
    pub median_first_response_secs: Option<f64>,
    /// Average rating of the period's conversations (of those rated).
    #[schema(required = true)]
    pub rating_avg: Option<f64>,
    pub rating_count: u64,
    /// Conversations per queue (the queue each is in now), most first.
    pub by_queue: Vec<QueueCount>,
}

/// One queue's share of the period's conversations.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QueueCount {
    pub queue_id: uuid::Uuid,
    pub conversations: u64,
}

/// The median of `values` (the mean of the two middle ones for an even count); `None` for none.
pub fn median(mut values: Vec<i64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2] as f64
    } else {
        (values[n / 2 - 1] as f64 + values[n / 2] as f64) / 2.0
    })
}

/// The summary of these rows (one per conversation of the period).
pub fn summarize(from: Millis, to: Millis, rows: &[ReportRow]) -> ReportSummary {
    let secs = |ms: Option<f64>| ms.map(|v| v / 1000.0);
    let waits = rows
        .iter()
        .filter_map(|r| r.accepted_at.map(|a| (a - r.created_at).max(0)))
        .collect();
    let firsts = rows
        .iter()
        .filter_map(|r| r.first_agent_message_at.map(|a| (a - r.created_at).max(0)))
        .collect();
    let scores: Vec<i64> = rows.iter().filter_map(|r| r.rating).collect();
    ReportSummary {
        from: rfc3339(from),
        to: rfc3339(to),
        conversations: rows.len() as u64,
        verified: rows.iter().filter(|r| r.verified).count() as u64,
        ended: rows.iter().filter(|r| r.ended).count() as u64,
        median_wait_secs: secs(median(waits)),
        median_first_response_secs: secs(median(firsts)),
        rating_avg: (!scores.is_empty())
            .then(|| scores.iter().sum::<i64>() as f64 / scores.len() as f64),
        rating_count: scores.len() as u64,
        by_queue: by_queue(rows),
    }
}

/// Conversations per queue, most first (ties by queue id, so the order is stable).
fn by_queue(rows: &[ReportRow]) -> Vec<QueueCount> {
    let mut counts = std::collections::BTreeMap::<uuid::Uuid, u64>::new();
    for r in rows {
        *counts.entry(r.queue_id).or_default() += 1;
    }
    let mut out: Vec<QueueCount> = counts
        .into_iter()
        .map(|(queue_id, conversations)| QueueCount {
            queue_id,
            conversations,
        })
        .collect();
    out.sort_by_key(|q| std::cmp::Reverse(q.conversations));
    out
}

impl Chat {
    /// The summary of conversations created in `[from, to)` (at most [`MAX_PERIOD_MS`]).
    pub async fn report_summary(
        &self,
        from: Millis,
        to: Millis,
    ) -> Result<ReportSummary, ChatError> {
        if to <= from {
            return Err(ChatError::validation("to", "to must be after from"));
        }
        if to - from > MAX_PERIOD_MS {
            return Err(ChatError::validation(
                "from",
                "a report covers at most 366 days",
            ));
        }
        let rows = self.store.report_rows(from, to).await?;
        Ok(summarize(from, to, &rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_even_and_none() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![7]), Some(7.0));
        assert_eq!(median(vec![30, 10, 20]), Some(20.0));
        assert_eq!(median(vec![40, 10, 30, 20]), Some(25.0));
        assert_eq!(median(vec![1, 2]), Some(1.5));
    }

    #[test]
    fn summary_counts_and_medians() {
        let row = |created: i64, accepted: Option<i64>, first: Option<i64>, rating: Option<i64>| {
            ReportRow {
                created_at: created,
                verified: created % 2 == 0,
                ended: rating.is_some(),
                accepted_at: accepted,
                first_agent_message_at: first,
                rating,
                queue_id: crate::storage::GENERAL_QUEUE_ID,
            }
        };
        let rows = vec![
            row(0, Some(10_000), Some(15_000), Some(5)),
            row(2, Some(30_002), None, Some(2)),
            row(3, None, None, None),
            row(4, Some(60_004), Some(90_004), None),
        ];
        let s = summarize(0, 100, &rows);
        assert_eq!((s.conversations, s.verified, s.ended), (4, 3, 2));
        assert_eq!(s.median_wait_secs, Some(30.0));
        assert_eq!(s.median_first_response_secs, Some(52.5));
        assert_eq!((s.rating_avg, s.rating_count), (Some(3.5), 2));
        assert_eq!(s.by_queue.len(), 1, "every row is in General");
        assert_eq!(s.by_queue[0].queue_id, crate::storage::GENERAL_QUEUE_ID);
        assert_eq!(s.by_queue[0].conversations, s.conversations);
    }
}
