//! [`SmtpReceiver`]: a small SMTP server on 127.0.0.1 that keeps every message it is given, so a
//! test can check who got what. It speaks what a client needs to hand over mail (EHLO/HELO,
//! MAIL, RCPT, DATA, RSET, NOOP, QUIT), without TLS or authentication; written here because it is
//! about a hundred lines and a test needs to read the envelope, not just the body.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::WAIT;

/// Largest message kept; a bigger one is refused with 552.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// One message as handed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// `MAIL FROM` address.
    pub from: String,
    /// Every `RCPT TO` address.
    pub to: Vec<String>,
    /// The message (headers and body), dot-unstuffed, CRLF line ends.
    pub data: String,
}

/// A loopback SMTP server alive as long as this value.
pub struct SmtpReceiver {
    addr: SocketAddr,
    messages: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpReceiver {
    /// On a free port.
    pub async fn start() -> SmtpReceiver {
        Self::start_on(0).await.expect("bind an SMTP receiver")
    }

    /// On `127.0.0.1:port` (to come up where a service already expects it).
    pub async fn start_on(port: u16) -> std::io::Result<SmtpReceiver> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let messages = Arc::new(Mutex::new(Vec::new()));
        let kept = messages.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, kept.clone()));
            }
        });
        Ok(SmtpReceiver {
            addr,
            messages,
            task,
        })
    }

    /// `smtp://127.0.0.1:PORT` (plain SMTP, as `--smtp-url` takes it).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every message so far.
    pub fn received(&self) -> Vec<Received> {
        self.messages.lock().expect("messages").clone()
    }

    /// Waits until at least `n` messages arrived (panics after [`WAIT`]); all of them.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {n} emails arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn address(arg: &str) -> String {
    let a = arg.split_once(':').map_or(arg, |(_, a)| a).trim();
    let a = a.split_whitespace().next().unwrap_or_default();
    a.trim_start_matches('<').trim_end_matches('>').to_string()
}

fn reply(s: &str) -> Vec<u8> {
    format!("{s}\r\n").into_bytes()
}

async fn session(stream: TcpStream, kept: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write
        .write_all(&reply("220 vouch-test ESMTP"))
        .await
        .is_err()
    {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        match tokio::time::timeout(WAIT, lines.read_line(&mut line)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
        }
        let cmd = line.trim_end().to_string();
        let verb = cmd
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let answer: &'static str = match verb.as_str() {
            "EHLO" => "250-vouch-test\r\n250-8BITMIME\r\n250 SMTPUTF8",
            "HELO" => "250 vouch-test",
            "MAIL" => {
                from = address(&cmd);
                to.clear();
                "250 ok"
            }
            "RCPT" => {
                to.push(address(&cmd));
                "250 ok"
            }
            "RSET" => {
                from.clear();
                to.clear();
                "250 ok"
            }
            "NOOP" => "250 ok",
            "QUIT" => {
                let _ = write.write_all(&reply("221 bye")).await;
                return;
            }
            "DATA" if to.is_empty() => "503 RCPT first",
            "DATA" => {
                if write.write_all(&reply("354 go on")).await.is_err() {
                    return;
                }
                let mut data = String::new();
                let mut too_big = false;
                loop {
                    line.clear();
                    match tokio::time::timeout(WAIT, lines.read_line(&mut line)).await {
                        Ok(Ok(0)) | Err(_) | Ok(Err(_)) => return,
                        Ok(Ok(_)) => {}
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    if data.len() + line.len() > MAX_MESSAGE_BYTES {
                        too_big = true;
                        continue;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                if too_big {
                    "552 too big"
                } else {
                    kept.lock().expect("messages").push(Received {
                        from: from.clone(),
                        to: std::mem::take(&mut to),
                        data,
                    });
                    "250 kept"
                }
            }
            _ => "502 not here",
        };
        if write.write_all(&reply(answer)).await.is_err() {
            return;
        }
    }
}
