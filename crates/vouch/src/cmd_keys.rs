//! `vouch keys generate`: a PKCS#8 private key (mode 0600) and its SPKI public key.

use std::{fs, io::Write, path::PathBuf};

use anyhow::{bail, Context};
use clap::Subcommand;
use vouch_jwt::SigningKey;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Write `private.key` (PKCS#8 PEM, mode 0600) and `public.key` (SPKI PEM) into DIR.
    Generate {
        /// Folder for the two files; created when missing.
        #[arg(long)]
        dir: PathBuf,
        /// Modulus size.
        #[arg(long, default_value_t = 2048, value_parser = parse_bits)]
        bits: usize,
        /// Replace existing key files instead of refusing.
        #[arg(long)]
        force: bool,
    },
}

fn parse_bits(raw: &str) -> Result<usize, String> {
    match raw {
        "2048" | "3072" | "4096" => Ok(raw.parse().unwrap_or(2048)),
        _ => Err("RSA keys of 2048, 3072 or 4096 bits".to_owned()),
    }
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Generate { dir, bits, force } => generate(dir, bits, force),
    }
}

fn generate(dir: PathBuf, bits: usize, force: bool) -> anyhow::Result<()> {
    let private_path = dir.join("private.key");
    let public_path = dir.join("public.key");
    if !force && (private_path.exists() || public_path.exists()) {
        bail!(
            "{} already holds a key; pass --force to replace it (tokens signed with the old key stop verifying)",
            dir.display()
        );
    }
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key = SigningKey::generate(bits).context("key generation failed")?;
    write_private(&private_path, key.to_pkcs8_pem().as_bytes())?;
    fs::write(&public_path, key.public_key().to_spki_pem())
        .with_context(|| format!("cannot write {}", public_path.display()))?;
    println!("{}", private_path.display());
    println!("{}", public_path.display());
    println!("kid {}", key.kid());
    Ok(())
}

/// Creates the file with mode 0600 from the start, so the key is never world-readable, not
/// even between create and chmod.
fn write_private(path: &std::path::Path, pem: &[u8]) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(pem)?;
    file.sync_all()?;
    Ok(())
}
