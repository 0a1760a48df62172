//! The command tree. Each command's work lives in its own `cmd_*` module; this file only
//! parses and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::{
    cmd_bench, cmd_chat, cmd_demo, cmd_doctor, cmd_keys, cmd_portal, cmd_token, cmd_webhooks,
};

#[derive(Parser, Debug)]
#[command(
    name = "vouch",
    version,
    about = "Authenticated live chat for websites that have their own login"
)]
pub struct Cli {
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true, env = "VOUCH_LOG_JSON")]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The portal and the chat service in one process, with demo users and settings.
    Demo(cmd_demo::DemoArgs),
    /// The website: accounts, sign-in, /publickey and /token (and its admin commands).
    Portal(Box<cmd_portal::PortalArgs>),
    /// The chat service (and its admin commands).
    Chat(Box<cmd_chat::ChatArgs>),
    /// RSA signing keys (the files the blog's two openssl commands make).
    #[command(subcommand)]
    Keys(cmd_keys::KeysCommand),
    /// Explain what is wrong with a key URL or a token, in plain words.
    Doctor(cmd_doctor::DoctorArgs),
    /// Throughput benchmarks on loopback, printed beside their same-run baselines.
    #[command(subcommand)]
    Bench(cmd_bench::BenchCommand),
    /// Sign or verify a JWT exactly as the portal and the chat service do.
    #[command(subcommand)]
    Token(cmd_token::TokenCommand),
    /// Webhook tools: check a delivery's signature.
    #[command(subcommand)]
    Webhooks(cmd_webhooks::WebhooksCommand),
}

pub async fn run(command: Command) -> ExitCode {
    match command {
        Command::Demo(args) => cmd_demo::run(args).await,
        Command::Portal(args) => cmd_portal::run(*args).await,
        Command::Chat(args) => cmd_chat::run(*args).await,
        Command::Keys(cmd) => report(cmd_keys::run(cmd)),
        Command::Token(cmd) => cmd_token::run(cmd).await,
        Command::Bench(cmd) => cmd_bench::run(cmd).await,
        Command::Doctor(args) => cmd_doctor::run(args).await,
        Command::Webhooks(cmd) => cmd_webhooks::run(cmd),
    }
}

/// Maps a command's outcome to the process exit code, printing the error chain on failure.
pub fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
