//! What `vouch demo` shows of attachments and ratings on first start: one ended conversation
//! in which the customer sent a photo and rated the chat — made through the chat service's
//! domain calls (a session, an upload, messages, accept, end, a rating), as a customer and an
//! agent would, never by writing rows.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::Context;
use vouch_chat::domain::attachments::Upload;
use vouch_chat::domain::ratings::RatingInput;
use vouch_chat::domain::sessions::SessionRequest;
use vouch_chat::storage::{ConversationState, Sender};
use vouch_chat::{ChatConfig, ChatService, Widget};

/// A 16×16 red PNG (the demo's "photo").
const PHOTO: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x91, 0x68,
    0x36, 0x00, 0x00, 0x00, 0x16, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xb8, 0xa9, 0xab, 0x40,
    0x12, 0x62, 0x18, 0xd5, 0x30, 0xaa, 0x61, 0xf8, 0x6a, 0x00, 0x00, 0x06, 0x7d, 0x26, 0x10, 0xd4,
    0x63, 0x60, 0x3e, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Seeds the rated conversation once (when no conversation has ended yet).
pub async fn seed_rated_conversation(
    config: &ChatConfig,
    chat: &ChatService,
    widget: &Widget,
    portal_url: &str,
) -> anyhow::Result<()> {
    let chat = chat.chat();
    if !chat
        .list_conversations(Some(ConversationState::Ended))
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let agent = vouch_chat::find_agent_by_email(config, "agent@example.com")
        .await?
        .context("the demo agent is missing")?;
    let session = chat
        .create_session(SessionRequest {
            app_id: widget.app_id.to_string(),
            origin: Some(portal_url.to_owned()),
            token: None,
            context: None,
            client: IpAddr::V4(Ipv4Addr::LOCALHOST),
        })
        .await?;
    let ctx = chat.session_for_token(&session.session_token).await?;
    let conv = ctx.conversation_id;
    let photo = chat
        .customer_upload(
            &ctx,
            Upload {
                filename: Some("boot-sole.png".into()),
                declared_type: Some("image/png".into()),
                data: PHOTO.to_vec().into(),
            },
        )
        .await?;
    chat.send_message(
        conv,
        Sender::Customer,
        None,
        "demo-1",
        "Hi! The sole of my trail boots came loose after a week. Photo attached.",
        &[photo.id],
    )
    .await?;
    chat.accept(&agent, conv).await?;
    chat.agent_send(
        &agent,
        conv,
        "demo-2",
        "Sorry about that! I've started a free replacement; you'll get a label by email.",
        &[],
    )
    .await?;
    chat.end_by_agent(&agent, conv).await?;
    chat.rate(
        conv,
        RatingInput {
            score: Some(5),
            comment: Some("Fast and friendly, thank you!".into()),
        },
    )
    .await?;
    Ok(())
}
