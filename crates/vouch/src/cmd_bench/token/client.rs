//! The bench's HTTP client: one browser tab asking for one route in a loop over one keep-alive
//! HTTP/1.1 connection, every answer checked.
//!
//! Written by hand on purpose: the bench measures the *server*, and the load generator shares
//! the same cores. A general client (reqwest on hyper: URL parsing, a connection pool, header
//! maps, a dispatch task per connection) costs about as much CPU per request as the portal's
//! own HTTP framing, so the bench would largely measure its client. This one writes a prebuilt
//! request and reads one `Content-Length` answer; the server does what it does for a browser.
//! Anything but the answer a route must give is an error, never a request served.

use std::net::SocketAddr;

use anyhow::{bail, Context};
use tokio::net::TcpStream;

/// Largest answer the client accepts: a token is under 2 KiB, the headers under 1 KiB.
const MAX_RESPONSE_BYTES: usize = 16 * 1024;

/// The routes the bench asks for, and what a good answer from each is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The portal's `/token`: 200, `application/jwt`, `Cache-Control: no-store`, a JWT.
    Token,
    /// The portal's `/healthz`: 200, `ok`, `Cache-Control: no-store`.
    Healthz,
    /// The blog app's `/privatekey` (its code verbatim): 200, `application/jwt` (express adds a
    /// charset; the blog's code sets no `Cache-Control`), a JWT.
    BlogToken,
}

impl Route {
    const ALL: [Route; 3] = [Route::Token, Route::Healthz, Route::BlogToken];

    pub fn path(self) -> &'static str {
        match self {
            Route::Token => "/token",
            Route::Healthz => "/healthz",
            Route::BlogToken => "/privatekey",
        }
    }

    fn content_type_ok(self, value: &str) -> bool {
        match self {
            Route::Token => value == "application/jwt",
            Route::Healthz => value == "text/plain; charset=utf-8",
            Route::BlogToken => value.split(';').next().map(str::trim) == Some("application/jwt"),
        }
    }

    fn needs_no_store(self) -> bool {
        self != Route::BlogToken
    }

    fn body_ok(self, body: &[u8]) -> bool {
        match self {
            Route::Token | Route::BlogToken => is_jwt_shaped(body),
            Route::Healthz => body == b"ok\n",
        }
    }
}

/// One browser tab (with the session cookie of a real sign-in, or none for the blog app) on one
/// keep-alive connection.
pub struct BenchClient {
    addr: SocketAddr,
    stream: TcpStream,
    /// The prebuilt `GET` of each route, in [`Route::ALL`]'s order.
    requests: Vec<Vec<u8>>,
    buf: Vec<u8>,
}

impl BenchClient {
    pub async fn connect(addr: SocketAddr, cookie: Option<&str>) -> anyhow::Result<BenchClient> {
        let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
        let requests = Route::ALL
            .iter()
            .map(|r| {
                format!("GET {} HTTP/1.1\r\nHost: {addr}\r\n{cookie}\r\n", r.path()).into_bytes()
            })
            .collect();
        Ok(BenchClient {
            addr,
            stream: Self::open(addr).await?,
            requests,
            buf: Vec::with_capacity(4096),
        })
    }

    async fn open(addr: SocketAddr) -> anyhow::Result<TcpStream> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    /// A fresh connection in place of the current one.
    pub async fn reconnect(&mut self) -> anyhow::Result<()> {
        self.buf.clear();
        self.stream = Self::open(self.addr).await?;
        Ok(())
    }

    /// One `GET`: Ok when the answer is the one `route` must give.
    pub async fn fetch(&mut self, route: Route) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt;
        let index = Route::ALL.iter().position(|r| *r == route).unwrap_or(0);
        self.stream.write_all(&self.requests[index]).await?;
        self.buf.clear();
        let (head_len, body_len) = loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..end])?;
                break (end + 4, check_head(head, route)?);
            }
            self.read_more().await?;
        };
        while self.buf.len() < head_len + body_len {
            self.read_more().await?;
        }
        if self.buf.len() != head_len + body_len {
            bail!("bytes after the answer's body");
        }
        if !route.body_ok(&self.buf[head_len..]) {
            bail!("unexpected body from {}", route.path());
        }
        Ok(())
    }

    /// Appends what the socket has to `buf` (its capacity is kept between requests).
    async fn read_more(&mut self) -> anyhow::Result<()> {
        use tokio::io::AsyncReadExt;
        if self.buf.len() >= MAX_RESPONSE_BYTES {
            bail!("answer larger than {MAX_RESPONSE_BYTES} bytes");
        }
        if self.stream.read_buf(&mut self.buf).await? == 0 {
            bail!("the server closed the connection");
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Checks the status line and headers of an answer from `route`; returns the body's length.
fn check_head(head: &str, route: Route) -> anyhow::Result<usize> {
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    if !status.starts_with("HTTP/1.1 200 ") {
        bail!("status line {status:?}");
    }
    let (mut length, mut typed, mut no_store) = (None, false, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            bail!("malformed header line");
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>()?);
        } else if name.eq_ignore_ascii_case("content-type") {
            typed = route.content_type_ok(value);
        } else if name.eq_ignore_ascii_case("cache-control") {
            no_store = value == "no-store";
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            || (name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close"))
        {
            bail!("unexpected {name}: {value}");
        }
    }
    if !typed || (route.needs_no_store() && !no_store) {
        bail!(
            "wrong Content-Type or no Cache-Control: no-store from {}",
            route.path()
        );
    }
    length.context("no Content-Length")
}

/// Three non-empty base64url segments separated by dots.
fn is_jwt_shaped(body: &[u8]) -> bool {
    let mut parts = 0;
    for part in body.split(|b| *b == b'.') {
        parts += 1;
        if part.is_empty()
            || !part
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            return false;
        }
    }
    parts == 3
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        "HTTP/1.1 200 OK\r\ncontent-type: application/jwt\r\ncache-control: no-store\r\n\
                        content-length: 12";

    #[test]
    fn only_a_200_jwt_that_is_not_cached_counts() {
        assert_eq!(check_head(GOOD, Route::Token).unwrap(), 12);
        let refused = [
            GOOD.replace("200 OK", "401 Unauthorized"),
            GOOD.replace("application/jwt", "text/plain; charset=utf-8"),
            GOOD.replace("no-store", "public, max-age=60"),
            GOOD.replace("content-length: 12", "transfer-encoding: chunked"),
            format!("{GOOD}\r\nconnection: close"),
            "HTTP/1.1 200 OK\r\nbroken header".to_string(),
        ];
        for head in refused {
            assert!(check_head(&head, Route::Token).is_err(), "{head}");
        }
    }

    /// What express answers for the blog's `/privatekey` (the headers Node sends).
    const BLOG: &str = "HTTP/1.1 200 OK\r\nX-Powered-By: Express\r\n\
                        Content-Type: application/jwt; charset=utf-8\r\nContent-Length: 12\r\n\
                        ETag: W/\"c-x\"\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5";

    #[test]
    fn the_blog_app_is_held_to_its_own_answer() {
        assert_eq!(check_head(BLOG, Route::BlogToken).unwrap(), 12);
        // The blog's code sets no Cache-Control: the portal's routes must.
        assert!(check_head(BLOG, Route::Token).is_err());
        for head in [
            BLOG.replace("200 OK", "404 Not Found"),
            BLOG.replace("application/jwt", "text/html"),
            BLOG.replace("Content-Length: 12", "Transfer-Encoding: chunked"),
        ] {
            assert!(check_head(&head, Route::BlogToken).is_err(), "{head}");
        }
    }

    #[test]
    fn a_jwt_is_three_base64url_segments() {
        assert!(is_jwt_shaped(b"eyJh.eyJz.c2ln-_"));
        for bad in [
            &b"eyJh.eyJz"[..],
            b"eyJh..c2ln",
            b"eyJh.eyJz.c2ln.x",
            b"not signed in\n",
            b"",
        ] {
            assert!(!is_jwt_shaped(bad), "{}", String::from_utf8_lossy(bad));
        }
    }
}
