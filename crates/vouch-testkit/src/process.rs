//! The `vouch` binary as a child process: a command that inherits no `VOUCH_*` configuration,
//! and reading its stdout until `vouch chat` says where it listens.

use std::ffi::OsStr;

use tokio::io::{AsyncBufRead, Lines};
use tokio::process::Command;

/// `exe` with every `VOUCH_*` variable of this process's environment removed, so the child's
/// configuration is what the caller passes, nothing else.
pub fn clean_command(exe: impl AsRef<OsStr>) -> Command {
    let mut c = Command::new(exe);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("VOUCH_") {
            c.env_remove(k);
        }
    }
    c
}

/// Reads lines until `vouch chat` prints `chat: URL`; the URL (trimmed), or None when the
/// output ends first.
pub async fn chat_url<R>(lines: &mut Lines<R>) -> std::io::Result<Option<String>>
where
    R: AsyncBufRead + Unpin,
{
    while let Some(line) = lines.next_line().await? {
        if let Some(url) = line.trim().strip_prefix("chat: ") {
            return Ok(Some(url.trim().to_string()));
        }
    }
    Ok(None)
}

/// Keeps reading (and dropping) whatever else the child prints, so it never blocks on a full
/// pipe.
pub fn drain<R>(mut lines: Lines<R>)
where
    R: AsyncBufRead + Unpin + Send + 'static,
{
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
}
