//! Auto-assignment (on every trigger the design names) and the `queue` frames that tell waiting
//! customers their position and the estimated wait.

use super::*;

/// A `queue` frame: position from 1, the estimate in seconds or null.
pub(crate) fn queue_frame(position: usize, estimated_wait_secs: Option<u64>) -> Frame {
    Frame::from(
        serde_json::json!({
            "type": "queue",
            "position": position,
            "estimated_wait_secs": estimated_wait_secs,
        })
        .to_string(),
    )
}

/// The wait estimate of `position`: the queue's recent rate of assignment (the time between
/// its last assignments, within the last hour) times the position; `None` without two.
fn estimate(samples: Option<&VecDeque<Millis>>, position: usize, now: Millis) -> Option<u64> {
    let recent: Vec<Millis> = samples?
        .iter()
        .copied()
        .filter(|t| now - t <= RATE_WINDOW_MS)
        .collect();
    if recent.len() < 2 {
        return None;
    }
    let span = recent.last()? - recent.first()?;
    let per = span as f64 / (recent.len() - 1) as f64 / 1000.0;
    Some((per * position as f64).ceil().max(1.0) as u64)
}

/// Sends each waiting conversation of the queues named its position when it changed since this
/// node last told it (a socket learns its first position on connect), coalescing bursts.
async fn position_worker(
    store: Arc<dyn Store>,
    hub: Hub,
    rates: Arc<Mutex<HashMap<Uuid, VecDeque<Millis>>>>,
    mut rx: mpsc::UnboundedReceiver<Uuid>,
) {
    // Per queue, the position last told to each of its waiting conversations.
    let mut told: HashMap<Uuid, HashMap<Uuid, usize>> = HashMap::new();
    while let Some(first) = rx.recv().await {
        tokio::time::sleep(POSITION_COALESCE).await;
        let mut queues = HashSet::from([first]);
        while let Ok(q) = rx.try_recv() {
            queues.insert(q);
        }
        for q in queues {
            let waiting = match store.waiting_in_queue(q, POSITIONS_TOLD).await {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!(error = %e, "reading a queue's waiting list failed");
                    continue;
                }
            };
            let now = now_millis();
            let samples = rates
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&q)
                .cloned();
            let before = told.remove(&q).unwrap_or_default();
            let mut now_told = HashMap::with_capacity(waiting.len());
            for (i, id) in waiting.iter().enumerate() {
                let position = i + 1;
                if before.get(id) != Some(&position) {
                    let secs = estimate(samples.as_ref(), position, now);
                    hub.publish_conversation(*id, queue_frame(position, secs));
                }
                now_told.insert(*id, position);
            }
            if !now_told.is_empty() {
                told.insert(q, now_told);
            }
        }
    }
}

impl Chat {
    // --- auto-assignment ---

    /// Assigns every waiting conversation that can be assigned now (bounded per run). Failures
    /// are logged: the next trigger tries again.
    pub(crate) async fn auto_assign(&self) {
        for _ in 0..ASSIGN_BATCH {
            match self.store.anything_to_assign().await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "auto-assignment could not read the queues");
                    return;
                }
            }
            match self.store.assign_next(now_millis()).await {
                Ok(Some(a)) => self.assigned(a).await,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "auto-assignment failed");
                    return;
                }
            }
        }
    }

    /// What an accept publishes, for an auto-assignment.
    async fn assigned(&self, a: Assigned) {
        let id = a.conversation.id;
        tracing::info!(conversation = %id, agent = %a.agent.id, "conversation auto-assigned");
        {
            let mut rates = self
                .desk
                .assignments
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let q = rates.entry(a.conversation.queue_id).or_default();
            q.push_back(a.message.sent_at);
            while q.len() > RATE_SAMPLES {
                q.pop_front();
            }
        }
        self.metrics.message_stored(Sender::System);
        self.metrics
            .conversation_transition(Some(ConversationState::Waiting), a.conversation.state);
        self.publish_message(&a.message, Some(a.agent.id));
        self.hub
            .publish_conversation(id, frames::conversation_state(id, a.conversation.state));
        match self.conversation_summary(&a.conversation).await {
            Ok(summary) => self
                .hub
                .publish_agents(Audience::All, frames::conversation_for_agents(&summary)),
            Err(e) => tracing::warn!(error = %e, "reading an assigned conversation failed"),
        }
        self.queue_changed(a.conversation.queue_id);
    }

    // --- queue positions ---

    /// Tells the waiting customers of `queue` their positions (soon, once per burst).
    pub(crate) fn queue_changed(&self, queue: Uuid) {
        let tx = self.desk.positions.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(position_worker(
                self.store.clone(),
                self.hub.clone(),
                self.desk.assignments.clone(),
                rx,
            ));
            tx
        });
        let _ = tx.send(queue);
    }

    /// The `queue` frame of a waiting conversation (for its socket on connect); `None` once
    /// it is not waiting.
    pub(crate) async fn queue_position(
        &self,
        conversation: Uuid,
    ) -> Result<Option<Frame>, ChatError> {
        let c = self.conversation(conversation).await?;
        if c.state != ConversationState::Waiting {
            return Ok(None);
        }
        let waiting = self
            .store
            .waiting_in_queue(c.queue_id, POSITIONS_TOLD)
            .await?;
        let Some(i) = waiting.iter().position(|id| *id == conversation) else {
            return Ok(None);
        };
        let samples = self
            .desk
            .assignments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&c.queue_id)
            .cloned();
        Ok(Some(queue_frame(
            i + 1,
            estimate(samples.as_ref(), i + 1, now_millis()),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_need_two_recent_assignments() {
        let now = 10_000_000;
        assert_eq!(estimate(None, 1, now), None);
        let one: VecDeque<Millis> = [now - 1000].into();
        assert_eq!(estimate(Some(&one), 1, now), None);
        let three: VecDeque<Millis> = [now - 60_000, now - 30_000, now].into();
        assert_eq!(estimate(Some(&three), 2, now), Some(60));
        let old: VecDeque<Millis> = [now - RATE_WINDOW_MS - 2, now - RATE_WINDOW_MS - 1].into();
        assert_eq!(estimate(Some(&old), 1, now), None);
    }
}
