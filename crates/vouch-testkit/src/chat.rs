//! Seeding a chat service in-process: people in its database, and auth settings and widgets
//! for the test site through [`ChatService`]; and fresh rows to write straight into a store.

use uuid::Uuid;
use vouch_chat::storage::{now_millis, Conversation, ConversationState};
use vouch_chat::{
    AuthSettings, ChatConfig, ChatService, NewAgent, NewAuthSettings, NewWidget, Role, Widget,
};

use crate::{ISSUER, SITE};

/// Adds `email` as `role` with `password` to the database `config` names.
pub async fn add_person(
    config: &ChatConfig,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> anyhow::Result<()> {
    vouch_chat::add_agent(
        config,
        NewAgent {
            email: email.into(),
            name: name.into(),
            role,
            password: password.into(),
        },
    )
    .await?;
    Ok(())
}

/// `admin@example.com` (admin) and `agent@example.com` (agent), both with `password`.
pub async fn add_admin_and_agent(config: &ChatConfig, password: &str) {
    for (email, role) in [
        ("admin@example.com", Role::Admin),
        ("agent@example.com", Role::Agent),
    ] {
        add_person(config, email, &format!("{role} person"), role, password)
            .await
            .expect("add agent");
    }
}

/// Auth settings `name` for tokens from [`ISSUER`] whose keys are at `public_key_url`.
pub async fn create_settings(
    service: &ChatService,
    name: &str,
    public_key_url: String,
    leeway_secs: Option<u64>,
) -> AuthSettings {
    service
        .create_auth_settings(NewAuthSettings {
            name: name.into(),
            public_key_url,
            function_name: "auth.getAuthenticationToken".into(),
            issuer: Some(ISSUER.into()),
            leeway_secs,
        })
        .await
        .expect("create auth settings")
}

/// A widget `name` allowing [`SITE`], bound to `settings`.
pub async fn create_widget(
    service: &ChatService,
    name: &str,
    settings: &AuthSettings,
    require_auth: bool,
    title: Option<&str>,
) -> Widget {
    service
        .create_widget(NewWidget {
            name: name.into(),
            allowed_origins: vec![SITE.into()],
            auth_settings_id: Some(settings.id),
            require_auth,
            title: title.map(str::to_string),
            business_hours: None,
            offline_message: None,
        })
        .await
        .expect("create widget")
}

/// Serves `service` on `listener` until the returned sender fires or is dropped; the address.
pub async fn serve_node(
    service: ChatService,
    listener: tokio::net::TcpListener,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        service
            .serve(listener, async move {
                let _ = rx.await;
            })
            .await
            .expect("serve");
    });
    (addr, tx)
}

/// A new widget row open to `origin` that takes anonymous visitors (for a store directly).
pub fn widget_row(origin: &str) -> Widget {
    Widget {
        app_id: Uuid::new_v4(),
        name: "Open chat".into(),
        allowed_origins: vec![origin.into()],
        auth_settings_id: None,
        require_auth: false,
        title: "Ask us".into(),
        created_at: now_millis(),
        business_hours: None,
        offline_message: String::new(),
    }
}

/// A new, waiting, anonymous conversation row of widget `widget_app_id` (for a store directly).
pub fn conversation_row(widget_app_id: Uuid) -> Conversation {
    let now = now_millis();
    Conversation {
        id: Uuid::new_v4(),
        widget_app_id,
        state: ConversationState::Waiting,
        verified: false,
        contact_id: None,
        context: Default::default(),
        agent_id: None,
        created_at: now,
        updated_at: now,
        ended_at: None,
        last_seq: 0,
        queue_id: vouch_chat::storage::GENERAL_QUEUE_ID,
    }
}
