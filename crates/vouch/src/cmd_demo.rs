//! `vouch demo`: the portal and the chat service in one process, wired to each other the way
//! the blog wires a Node.js site to Omnichannel, with demo users and settings on first run.
//! Later runs reuse the data (and repair the settings' URLs when the ports changed).

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::Args;
use serde_json::{json, Map, Value};
use tokio::sync::watch;
use vouch_chat::{ChatConfig, ChatService, NewAgent, NewAuthSettings, NewWidget, Role, Widget};
use vouch_portal::{NewUser, Portal, PortalConfig};

const DEMO_WIDGET: &str = "Contoso support";
const DEMO_SETTING: &str = "Contoso Outfitters portal";
const AUTH_FUNCTION: &str = "auth.getAuthenticationToken";
/// The demo customer's contact id in the "CRM" (the token's `sub`), fixed so it can be quoted.
const DEMO_CONTACT_ID: &str = "66cb446f-5e43-4a11-a812-000d3a24c087";

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Data directory: keys, portal.db and chat.db.
    #[arg(long, env = "VOUCH_DATA_DIR", default_value = vouch_portal::config::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// The portal's address.
    #[arg(long, env = "VOUCH_PORTAL_ADDR", default_value = vouch_portal::config::DEFAULT_ADDR)]
    portal_addr: SocketAddr,
    /// The chat service's address.
    #[arg(long, env = "VOUCH_CHAT_ADDR", default_value = "127.0.0.1:3001")]
    chat_addr: SocketAddr,
    /// Lifetime of the portal's tokens in seconds (short values show silent re-authentication).
    #[arg(long, env = "VOUCH_TOKEN_TTL", default_value_t = vouch_portal::config::DEFAULT_TOKEN_TTL)]
    token_ttl: u32,
    /// Email for the demo's chat service (--smtp-url, --notify-email, --mail-from), as `vouch chat`.
    #[command(flatten)]
    mail: vouch_chat::mail::MailConfig,
}

pub async fn run(args: DemoArgs) -> ExitCode {
    crate::cli::report(demo(args).await)
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let mut chat_config = ChatConfig::with_data_dir(&args.data_dir);
    chat_config.addr = args.chat_addr;
    chat_config.allow_private_key_urls = true; // the demo's key URL is the portal on loopback
                                               // A CRM receiver tried out next to the demo is on this machine too.
    chat_config.webhooks.allow_private_webhook_urls = true;
    chat_config.mail = args.mail.clone();
    let chat_listener = crate::cmd_chat::bind(&mut chat_config).await?;

    let mut portal_config = PortalConfig::new(&args.data_dir);
    portal_config.addr = args.portal_addr;
    portal_config.token_ttl = args.token_ttl;
    let portal_listener = crate::cmd_portal::bind(&mut portal_config).await?;
    let portal_url = format!("http://{}", portal_config.addr);
    let chat_url = format!("http://{}", chat_config.addr);
    portal_config.chat_url = chat_url.parse()?;

    let chat = ChatService::open(&chat_config)
        .await
        .context("the chat service cannot start")?;
    seed_agents(&chat_config).await?;
    seed_canned_replies(&chat, &chat_config).await?;
    seed_customer(&portal_config).await?;

    // The widget comes first (its app id goes on the portal's page); the setting needs the
    // portal serving its /publickey, since settings are validated by fetching the key URL.
    let widget = ensure_widget(&chat, &portal_url).await?;
    portal_config.widget_app_id = Some(widget.app_id.to_string());
    let portal = Portal::open(&portal_config)
        .await
        .context("the portal cannot start")?;
    let issuer = portal.issuer().to_owned();

    let (stop_tx, stop_rx) = watch::channel(false);
    let portal_task = tokio::spawn(portal.serve(portal_listener, stopped(stop_rx.clone())));
    let setting = ensure_setting(&chat, &format!("{portal_url}/publickey"), &issuer).await?;
    bind_widget(&chat, &widget, setting.id, &portal_url).await?;
    ensure_desk(&chat, &widget).await?;
    crate::demo_seed::seed_rated_conversation(&chat_config, &chat, &widget, &portal_url)
        .await
        .context("seeding the demo's rated conversation")?;
    let chat_task = tokio::spawn(chat.serve(chat_listener, stopped(stop_rx)));

    println!("portal: {portal_url}");
    println!("chat: {chat_url}");
    println!("widget: {}", widget.app_id);
    println!();
    println!(
        "vouch demo is running (data in {})",
        args.data_dir.display()
    );
    println!("  website        {portal_url}        customer@example.com / customer");
    println!("  agent console  {chat_url}/agent  agent@example.com / agent");
    println!("  admin pages    {chat_url}/admin  admin@example.com / admin");
    println!("Press Ctrl-C to stop.");

    crate::shutdown::signal().await;
    let _ = stop_tx.send(true);
    portal_task.await?.context("portal")?;
    chat_task.await?.context("chat service")?;
    Ok(())
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn seed_agents(config: &ChatConfig) -> anyhow::Result<()> {
    for (email, name, role, password) in [
        ("agent@example.com", "Sam Rivera", Role::Agent, "agent"),
        ("admin@example.com", "Kim Admin", Role::Admin, "admin"),
    ] {
        if vouch_chat::find_agent_by_email(config, email)
            .await?
            .is_none()
        {
            let agent = NewAgent {
                email: email.into(),
                name: name.into(),
                role,
                password: password.into(),
            };
            vouch_chat::add_agent(config, agent).await?;
        }
    }
    Ok(())
}

/// A few canned replies: shared ones and the demo agent's own (each seeded once, so a restart
/// or an admin's edits are kept).
async fn seed_canned_replies(chat: &ChatService, config: &ChatConfig) -> anyhow::Result<()> {
    let desk = chat.chat();
    let agent = vouch_chat::find_agent_by_email(config, "agent@example.com")
        .await?
        .map(|a| a.id);
    let shared: &[(&str, &str)] = &[
        ("hello", "Hi {{contact.given_name}}, I'm {{agent.name}}. How can I help you today?"),
        ("order", "Could you tell me your order number, {{contact.given_name}}? I'll look it up right away."),
        ("thanks", "Thank you for chatting with us, {{contact.given_name}}. Have a great day!"),
    ];
    let own: &[(&str, &str)] = &[
        (
            "email",
            "I'll send the details to {{contact.email}} in a few minutes.",
        ),
        ("wait", "One moment please, I'm checking that for you."),
    ];
    let mut scopes = vec![(None, shared)];
    if let Some(a) = agent {
        scopes.push((Some(a), own));
    }
    for (owner, replies) in scopes {
        let existing = desk.canned_replies(owner).await?;
        if existing.iter().any(|r| r.shared == owner.is_none()) {
            continue;
        }
        for (shortcut, text) in replies {
            desk.create_canned_reply_from(
                owner,
                &to_map(&json!({"shortcut": shortcut, "text": text})),
            )
            .await?;
        }
    }
    Ok(())
}

async fn seed_customer(config: &PortalConfig) -> anyhow::Result<()> {
    if vouch_portal::find_user_by_email(config, "customer@example.com")
        .await?
        .is_some()
    {
        return Ok(());
    }
    let context: Map<String, Value> = [
        ("loyalty_tier".to_owned(), json!("Gold")),
        ("last_order".to_owned(), json!("#10482 — trail boots")),
        ("open_orders".to_owned(), json!(1)),
    ]
    .into_iter()
    .collect();
    let user = NewUser {
        email: "customer@example.com".into(),
        given_name: "Alex".into(),
        family_name: "Doe".into(),
        contact_id: Some(DEMO_CONTACT_ID.parse()?),
        phone: Some("+1 555 0100".into()),
        context,
        password: "customer".into(),
    };
    vouch_portal::add_user(config, user).await?;
    Ok(())
}

/// The page origins the demo widget accepts: the portal as 127.0.0.1 and as localhost.
fn portal_origins(portal_url: &str) -> Vec<String> {
    let mut origins = vec![portal_url.to_owned()];
    if let Some(port) = portal_url.strip_prefix("http://127.0.0.1:") {
        origins.push(format!("http://localhost:{port}"));
    }
    origins
}

async fn ensure_widget(chat: &ChatService, portal_url: &str) -> anyhow::Result<Widget> {
    if let Some(widget) = chat
        .list_widgets()
        .await?
        .into_iter()
        .find(|w| w.name == DEMO_WIDGET)
    {
        return Ok(widget);
    }
    let widget = NewWidget {
        name: DEMO_WIDGET.into(),
        allowed_origins: portal_origins(portal_url),
        auth_settings_id: None,
        require_auth: false,
        title: Some("Contoso support".into()),
        business_hours: None,
        offline_message: None,
    };
    Ok(chat.create_widget(widget).await?)
}

async fn ensure_setting(
    chat: &ChatService,
    key_url: &str,
    issuer: &str,
) -> anyhow::Result<vouch_chat::AuthSettings> {
    let wanted = NewAuthSettings {
        name: DEMO_SETTING.into(),
        public_key_url: key_url.into(),
        function_name: AUTH_FUNCTION.into(),
        issuer: Some(issuer.into()),
        leeway_secs: None,
    };
    let existing = chat
        .list_auth_settings()
        .await?
        .into_iter()
        .find(|s| s.name == DEMO_SETTING);
    match existing {
        None => Ok(chat.create_auth_settings(wanted).await?),
        Some(s) if s.public_key_url == key_url && s.issuer.as_deref() == Some(issuer) => Ok(s),
        Some(s) => {
            let body = to_map(&json!({
                "name": wanted.name, "public_key_url": wanted.public_key_url,
                "function_name": wanted.function_name, "issuer": wanted.issuer,
                "leeway_secs": s.leeway_secs,
            }));
            Ok(chat.chat().update_auth_settings_from(s.id, &body).await?)
        }
    }
}

/// Points the widget at the setting and the portal's current origin (the ports may differ
/// from the last run).
async fn bind_widget(
    chat: &ChatService,
    widget: &Widget,
    setting_id: uuid::Uuid,
    portal_url: &str,
) -> anyhow::Result<()> {
    let origins = portal_origins(portal_url);
    if widget.auth_settings_id == Some(setting_id) && widget.allowed_origins == origins {
        return Ok(());
    }
    let body = to_map(&json!({
        "name": widget.name, "allowed_origins": origins, "auth_settings_id": setting_id.to_string(),
        "require_auth": widget.require_auth, "title": widget.title,
    }));
    chat.chat().update_widget_from(widget.app_id, &body).await?;
    Ok(())
}

/// The desk's demo: a `Priority` queue (worked by every demo agent) and the widget's rule that
/// sends verified customers whose token says `loyalty_tier` Gold (the demo customer) there.
/// Made once: an admin's later changes are kept.
async fn ensure_desk(chat: &ChatService, widget: &Widget) -> anyhow::Result<()> {
    let chat = chat.chat();
    if chat
        .list_queues()
        .await?
        .iter()
        .any(|q| q.name == "Priority")
    {
        return Ok(());
    }
    let queue = chat
        .create_queue_from(&to_map(&json!({"name": "Priority", "priority": 10})))
        .await?;
    let agents: Vec<String> = chat
        .list_desk_agents()
        .await?
        .iter()
        .map(|a| a.id.to_string())
        .collect();
    chat.set_members_from(queue.id, &to_map(&json!({ "agent_ids": agents })))
        .await?;
    if chat.routing(widget.app_id).await?.rules.is_empty() {
        let rules = json!({"rules": [{
            "when": {"verified": true, "context": {"loyalty_tier": "Gold"}},
            "queue_id": queue.id.to_string(),
        }]});
        chat.put_routing_from(widget.app_id, &to_map(&rules))
            .await?;
    }
    Ok(())
}

fn to_map(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}
