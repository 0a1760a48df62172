//! `vouch webhooks verify`: checks a delivery's `Vouch-Signature` against its body and the
//! webhook's secret exactly as a receiver should (HMAC-SHA256 over `"<t>.<body>"`, compared in
//! constant time, timestamps older than the tolerance refused), for people debugging theirs.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use vouch_chat::webhooks::sign;

#[derive(Subcommand, Debug)]
pub enum WebhooksCommand {
    /// Check a Vouch-Signature header against a body and a webhook secret.
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The webhook's secret (whsec_…), as shown when it was created.
    #[arg(long, env = "VOUCH_WEBHOOK_SECRET", hide_env_values = true)]
    pub secret: String,
    /// The Vouch-Signature header's value: t=<unix seconds>,v1=<hex>.
    #[arg(long)]
    pub header: String,
    /// The file holding the raw request body exactly as received (- for stdin).
    #[arg(long)]
    pub body: PathBuf,
    /// Refuse a timestamp more than this many seconds from now (replays).
    #[arg(long, default_value_t = sign::DEFAULT_TOLERANCE_SECS)]
    pub tolerance: i64,
    /// Skip the timestamp check (to check an old captured delivery).
    #[arg(long)]
    pub ignore_age: bool,
}

pub fn run(cmd: WebhooksCommand) -> ExitCode {
    match cmd {
        WebhooksCommand::Verify(a) => verify(a),
    }
}

fn verify(a: VerifyArgs) -> ExitCode {
    let mut body = Vec::new();
    let read = if a.body.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut body).map(|_| ())
    } else {
        std::fs::read(&a.body).map(|b| body = b)
    };
    if let Err(e) = read {
        eprintln!("error: --body {}: {e}", a.body.display());
        return ExitCode::from(2);
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let tolerance = (!a.ignore_age).then_some(a.tolerance);
    match sign::verify(&a.secret, &a.header, &body, now, tolerance) {
        Ok(t) => {
            println!("valid signature (t={t}, {} s ago)", now - t);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("invalid signature: {e}");
            ExitCode::from(1)
        }
    }
}
