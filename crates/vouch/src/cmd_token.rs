//! `vouch token sign` and `vouch token verify`: the same signer as the portal and the same
//! strict verifier (and key fetcher, for `--key-url`) as the chat service.

use std::{
    io::Read,
    path::PathBuf,
    process::ExitCode,
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::{bail, Context};
use clap::Subcommand;
use serde_json::{Map, Value};
use vouch_chat::keys::{FetcherOptions, KeyFetcher};
use vouch_jwt::{SigningKey, Validation, VerifyError};

/// Tokens are short; anything longer than this on stdin is not a token.
const MAX_TOKEN_INPUT: u64 = 1 << 20;

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Print a compact RS256 JWT signed with a private key file (PKCS#8 or PKCS#1 PEM).
    Sign {
        /// Private key PEM file.
        #[arg(long)]
        key: PathBuf,
        /// The `iss` claim (the chat setting's issuer, if it has one).
        #[arg(long)]
        iss: String,
        /// The `sub` claim: the user's contact id.
        #[arg(long)]
        sub: String,
        /// Lifetime in seconds (`exp` = `iat` + ttl).
        #[arg(long, default_value_t = 900)]
        ttl: u64,
        /// `kid` header; default: the key's RFC 7638 thumbprint.
        #[arg(long)]
        kid: Option<String>,
        /// Extra claim NAME=VALUE; VALUE is a JSON number, true, false or null when it
        /// parses as one, otherwise a string (so `lwicontexts={"plan":"gold"}` stays a string).
        #[arg(long = "claim", value_name = "NAME=VALUE")]
        claims: Vec<String>,
    },
    /// Verify a JWT; prints its claims as JSON, or `invalid token: <reason>: <detail>` and exit 1.
    Verify {
        /// Public key file: PEM, a JWKS or the multi-key list.
        #[arg(long, conflicts_with = "key_url", required_unless_present = "key_url")]
        public_key: Option<PathBuf>,
        /// Key URL, fetched with the chat service's rules.
        #[arg(long)]
        key_url: Option<String>,
        /// Allow key URLs on private, loopback and link-local addresses (development only).
        #[arg(long, requires = "key_url")]
        allow_private_key_urls: bool,
        /// Required issuer.
        #[arg(long)]
        iss: Option<String>,
        /// Clock leeway in seconds for exp, nbf and iat.
        #[arg(long, default_value_t = 60)]
        leeway: u64,
        /// The token, or `-` to read it from stdin.
        token: String,
    },
}

pub async fn run(cmd: TokenCommand) -> ExitCode {
    match cmd {
        TokenCommand::Sign {
            key,
            iss,
            sub,
            ttl,
            kid,
            claims,
        } => crate::cli::report(sign(key, iss, sub, ttl, kid, claims)),
        TokenCommand::Verify {
            public_key,
            key_url,
            allow_private_key_urls,
            iss,
            leeway,
            token,
        } => {
            let token = match read_token(token) {
                Ok(token) => token,
                Err(err) => return crate::cli::report(Err(err)),
            };
            if token.len() as u64 > MAX_TOKEN_INPUT {
                // Refused whole, never verified as a silently cut prefix.
                return print_verdict(Err(VerifyError {
                    reason: vouch_jwt::Reason::Malformed,
                    detail: format!("the token is longer than {MAX_TOKEN_INPUT} bytes"),
                }));
            }
            let validation = Validation {
                issuer: iss,
                leeway_secs: leeway,
                now: unix_now(),
            };
            let verdict = match (public_key, key_url) {
                (Some(path), _) => match read_key_file(&path) {
                    Ok(keys) => vouch_jwt::verify(&token, &keys, &validation),
                    Err(err) => return crate::cli::report(Err(err)),
                },
                (None, Some(url)) => {
                    let options = FetcherOptions {
                        allow_private: allow_private_key_urls,
                        ..Default::default()
                    };
                    match KeyFetcher::new(options) {
                        Ok(fetcher) => fetcher.verify(&url, &token, &validation).await,
                        Err(err) => return crate::cli::report(Err(err.into())),
                    }
                }
                (None, None) => {
                    return crate::cli::report(Err(anyhow::anyhow!(
                        "--public-key or --key-url is required"
                    )))
                }
            };
            print_verdict(verdict)
        }
    }
}

fn print_verdict(verdict: Result<vouch_jwt::Verified, VerifyError>) -> ExitCode {
    match verdict {
        Ok(verified) => {
            match serde_json::to_string_pretty(&Value::Object(verified.claims.all)) {
                Ok(json) => println!("{json}"),
                Err(err) => return crate::cli::report(Err(err.into())),
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("invalid token: {}: {}", err.reason.as_str(), err.detail);
            ExitCode::from(1)
        }
    }
}

fn sign(
    key: PathBuf,
    iss: String,
    sub: String,
    ttl: u64,
    kid: Option<String>,
    extra: Vec<String>,
) -> anyhow::Result<()> {
    let pem = std::fs::read_to_string(&key)
        .with_context(|| format!("cannot read the private key file {}", key.display()))?;
    let signing_key = SigningKey::from_pem(&pem)
        .with_context(|| format!("{} is not a usable RSA private key", key.display()))?;
    let now = unix_now();
    let ttl = i64::try_from(ttl).context("--ttl is too large")?;
    let mut claims = Map::new();
    for pair in extra {
        let (name, value) = parse_claim(&pair)?;
        claims.insert(name, value);
    }
    claims.insert("iss".into(), Value::from(iss));
    claims.insert("sub".into(), Value::from(sub));
    claims.insert("iat".into(), Value::from(now));
    claims.insert("exp".into(), Value::from(now.saturating_add(ttl)));
    let token = match kid {
        Some(kid) => signing_key.sign_with_kid(&claims, Some(&kid)),
        None => signing_key.sign(&claims),
    }
    .context("signing failed")?;
    println!("{token}");
    Ok(())
}

fn parse_claim(pair: &str) -> anyhow::Result<(String, Value)> {
    let Some((name, raw)) = pair.split_once('=') else {
        bail!("--claim {pair:?}: expected NAME=VALUE");
    };
    if name.is_empty() {
        bail!("--claim {pair:?}: the claim name is empty");
    }
    if matches!(name, "iss" | "sub" | "iat" | "exp") {
        bail!("--claim {name}: set it with its own flag (--iss, --sub, --ttl)");
    }
    let value = match serde_json::from_str::<Value>(raw) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => v,
        _ => Value::from(raw),
    };
    Ok((name.to_owned(), value))
}

pub fn read_token(arg: String) -> anyhow::Result<String> {
    let token = if arg == "-" {
        let mut buf = String::new();
        // One byte more than the limit, so an over-long token is seen as such.
        std::io::stdin()
            .take(MAX_TOKEN_INPUT + 1)
            .read_to_string(&mut buf)
            .context("cannot read the token from stdin")?;
        buf
    } else {
        arg
    };
    Ok(token.trim().to_owned())
}

fn read_key_file(path: &PathBuf) -> anyhow::Result<vouch_jwt::KeySet> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the public key file {}", path.display()))?;
    let (_format, keys) = vouch_jwt::parse_key_source(&bytes)
        .with_context(|| format!("{} holds no usable public key", path.display()))?;
    Ok(keys)
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
