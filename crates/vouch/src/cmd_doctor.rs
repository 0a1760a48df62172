//! `vouch doctor`: explains in plain words what is wrong with a key URL or a token — what
//! the blog's author had to find out by trial and error.

use std::process::ExitCode;

use clap::Args;
use vouch_chat::keys::{diagnose, FetcherOptions, KeyFetcher, Severity};
use vouch_jwt::Validation;

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// The public key URL of a chat authentication setting.
    #[arg(long)]
    key_url: String,
    /// A token to check against that URL (`-` reads it from stdin).
    #[arg(long)]
    token: Option<String>,
    /// The issuer the setting requires, if any.
    #[arg(long)]
    iss: Option<String>,
    /// Clock leeway in seconds.
    #[arg(long, default_value_t = 60)]
    leeway: u64,
    /// Allow key URLs on private, loopback and link-local addresses (development only).
    #[arg(long)]
    allow_private_key_urls: bool,
}

/// Exit 0 when nothing is an error, 1 when a finding is.
pub async fn run(args: DoctorArgs) -> ExitCode {
    let token = match args.token.map(crate::cmd_token::read_token).transpose() {
        Ok(token) => token,
        Err(err) => return crate::cli::report(Err(err)),
    };
    let options = FetcherOptions {
        allow_private: args.allow_private_key_urls,
        ..Default::default()
    };
    let fetcher = match KeyFetcher::new(options) {
        Ok(fetcher) => fetcher,
        Err(err) => return crate::cli::report(Err(err.into())),
    };
    let validation = Validation {
        issuer: args.iss,
        leeway_secs: args.leeway,
        now: crate::cmd_token::unix_now(),
    };
    let findings = diagnose(&fetcher, &args.key_url, token.as_deref(), &validation).await;
    for finding in &findings {
        println!("{finding}");
    }
    if findings
        .iter()
        .any(|f| matches!(f.severity, Severity::Error))
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
