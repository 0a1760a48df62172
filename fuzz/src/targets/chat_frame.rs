//! Arbitrary bytes as a WebSocket text frame from a customer or agent socket:
//! `vouch_chat::live::frames::parse_client_frame` must never panic, and every refusal must be a
//! short error frame of a known code.
use vouch_chat::live::frames::{parse_client_frame, ClientFrame};

pub fn run(data: &[u8]) {
    // A WebSocket text frame is UTF-8 by the protocol (tungstenite refuses anything else), so
    // only valid UTF-8 reaches the decoder.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_client_frame(text) {
        Ok(frame) => {
            // What the decoder accepted must have come from the frame's own fields.
            let v: serde_json::Value =
                serde_json::from_str(text).expect("accepted a frame that is not JSON");
            let ty = v.get("type").and_then(|t| t.as_str());
            match frame {
                ClientFrame::Send {
                    client_msg_id,
                    text: body,
                    ..
                } => {
                    assert_eq!(ty, Some("send"));
                    assert_eq!(
                        v.get("client_msg_id").and_then(|x| x.as_str()),
                        Some(client_msg_id.as_str())
                    );
                    assert_eq!(v.get("text").and_then(|x| x.as_str()), Some(body.as_str()));
                }
                ClientFrame::Resume { after_seq, .. } => {
                    assert_eq!(ty, Some("resume"));
                    assert!(after_seq >= 0, "negative after_seq {after_seq}");
                }
                ClientFrame::Auth { token } => {
                    assert_eq!(ty, Some("auth"));
                    assert_eq!(
                        v.get("token").and_then(|x| x.as_str()),
                        Some(token.as_str())
                    );
                }
                ClientFrame::Typing { .. } => assert_eq!(ty, Some("typing")),
                ClientFrame::Rating { score, .. } => {
                    assert_eq!(ty, Some("rating"));
                    assert_eq!(score, v.get("score").and_then(|x| x.as_i64()));
                }
            }
        }
        Err(e) => {
            assert!(!e.code.is_empty());
            assert!(
                e.message.len() <= 512,
                "error message of {} bytes",
                e.message.len()
            );
            // The refusal is sent back as a frame: building it must not panic either.
            let _ = e.frame();
        }
    }
}
