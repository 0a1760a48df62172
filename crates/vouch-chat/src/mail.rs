//! Sending email over SMTP (`lettre` on tokio, rustls): its flags and one [`Mailer`].
//!
//! What to send and when lives in `domain::offline` (the outbox); this module only turns a
//! recipient, subject and text into one SMTP transaction.

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long one SMTP transaction may take before it counts as failed (and is retried later).
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Email flags of `vouch chat`.
#[derive(clap::Args, Clone)]
pub struct MailConfig {
    /// SMTP relay for email: smtp://HOST:PORT (plain, for a relay you run), smtp://HOST:PORT?tls=required
    /// (STARTTLS) or smtps://HOST:PORT; user and password may come in the URL. Without it no
    /// email is sent (the transcript request answers 409).
    #[arg(long, env = "VOUCH_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Address that gets one email for each conversation started while a widget is offline.
    #[arg(long, env = "VOUCH_NOTIFY_EMAIL")]
    pub notify_email: Option<String>,

    /// The From of every email the service sends.
    #[arg(
        long,
        env = "VOUCH_MAIL_FROM",
        default_value = "vouch <vouch@localhost>"
    )]
    pub mail_from: String,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_url: None,
            notify_email: None,
            mail_from: "vouch <vouch@localhost>".into(),
        }
    }
}

/// The SMTP URL may hold a password: never printed.
impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<redacted>"))
            .field("notify_email", &self.notify_email)
            .field("mail_from", &self.mail_from)
            .finish()
    }
}

/// Why email could not be set up or sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{0}")]
    Config(String),
    #[error("bad address {0:?}")]
    Address(String),
    #[error("could not build the message: {0}")]
    Build(String),
    #[error("SMTP: {0}")]
    Smtp(String),
}

/// Sends plain-text email through one SMTP relay.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

/// An email address as lettre reads it (`name <a@b>` or `a@b`).
pub fn parse_mailbox(s: &str) -> Result<Mailbox, MailError> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|_| MailError::Address(s.to_string()))
}

impl Mailer {
    /// A mailer for `--smtp-url`, or why the URL or From is wrong (the URL is never echoed).
    pub fn new(smtp_url: &str, from: &str) -> Result<Mailer, MailError> {
        let url = url::Url::parse(smtp_url).map_err(|_| {
            MailError::Config("--smtp-url is not a URL: use smtp://HOST:PORT".into())
        })?;
        if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none() {
            return Err(MailError::Config(
                "--smtp-url must be smtp://HOST:PORT or smtps://HOST:PORT".into(),
            ));
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|e| MailError::Config(format!("--smtp-url: {e}")))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from = parse_mailbox(from)
            .map_err(|_| MailError::Config(format!("--mail-from {from:?} is not an address")))?;
        Ok(Mailer { transport, from })
    }

    /// Sends one plain-text email to `to`.
    pub async fn send(&self, to: &str, subject: &str, text: String) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(parse_mailbox(to)?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(text)
            .map_err(|e| MailError::Build(e.to_string()))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailError::Smtp(e.to_string()))
    }
}
