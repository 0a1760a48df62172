//! The WebSocket frames of design.md ("WebSocket frames") and the team's extensions: parsing what
//! clients send (never panicking, every problem a named error), building what the server sends,
//! and the frame edge of the domain's errors ([`FrameError::of`]).

use serde_json::{json, Value};
use uuid::Uuid;

use super::hub::Frame;
use crate::domain::conversations::ConversationSummary;
use crate::error::{ChatError, ErrorCode};
use crate::storage::{rfc3339, ConversationState, Message, Millis, Sender, StoreError};

/// A frame from a customer or agent socket.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    Send {
        conversation_id: Option<Uuid>,
        client_msg_id: String,
        text: String,
        /// Attachment ids (uploaded first); empty when none.
        attachments: Vec<Uuid>,
    },
    /// The customer's rating after the end (`score` is checked by the domain).
    Rating {
        score: Option<i64>,
        comment: Option<String>,
    },
    Resume {
        conversation_id: Option<Uuid>,
        after_seq: i64,
    },
    Auth {
        token: String,
    },
    Typing {
        conversation_id: Option<Uuid>,
    },
    /// An agent's presence (`available`, `busy`, `away`, `offline`).
    Presence {
        status: String,
    },
}

/// Why a client frame was refused: `{"type":"error","error":code,"message"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// An [`ErrorCode`]'s wire form.
    pub code: &'static str,
    pub message: String,
}

impl FrameError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        FrameError {
            code: code.as_str(),
            message: message.into(),
        }
    }
    /// The frame is not one the protocol allows.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadFrame, message)
    }
    /// Something failed on the server's side; the message says what the client may do.
    pub fn internal(message: &str) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
    /// A domain error as a frame: its code, and the message the client gets (internal
    /// failures are logged where they happen and answered with "try again").
    pub fn of(e: &ChatError) -> Self {
        let code = e.code();
        match e {
            ChatError::NotFound(what) => Self::new(code, format!("no such {what}")),
            ChatError::Forbidden(m) => Self::new(code, m.as_str()),
            ChatError::MessageNotStored(StoreError::Unavailable(_)) => Self::new(
                code,
                "the message could not be stored (the server's storage is failing), so it was not delivered: send it again",
            ),
            ChatError::MessageNotStored(_) => {
                Self::new(code, "the message could not be stored; send it again")
            }
            ChatError::ConversationEnded
            | ChatError::BadClientMsgId
            | ChatError::EmptyText
            | ChatError::TextTooLong { .. }
            | ChatError::TooManyMessages
            | ChatError::TooManyFrames
            | ChatError::NotVerified
            | ChatError::BadAttachment
            | ChatError::Validation { .. } => Self::new(code, e.to_string()),
            ChatError::Conflict(m) => Self::new(code, m.as_str()),
            _ => Self::internal("try again"),
        }
    }
    /// The error frame for this refusal.
    pub fn frame(&self) -> Frame {
        error(self.code, &self.message)
    }
    /// The error frame for a refused `send`, naming its `client_msg_id` (when it is a valid one)
    /// so the client can mark that message failed.
    pub fn frame_for(&self, client_msg_id: &str) -> Frame {
        if !valid_client_msg_id(client_msg_id) {
            return self.frame();
        }
        frame(
            json!({"type": "error", "error": self.code, "message": self.message, "client_msg_id": client_msg_id}),
        )
    }
}

impl From<&ChatError> for FrameError {
    fn from(e: &ChatError) -> Self {
        FrameError::of(e)
    }
}

fn string_field(obj: &serde_json::Map<String, Value>, name: &str) -> Result<String, FrameError> {
    match obj.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(FrameError::bad(format!("{name} must be a string"))),
        None => Err(FrameError::bad(format!("{name} is missing"))),
    }
}

fn conversation_field(obj: &serde_json::Map<String, Value>) -> Result<Option<Uuid>, FrameError> {
    match obj.get("conversation_id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Uuid::parse_str(s)
            .map(Some)
            .map_err(|_| FrameError::bad("conversation_id must be a conversation id (UUID)")),
        Some(_) => Err(FrameError::bad("conversation_id must be a string")),
    }
}

/// A `send`'s `attachments`: absent or an array of at most
/// [`crate::domain::attachments::MAX_PER_MESSAGE`] attachment ids.
fn attachments_field(obj: &serde_json::Map<String, Value>) -> Result<Vec<Uuid>, FrameError> {
    let bad = |m: &str| FrameError::new(ErrorCode::BadAttachment, m);
    match obj.get("attachments") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            if items.len() > crate::domain::attachments::MAX_PER_MESSAGE {
                return Err(bad("a message may carry at most 10 attachments"));
            }
            items
                .iter()
                .map(|v| {
                    v.as_str()
                        .and_then(|s| Uuid::parse_str(s).ok())
                        .ok_or_else(|| bad("attachments must be attachment ids"))
                })
                .collect()
        }
        Some(_) => Err(FrameError::bad("attachments must be an array of ids")),
    }
}

/// Parses one text frame. Sizes are checked by the caller before this.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, FrameError> {
    let value: Value =
        serde_json::from_str(text).map_err(|_| FrameError::bad("the frame is not valid JSON"))?;
    let Value::Object(obj) = value else {
        return Err(FrameError::bad("the frame must be a JSON object"));
    };
    let kind = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => return Err(FrameError::bad("type must be a string")),
        None => return Err(FrameError::bad("type is missing")),
    };
    match kind {
        "send" => Ok(ClientFrame::Send {
            conversation_id: conversation_field(&obj)?,
            client_msg_id: string_field(&obj, "client_msg_id")?,
            text: string_field(&obj, "text")?,
            attachments: attachments_field(&obj)?,
        }),
        "rating" => Ok(ClientFrame::Rating {
            score: match obj.get("score") {
                Some(Value::Number(n)) => n.as_i64(),
                Some(_) | None => None,
            },
            comment: match obj.get("comment") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(FrameError::bad("comment must be a string")),
            },
        }),
        "resume" => {
            let after_seq = match obj.get("after_seq") {
                None | Some(Value::Null) => 0,
                Some(Value::Number(n)) => match n.as_i64() {
                    Some(v) if v >= 0 => v,
                    _ => return Err(FrameError::bad("after_seq must be a whole number ≥ 0")),
                },
                Some(_) => return Err(FrameError::bad("after_seq must be a number")),
            };
            Ok(ClientFrame::Resume {
                conversation_id: conversation_field(&obj)?,
                after_seq,
            })
        }
        "auth" => Ok(ClientFrame::Auth {
            token: string_field(&obj, "token")?,
        }),
        "typing" => Ok(ClientFrame::Typing {
            conversation_id: conversation_field(&obj)?,
        }),
        "presence" => Ok(ClientFrame::Presence {
            status: string_field(&obj, "status")?,
        }),
        other => {
            let shown: String = other.chars().take(40).collect();
            Err(FrameError::new(
                ErrorCode::UnknownType,
                format!(
                    "unknown frame type {shown:?}: use send, resume, auth, typing, presence or rating"
                ),
            ))
        }
    }
}

/// `client_msg_id`: 1–64 of `A-Z a-z 0-9 _ -`.
pub fn valid_client_msg_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn frame(v: Value) -> Frame {
    Frame::from(v.to_string())
}

/// Serializes a frame written as a struct. `ack` and `message` go out once per message (the
/// relay's hot path), so they are plain structs written straight to text rather than `json!`
/// maps (a `Value` tree, a map node and a string per key, then the text).
fn typed_frame(v: &impl serde::Serialize) -> Frame {
    // Serializing these structs (strings, integers) to a String cannot fail.
    Frame::from(serde_json::to_string(v).unwrap_or_default())
}

pub fn ack(client_msg_id: &str, seq: i64) -> Frame {
    #[derive(serde::Serialize)]
    struct Ack<'a> {
        r#type: &'static str,
        client_msg_id: &'a str,
        seq: i64,
    }
    typed_frame(&Ack {
        r#type: "ack",
        client_msg_id,
        seq,
    })
}

pub fn message(m: &Message) -> Frame {
    #[derive(serde::Serialize)]
    struct MessageFrame<'a> {
        r#type: &'static str,
        conversation_id: Uuid,
        seq: i64,
        sender: Sender,
        text: &'a str,
        sent_at: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<&'a str>,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        attachments: &'a [crate::storage::AttachmentMeta],
    }
    typed_frame(&MessageFrame {
        r#type: "message",
        conversation_id: m.conversation_id,
        seq: m.seq,
        sender: m.sender,
        text: &m.text,
        sent_at: rfc3339(m.sent_at),
        client_msg_id: m.client_msg_id.as_deref(),
        attachments: &m.attachments,
    })
}

/// Sent to the customer when the conversation ends: the widget asks for a rating.
pub fn survey(conversation_id: Uuid) -> Frame {
    frame(json!({"type": "survey", "conversation_id": conversation_id}))
}

/// The answer to a `rating` frame.
pub fn rated(conversation_id: Uuid, rating: &crate::storage::Rating) -> Frame {
    frame(json!({"type": "rated", "conversation_id": conversation_id, "rating": rating}))
}

fn error(code: &str, message: &str) -> Frame {
    frame(json!({"type": "error", "error": code, "message": message}))
}

pub fn invalid_token(reason: &str, message: &str) -> Frame {
    frame(
        json!({"type": "error", "error": ErrorCode::InvalidToken, "reason": reason, "message": message}),
    )
}

pub fn reauth_required() -> Frame {
    frame(json!({"type": "reauth_required"}))
}

pub fn reauthenticated(expires_at: Millis) -> Frame {
    frame(json!({"type": "reauthenticated", "expires_at": rfc3339(expires_at)}))
}

/// State change as the customer sees it.
pub fn conversation_state(conversation_id: Uuid, state: ConversationState) -> Frame {
    frame(json!({"type": "conversation", "conversation_id": conversation_id, "state": state}))
}

/// Conversation frame for agents: the summary (`id`, `state`, `verified`, `contact`, `agent_id`,
/// `created_at`, `updated_at`) with `conversation_id` and `type` added, keys in sorted order.
pub fn conversation_for_agents(summary: &ConversationSummary) -> Frame {
    // Serializing a summary (strings, numbers, a contact) to a value cannot fail.
    let mut v = serde_json::to_value(summary).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        if let Some(id) = obj.get("id").cloned() {
            obj.insert("conversation_id".into(), id);
        }
        obj.insert("type".into(), Value::String("conversation".into()));
    }
    frame(v)
}

pub fn typing(conversation_id: Uuid, sender: Sender) -> Frame {
    frame(json!({"type": "typing", "conversation_id": conversation_id, "sender": sender}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(
            parse_client_frame(r#"{"type":"send","client_msg_id":"a-1","text":"hi"}"#),
            Ok(ClientFrame::Send {
                conversation_id: None,
                client_msg_id: "a-1".into(),
                text: "hi".into(),
                attachments: Vec::new(),
            })
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"resume","after_seq":3}"#),
            Ok(ClientFrame::Resume {
                conversation_id: None,
                after_seq: 3
            })
        );
        assert_eq!(
            parse_client_frame(r#"{"type":"auth","token":"x"}"#),
            Ok(ClientFrame::Auth { token: "x".into() })
        );
    }

    #[test]
    fn names_each_problem() {
        let code = |s: &str| parse_client_frame(s).unwrap_err().code;
        assert_eq!(ErrorCode::BadFrame.as_str(), "bad_frame");
        assert_eq!(code("{"), "bad_frame");
        assert_eq!(code("[]"), "bad_frame");
        assert_eq!(code(r#"{"type":1}"#), "bad_frame");
        assert_eq!(code(r#"{"type":"send","text":"x"}"#), "bad_frame");
        assert_eq!(
            code(r#"{"type":"send","client_msg_id":5,"text":"x"}"#),
            "bad_frame"
        );
        assert_eq!(code(r#"{"type":"resume","after_seq":-1}"#), "bad_frame");
        assert_eq!(code(r#"{"type":"resume","after_seq":1.5}"#), "bad_frame");
        assert_eq!(
            code(r#"{"type":"typing","conversation_id":"nope"}"#),
            "bad_frame"
        );
        assert_eq!(code(r#"{"type":"dance"}"#), "unknown_type");
    }

    #[test]
    fn ack_and_message_frames_carry_the_design_fields() {
        let parsed = |f: Frame| serde_json::from_str::<Value>(&f).unwrap();
        assert_eq!(
            parsed(ack("m-1", 7)),
            json!({"type": "ack", "client_msg_id": "m-1", "seq": 7})
        );
        let id = Uuid::from_u128(0x66cb446f_5e43_4a11_a812_000d3a24c087);
        let mut m = Message {
            conversation_id: id,
            seq: 3,
            sender: Sender::Customer,
            text: "hi \"there\"\n".into(),
            sent_at: 1_700_000_000_123,
            client_msg_id: Some("m-1".into()),
            attachments: Vec::new(),
        };
        assert_eq!(
            parsed(message(&m)),
            json!({"type": "message", "conversation_id": "66cb446f-5e43-4a11-a812-000d3a24c087",
                   "seq": 3, "sender": "customer", "text": "hi \"there\"\n",
                   "sent_at": "2023-11-14T22:13:20.123Z", "client_msg_id": "m-1"})
        );
        // System messages have no client_msg_id: the field is absent, not null.
        (m.sender, m.client_msg_id) = (Sender::System, None);
        let v = parsed(message(&m));
        assert_eq!(v["sender"], "system");
        assert!(v.get("client_msg_id").is_none());
    }

    #[test]
    fn client_msg_ids() {
        assert!(valid_client_msg_id("abc_DEF-123"));
        assert!(valid_client_msg_id(&"a".repeat(64)));
        assert!(!valid_client_msg_id(&"a".repeat(65)));
        assert!(!valid_client_msg_id(""));
        assert!(!valid_client_msg_id("a b"));
        assert!(!valid_client_msg_id("é"));
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = parse_client_frame(&s);
        }
    }
}
