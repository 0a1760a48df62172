//! Full-text search for agents over contacts (names, email, external id, username) and message
//! text. SQLite answers from FTS5 tables kept by triggers, PostgreSQL from generated `tsvector`
//! columns with GIN indexes (migration `20261203130000_offline_search`).
//!
//! The caller hands over plain words ([`SearchTerms`]); each back-end turns them into its own
//! query syntax in one place, quoting every word, so no user text is ever read as an operator.
//! Every word must match (AND), whole words, case-insensitively.

use async_trait::async_trait;

use super::{Contact, Conversation, StoreResult};

/// Most words a query is made of (the rest are ignored).
pub const MAX_TERMS: usize = 16;
/// Most matching messages read, newest first, to find the conversations of a search: a word in
/// every message of a large history costs this many rows, not the whole history. Measured on
/// SQLite, debug build, 200,000 messages, a word in 28,000 of them: 0.5–0.9 s when every match
/// was grouped by conversation, 0.06–0.2 s this way (a rare word: under 0.03 s either way).
pub const MAX_SCANNED: u32 = 5000;

/// The first `limit` distinct conversations of (conversation, text) rows, newest first.
pub(crate) fn distinct_newest<K: Eq + std::hash::Hash + Clone>(
    rows: impl IntoIterator<Item = (K, String)>,
    limit: usize,
) -> Vec<(K, String)> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (k, text) in rows {
        if out.len() == limit {
            break;
        }
        if seen.insert(k.clone()) {
            out.push((k, text));
        }
    }
    out
}

/// Message matches and note matches (each `(conversation, text, when)`), newest first as one
/// list: a conversation is found by its newest message or internal note holding the words.
pub(crate) fn newest_first<K>(
    messages: Vec<(K, String, i64)>,
    notes: Vec<(K, String, i64)>,
) -> Vec<(K, String)> {
    let mut all: Vec<_> = messages.into_iter().chain(notes).collect();
    // Stable: matches of the same millisecond keep each list's own (newest first) order.
    all.sort_by_key(|(_, _, at)| std::cmp::Reverse(*at));
    all.into_iter().map(|(k, text, _)| (k, text)).collect()
}

/// The words of a search, each with at least one letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

impl SearchTerms {
    /// The words of `q` (split on whitespace; words without a letter or digit dropped).
    pub fn of(q: &str) -> SearchTerms {
        SearchTerms(
            q.split_whitespace()
                .filter(|w| w.chars().any(char::is_alphanumeric))
                .take(MAX_TERMS)
                .map(str::to_string)
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// FTS5: each word a quoted string (`"` doubled inside), which FTS5 tokenizes as a phrase;
    /// phrases side by side must all match.
    pub fn fts5(&self) -> String {
        self.0
            .iter()
            .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// PostgreSQL: the words as plain text for `plainto_tsquery`, which reads no operators.
    pub fn plain(&self) -> String {
        self.0.join(" ")
    }
}

/// A conversation with the text of its newest matching message.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationHit {
    pub conversation: Conversation,
    pub text: String,
}

/// Searching.
#[async_trait]
pub trait SearchStore: Send + Sync + 'static {
    /// Contacts whose names, email, external id or username hold every word; most recently
    /// seen first; at most `limit`.
    async fn search_contacts(&self, q: &SearchTerms, limit: u32) -> StoreResult<Vec<Contact>>;
    /// Conversations with a customer or agent message, or an internal note, holding every word,
    /// by their newest such message or note, newest first; at most `limit`.
    async fn search_conversations(
        &self,
        q: &SearchTerms,
        limit: u32,
    ) -> StoreResult<Vec<ConversationHit>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_never_operators() {
        let t = SearchTerms::of("  alex  AND \"x\" NEAR(a b) -- *  ");
        assert_eq!(t.fts5(), r#""alex" "AND" """x""" "NEAR(a" "b)""#);
        assert_eq!(t.plain(), "alex AND \"x\" NEAR(a b)");
        assert!(SearchTerms::of(" -- ** \"\" ").is_empty());
        assert_eq!(SearchTerms::of(&"w ".repeat(100)).0.len(), MAX_TERMS);
    }
}
