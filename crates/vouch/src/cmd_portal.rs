//! `vouch portal`: the website alone, and its admin commands (`users add`, `keys rotate`).

use std::{io::Read, net::SocketAddr, path::PathBuf, process::ExitCode};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use vouch_portal::{NewUser, Portal, PortalConfig};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct PortalArgs {
    #[command(flatten)]
    pub config: PortalConfig,
    #[command(subcommand)]
    pub command: Option<PortalCommand>,
}

#[derive(Subcommand, Debug)]
pub enum PortalCommand {
    /// Website users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Signing keys.
    #[command(subcommand)]
    Keys(PortalKeysCommand),
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Add a website user; the password is read from stdin (first line).
    Add {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        email: String,
        #[arg(long)]
        given_name: String,
        #[arg(long)]
        family_name: String,
        /// The user's contact id (the token's `sub`); random when absent.
        #[arg(long)]
        contact_id: Option<uuid::Uuid>,
        /// Phone number (the `phone_number` claim).
        #[arg(long)]
        phone: Option<String>,
        /// A context variable NAME=VALUE shared with the agent (the `lwicontexts` claim).
        #[arg(long = "context", value_name = "NAME=VALUE")]
        context: Vec<String>,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum PortalKeysCommand {
    /// Start signing with a new key; the previous one stays published until its tokens expire.
    Rotate {
        #[command(flatten)]
        data: DataArgs,
        /// Token lifetime in seconds the portal runs with (how long the old key must stay published).
        #[arg(long, env = "VOUCH_TOKEN_TTL", default_value_t = vouch_portal::config::DEFAULT_TOKEN_TTL)]
        token_ttl: u32,
    },
}

/// Where a portal keeps its data, for the commands that work on it offline.
#[derive(Args, Debug)]
pub struct DataArgs {
    /// The portal's data directory (keys and SQLite).
    #[arg(long, env = "VOUCH_DATA_DIR", default_value = vouch_portal::config::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Database URL (default: sqlite://<data-dir>/portal.db).
    #[arg(long, env = "VOUCH_PORTAL_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl DataArgs {
    fn config(&self) -> PortalConfig {
        let mut config = PortalConfig::new(&self.data_dir);
        config.database_url.clone_from(&self.database_url);
        config
    }
}

pub async fn run(args: PortalArgs) -> ExitCode {
    let result = match args.command {
        None => serve(args.config).await,
        Some(PortalCommand::Users(UsersCommand::Add {
            data,
            email,
            given_name,
            family_name,
            contact_id,
            phone,
            context,
            password_stdin: _,
        })) => {
            add_user(
                &data.config(),
                email,
                given_name,
                family_name,
                contact_id,
                phone,
                context,
            )
            .await
        }
        Some(PortalCommand::Keys(PortalKeysCommand::Rotate { data, token_ttl })) => {
            let mut config = data.config();
            config.token_ttl = token_ttl;
            rotate(&config).await
        }
    };
    crate::cli::report(result)
}

/// Binds first, so `--addr 127.0.0.1:0` works: the public URL defaults to the bound address.
pub async fn bind(config: &mut PortalConfig) -> anyhow::Result<TcpListener> {
    let listener = listen(&mut config.addr).await?;
    if config.public_url.is_none() {
        config.public_url = Some(format!("http://{}", config.addr).parse()?);
    }
    Ok(listener)
}

/// Listens on `--addr` (`addr`), which then names the port bound (the one the system chose for
/// port 0). Both services start this way.
pub async fn listen(addr: &mut SocketAddr) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(*addr)
        .await
        .with_context(|| format!("--addr {addr}: cannot listen there"))?;
    *addr = listener.local_addr()?;
    Ok(listener)
}

/// Prints where a started service listens — `NAME: http://ADDR`, the line people, scripts and
/// the tests read — and serves until Ctrl-C or SIGTERM. Both services end their start this way.
pub async fn announce_and_serve<E>(
    name: &str,
    addr: SocketAddr,
    serve: impl std::future::Future<Output = Result<(), E>>,
) -> anyhow::Result<()>
where
    E: std::error::Error + Send + Sync + 'static,
{
    println!("{name}: http://{addr}");
    Ok(serve.await?)
}

async fn serve(mut config: PortalConfig) -> anyhow::Result<()> {
    let listener = bind(&mut config).await?;
    let portal = Portal::open(&config)
        .await
        .context("the portal cannot start")?;
    let serving = portal.serve(listener, crate::shutdown::signal());
    announce_and_serve("portal", config.addr, serving).await
}

async fn add_user(
    config: &PortalConfig,
    email: String,
    given_name: String,
    family_name: String,
    contact_id: Option<uuid::Uuid>,
    phone: Option<String>,
    context: Vec<String>,
) -> anyhow::Result<()> {
    let password = read_password_stdin()?;
    let mut vars = Map::new();
    for pair in context {
        let Some((name, value)) = pair.split_once('=') else {
            bail!("--context {pair:?}: expected NAME=VALUE");
        };
        vars.insert(name.to_owned(), Value::from(value));
    }
    let user = vouch_portal::add_user(
        config,
        NewUser {
            email,
            given_name,
            family_name,
            contact_id,
            phone,
            context: vars,
            password,
        },
    )
    .await?;
    println!("added {} (contact id {})", user.email, user.contact_id);
    Ok(())
}

async fn rotate(config: &PortalConfig) -> anyhow::Result<()> {
    let report = vouch_portal::rotate_keys(config).await?;
    println!("signing with {}", report.new_kid);
    if let Some(retired) = report.retired {
        println!(
            "{} stays published until {}",
            retired.kid, retired.published_until
        );
    }
    for kid in report.dropped {
        println!("dropped {kid}");
    }
    Ok(())
}

/// The first line of stdin, without its line ending. Passwords never come from argv, where
/// other users of the machine could read them.
pub fn read_password_stdin() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut input)
        .context("cannot read the password from stdin")?;
    let password = input.lines().next().unwrap_or("").to_owned();
    if password.is_empty() {
        bail!("--password-stdin: no password on standard input");
    }
    Ok(password)
}
