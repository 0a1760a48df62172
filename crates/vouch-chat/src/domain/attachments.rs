//! Attachments: what an upload may be (its type sniffed from its bytes, never taken from the
//! name or the declared type alone; its size; its name made safe), who may upload into a
//! conversation, and who may download.
//!
//! Sniffing is written by hand on purpose: six fixed signatures (PNG, JPEG, GIF, WebP, PDF) and
//! a UTF-8 check are a dozen lines, and a general detector would accept many types we refuse.

use bytes::Bytes;
use uuid::Uuid;

use super::Chat;
use crate::domain::sessions::SessionContext;
use crate::error::ChatError;
use crate::storage::{
    now_millis, Agent, Attachment, AttachmentMeta, ConversationState, Sender, StoreError,
};

/// Longest stored file name, in characters.
pub const MAX_FILENAME_CHARS: usize = 200;
/// Most attachments one message may carry.
pub const MAX_PER_MESSAGE: usize = 10;
/// Uploads a conversation's customer (or agent) may make a minute (and at once): a bound on
/// how fast one conversation can fill the disk.
pub const UPLOADS_PER_MINUTE: u32 = 30;

/// What a multipart upload brought: the `file` part's name, declared type and bytes.
#[derive(Debug, Clone)]
pub struct Upload {
    pub filename: Option<String>,
    pub declared_type: Option<String>,
    pub data: Bytes,
}

/// The type of `data` by its leading bytes: PNG, JPEG, GIF, WebP, PDF or UTF-8 plain text
/// (without NULs or other control characters, and not markup a browser would render as a
/// page); `None` for anything else.
pub fn sniff(data: &[u8]) -> Option<&'static str> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if data.starts_with(PNG) {
        return Some("image/png");
    }
    if data.starts_with(b"\xff\xd8\xff") {
        return Some("image/jpeg");
    }
    if data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a") {
        return Some("image/gif");
    }
    if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if data.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    let text = std::str::from_utf8(data).ok()?;
    let controls = text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}'));
    if controls || looks_like_markup(text) {
        return None;
    }
    Some("text/plain; charset=utf-8")
}

/// Whether text starts like a document a browser would render (HTML, SVG, XML), the patterns
/// of the WHATWG MIME sniffing standard's HTML rule.
fn looks_like_markup(text: &str) -> bool {
    let head: String = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    [
        "<!doctype",
        "<html",
        "<head",
        "<body",
        "<script",
        "<iframe",
        "<svg",
        "<?xml",
        "<title",
        "<style",
        "<div",
        "<a ",
        "<img",
        "<table",
        "<p>",
        "<p ",
        "<!--",
        "<object",
        "<embed",
        "<br",
        "<h1",
        "<font",
    ]
    .iter()
    .any(|p| head.starts_with(p))
}

/// Whether a declared type (the part's `Content-Type`) agrees with the sniffed one. No
/// declaration and `application/octet-stream` (what browsers send for an unknown extension)
/// leave the choice to the bytes.
pub fn declared_agrees(declared: Option<&str>, sniffed: &str) -> bool {
    let Some(declared) = declared else {
        return true;
    };
    let essence = |t: &str| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    let d = essence(declared);
    let s = essence(sniffed);
    d.is_empty()
        || d == "application/octet-stream"
        || d == s
        || (s == "image/jpeg" && matches!(d.as_str(), "image/jpg" | "image/pjpeg"))
        || (s == "text/plain" && matches!(d.as_str(), "text/csv" | "text/markdown"))
}

/// A file name safe to store and to send back in `Content-Disposition`: the last path
/// component (so `../../x` is `x`), without control characters, quotes or backslashes, no
/// leading dots, at most [`MAX_FILENAME_CHARS`]; `attachment` when nothing is left.
pub fn safe_filename(name: Option<&str>) -> String {
    let name = name.unwrap_or("");
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | '/'))
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let short: String = trimmed.chars().take(MAX_FILENAME_CHARS).collect();
    if short.is_empty() {
        "attachment".to_string()
    } else {
        short
    }
}

impl Chat {
    /// Checks an upload and stores it (durably) into `conversation_id` for `sender`.
    async fn store_upload(
        &self,
        conversation_id: Uuid,
        sender: Sender,
        agent_id: Option<Uuid>,
        up: Upload,
    ) -> Result<AttachmentMeta, ChatError> {
        if !self.upload_limiter.check(&(conversation_id, sender)) {
            return Err(ChatError::RateLimited);
        }
        let max = self.limits.max_attachment_bytes;
        if up.data.len() > max {
            return Err(ChatError::TooLarge { max });
        }
        if up.data.is_empty() {
            return Err(ChatError::validation("file", "the file is empty"));
        }
        let Some(sniffed) = sniff(&up.data) else {
            return Err(ChatError::UnsupportedMediaType(
                "this kind of file cannot be sent: PNG, JPEG, GIF, WebP, PDF or plain UTF-8 text only"
                    .into(),
            ));
        };
        if !declared_agrees(up.declared_type.as_deref(), sniffed) {
            return Err(ChatError::UnsupportedMediaType(format!(
                "the file is declared as {} but its content is {sniffed}",
                up.declared_type.as_deref().unwrap_or("")
            )));
        }
        let a = Attachment {
            id: Uuid::new_v4(),
            conversation_id,
            sender,
            agent_id,
            filename: safe_filename(up.filename.as_deref()),
            content_type: sniffed.to_string(),
            size: up.data.len() as i64,
            created_at: now_millis(),
            message_seq: None,
        };
        self.store
            .insert_attachment(&a, up.data)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ChatError::no_such_conversation(),
                e => e.into(),
            })?;
        tracing::info!(attachment = %a.id, conversation = %conversation_id, size = a.size, "attachment stored");
        Ok(a.meta())
    }

    /// A customer's upload into the session's conversation (not after it ended).
    pub async fn customer_upload(
        &self,
        ctx: &SessionContext,
        up: Upload,
    ) -> Result<AttachmentMeta, ChatError> {
        let conv = self.conversation(ctx.conversation_id).await?;
        if conv.state == ConversationState::Ended {
            return Err(ChatError::ConversationEnded);
        }
        self.store_upload(conv.id, Sender::Customer, None, up).await
    }

    /// An agent's upload: only into a conversation assigned to them that has not ended.
    pub async fn agent_upload(
        &self,
        agent: &Agent,
        conversation_id: Uuid,
        up: Upload,
    ) -> Result<AttachmentMeta, ChatError> {
        let conv = self.conversation(conversation_id).await?;
        if conv.state == ConversationState::Ended {
            return Err(ChatError::ConversationEnded);
        }
        if conv.agent_id != Some(agent.id) {
            return Err(ChatError::Forbidden(
                "only the agent who accepted this conversation may attach files to it".into(),
            ));
        }
        self.store_upload(conv.id, Sender::Agent, Some(agent.id), up)
            .await
    }

    /// An attachment and its bytes for the customer of a session: one of its conversation that
    /// the customer uploaded or that a message carries. Anything else is `NotFound` (whether it
    /// exists is not told).
    pub async fn attachment_for_customer(
        &self,
        ctx: &SessionContext,
        id: Uuid,
    ) -> Result<(Attachment, Vec<u8>), ChatError> {
        let a = self
            .store
            .get_attachment(id)
            .await?
            .filter(|a| {
                a.conversation_id == ctx.conversation_id
                    && (a.sender == Sender::Customer || a.message_seq.is_some())
            })
            .ok_or(ChatError::NotFound("attachment"))?;
        let data = self.attachment_bytes(id).await?;
        Ok((a, data))
    }

    /// An attachment and its bytes for an agent (any agent may read any conversation).
    pub async fn attachment_for_agent(&self, id: Uuid) -> Result<(Attachment, Vec<u8>), ChatError> {
        let a = self
            .store
            .get_attachment(id)
            .await?
            .ok_or(ChatError::NotFound("attachment"))?;
        let data = self.attachment_bytes(id).await?;
        Ok((a, data))
    }

    async fn attachment_bytes(&self, id: Uuid) -> Result<Vec<u8>, ChatError> {
        self.store.attachment_data(id).await.map_err(|e| match e {
            StoreError::NotFound => {
                tracing::error!(attachment = %id, "an attachment's row has no bytes");
                ChatError::NotFound("attachment")
            }
            e => e.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_six_types_and_nothing_else() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n rest"), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0 jfif"), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(
            sniff("héllo\nworld\t!".as_bytes()),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(sniff(b"<!DOCTYPE html><p>hi"), None);
        assert_eq!(sniff(b"  \n<html><script>x</script>"), None);
        assert_eq!(sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), None);
        assert_eq!(sniff(b"\x00\x01\x02binary"), None);
        assert_eq!(sniff(b"\xff\xfe not utf-8 \xc3"), None);
        assert_eq!(sniff(b"PK\x03\x04zip"), None);
    }

    #[test]
    fn declared_types_must_agree() {
        assert!(declared_agrees(None, "image/png"));
        assert!(declared_agrees(
            Some("application/octet-stream"),
            "image/png"
        ));
        assert!(declared_agrees(Some("IMAGE/PNG"), "image/png"));
        assert!(declared_agrees(Some("image/jpg"), "image/jpeg"));
        assert!(declared_agrees(
            Some("text/plain"),
            "text/plain; charset=utf-8"
        ));
        assert!(!declared_agrees(
            Some("image/png"),
            "text/plain; charset=utf-8"
        ));
        assert!(!declared_agrees(
            Some("text/html"),
            "text/plain; charset=utf-8"
        ));
        assert!(!declared_agrees(Some("image/gif"), "image/png"));
    }

    #[test]
    fn file_names_lose_their_paths_and_oddities() {
        assert_eq!(safe_filename(Some("../../x")), "x");
        assert_eq!(safe_filename(Some("..\\..\\win.ini")), "win.ini");
        assert_eq!(safe_filename(Some("/etc/passwd")), "passwd");
        assert_eq!(safe_filename(Some("a\"b\r\n.png")), "ab.png");
        assert_eq!(safe_filename(Some(".hidden")), "hidden");
        assert_eq!(safe_filename(Some("../..")), "attachment");
        assert_eq!(safe_filename(None), "attachment");
        assert_eq!(safe_filename(Some("Übersicht.pdf")), "Übersicht.pdf");
        assert_eq!(
            safe_filename(Some(&"a".repeat(500))).chars().count(),
            MAX_FILENAME_CHARS
        );
    }
}
