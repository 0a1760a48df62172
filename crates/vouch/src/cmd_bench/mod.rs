//! `vouch bench …`: throughput and latency figures printed beside the baselines they are judged
//! against. Everything runs on loopback and stops by itself (bounded in time and count).
//!
//! * [`token`]: `/token` over HTTP beside raw RSA-2048 signing and the blog's Node.js app, all
//!   in the same run (issues 3, 17).
//! * [`chat`]: customer → agent (and back, `--echo`) relay through a real `vouch chat` child
//!   process (issue 7), beside the Node.js relay of `bench/node-relay` in the same run (issue 17).
//! * [`relay`]: that Node.js relay as a child process.
//! * [`sessions`]: widget session creations/s beside raw token verification (issue 7).
//! * [`topology`]: where the service under test comes from and what its nodes share.
//! * [`server`]: the chat service under test (child processes, or one already running on
//!   loopback), its key server, its settings, widget and agents.
//! * [`procstat`]: the service's CPU time and RSS, from `/proc`.
//! * [`stats`]: percentiles and the process figures.

mod chat;
mod procstat;
mod relay;
mod server;
mod sessions;
mod stats;
mod token;
mod topology;

use std::process::ExitCode;

use clap::Subcommand;

/// Hard cap on any bench duration, so a typo cannot start an endless load.
pub const MAX_SECONDS: u64 = 120;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// `/token` requests/s over HTTP with signed-in clients, beside raw RSA-2048 signs/s and the
    /// blog's Node.js app (tests/blog-app) under the same load, measured in the same run.
    Token(token::TokenBenchArgs),
    /// Customer → agent messages through the chat service: relayed msgs/s, round-trip and ack
    /// latency percentiles, server CPU µs per message and RSS per idle socket (one JSON line).
    Chat(chat::ChatBenchArgs),
    /// Widget session creations/s over HTTP (token verification + database write), beside raw
    /// verifications/s of the same token in the same run (one JSON line).
    Sessions(sessions::SessionsBenchArgs),
}

pub async fn run(cmd: BenchCommand) -> ExitCode {
    crate::cli::report(match cmd {
        BenchCommand::Token(args) => token::run(args).await,
        BenchCommand::Chat(args) => chat::run(args).await,
        BenchCommand::Sessions(args) => sessions::run(args).await,
    })
}

/// A fresh directory under the system temp dir for one bench run.
fn tempdir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "vouch-bench-{}-{}",
        std::process::id(),
        crate::cmd_token::unix_now()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
