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

fn to_map(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}
