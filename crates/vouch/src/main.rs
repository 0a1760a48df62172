//! `vouch`: one binary for both sides of authenticated chat — the portal (the website with its
//! own login) and the chat service — plus the key and token tools, `doctor`, `demo` and `bench`.

mod cli;
mod cmd_bench;
mod cmd_chat;
mod cmd_demo;
mod cmd_doctor;
mod cmd_keys;
mod cmd_portal;
mod cmd_token;
mod cmd_webhooks;
mod demo_seed;
mod shutdown;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.log_json, default_log_level(&cli.command));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(cli::run(cli.command))
}

/// The log level when `VOUCH_LOG` does not set one: `info`, but `warn` for `vouch bench token`,
/// whose in-process portal would print a line per sign-in among the figures.
fn default_log_level(command: &cli::Command) -> &'static str {
    match command {
        cli::Command::Bench(cmd_bench::BenchCommand::Token(_)) => "warn",
        _ => "info",
    }
}

fn init_logging(json: bool, default_level: &str) {
    use tracing_subscriber::EnvFilter;
    let mut filter =
        EnvFilter::try_from_env("VOUCH_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    // The WebSocket library's trace lines print whole frames, and a customer's `auth` frame
    // carries a token: when VOUCH_LOG asks for trace anywhere, that library stays at info.
    if filter.max_level_hint() == Some(tracing_subscriber::filter::LevelFilter::TRACE) {
        for target in ["tungstenite=info", "tokio_tungstenite=info"] {
            if let Ok(d) = target.parse() {
                filter = filter.add_directive(d);
            }
        }
    }
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
