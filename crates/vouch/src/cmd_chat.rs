//! `vouch chat`: the chat service alone, and `vouch chat agents add`.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use tokio::net::TcpListener;
use vouch_chat::{ChatConfig, ChatService, NewAgent, Role};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ChatArgs {
    #[command(flatten)]
    pub config: ChatConfig,
    #[command(subcommand)]
    pub command: Option<ChatCommand>,
}

#[derive(Subcommand, Debug)]
pub enum ChatCommand {
    /// Agents and admins of the console.
    #[command(subcommand)]
    Agents(AgentsCommand),
}

#[derive(Subcommand, Debug)]
pub enum AgentsCommand {
    /// Add an agent or admin; the password is read from stdin (first line).
    Add {
        /// The chat service's data directory.
        #[arg(long, env = "VOUCH_DATA_DIR", required_unless_present = "database_url")]
        data_dir: Option<PathBuf>,
        /// Database URL (instead of --data-dir).
        #[arg(long, env = "VOUCH_CHAT_DATABASE_URL")]
        database_url: Option<String>,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum RoleArg {
    Agent,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Agent => Role::Agent,
            RoleArg::Admin => Role::Admin,
        }
    }
}

pub async fn run(args: ChatArgs) -> ExitCode {
    let result = match args.command {
        None => serve(args.config).await,
        Some(ChatCommand::Agents(AgentsCommand::Add {
            data_dir,
            database_url,
            email,
            name,
            role,
            password_stdin: _,
        })) => add_agent(data_dir, database_url, email, name, role.into()).await,
    };
    crate::cli::report(result)
}

/// Binds first, so `--addr 127.0.0.1:0` works and the printed URL is the real one.
pub async fn bind(config: &mut ChatConfig) -> anyhow::Result<TcpListener> {
    crate::cmd_portal::listen(&mut config.addr).await
}

async fn serve(mut config: ChatConfig) -> anyhow::Result<()> {
    if config.data_dir.is_none() && config.database_url.is_none() {
        config.data_dir = Some(PathBuf::from(vouch_portal::config::DEFAULT_DATA_DIR));
    }
    let listener = bind(&mut config).await?;
    let service = ChatService::open(&config)
        .await
        .context("the chat service cannot start")?;
    let serving = service.serve(listener, crate::shutdown::signal());
    crate::cmd_portal::announce_and_serve("chat", config.addr, serving).await
}

async fn add_agent(
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    email: String,
    name: String,
    role: Role,
) -> anyhow::Result<()> {
    let mut config = ChatConfig::with_data_dir(data_dir.unwrap_or_default());
    config.database_url = database_url;
    let password = crate::cmd_portal::read_password_stdin()?;
    let agent = vouch_chat::add_agent(
        &config,
        NewAgent {
            email,
            name,
            role,
            password,
        },
    )
    .await?;
    println!("added {} ({})", agent.email, agent.role.as_str());
    Ok(())
}
