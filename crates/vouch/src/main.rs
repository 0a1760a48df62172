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
mod shutdown;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.log_json);
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

fn init_logging(json: bool) {
    use tracing_subscriber::EnvFilter;
    let mut filter =
        EnvFilter::try_from_env("VOUCH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
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
