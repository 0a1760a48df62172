//! Loopback HTTP servers on 127.0.0.1:0: the website's key server and a server that counts
//! what reaches it. Both stop when dropped.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::serve::ListenerExt;
use axum::Router;

use crate::site_key;

/// A loopback HTTP server answering `/publickey` with a PEM (the site key's, from [`start`])
/// and `/html` with an HTML page (a body that is not a key).
///
/// [`start`]: KeyServer::start
pub struct KeyServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl KeyServer {
    /// Publishes the site key; panics when 127.0.0.1 cannot be bound.
    pub async fn start() -> KeyServer {
        KeyServer::publish(site_key().public_key().to_spki_pem())
            .await
            .expect("bind the key server on 127.0.0.1")
    }

    /// Publishes `pem` at `/publickey`.
    pub async fn publish(pem: String) -> std::io::Result<KeyServer> {
        let app = Router::new()
            .route("/publickey", axum::routing::get(move || async move { pem }))
            .route(
                "/html",
                axum::routing::get(|| async { axum::response::Html("<html>hello</html>") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(KeyServer {
            base,
            stop: Some(tx),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A loopback HTTP server serving `router` that counts accepted TCP connections and HTTP
/// requests (so a test can prove a refused URL was never even connected to).
pub struct Counting {
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Counting {
    /// On 127.0.0.1:0; panics when that cannot be bound.
    pub async fn start(router: Router) -> Counting {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), router)
            .await
            .expect("bind 127.0.0.1")
    }

    /// On `bind` (a loopback address); None when it cannot be bound (e.g. no IPv6 loopback).
    pub async fn start_on(bind: SocketAddr, router: Router) -> Option<Counting> {
        assert!(bind.ip().is_loopback(), "test servers are loopback only");
        let listener = tokio::net::TcpListener::bind(bind).await.ok()?;
        let addr = listener.local_addr().ok()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let c = connections.clone();
        let listener = listener.tap_io(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        });
        let r = requests.clone();
        let router = router.layer(middleware::from_fn(move |req: Request, next: Next| {
            let r = r.clone();
            async move {
                r.fetch_add(1, Ordering::SeqCst);
                next.run(req).await
            }
        }));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Some(Counting {
            addr,
            connections,
            requests,
            task,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A response body of `total` bytes of `A` in `chunk`-byte pieces with `pause` before each,
/// produced lazily; `produced` counts the bytes the server generated (so a test can prove a
/// client stopped reading early).
pub fn trickle(
    total: usize,
    chunk: usize,
    pause: std::time::Duration,
    produced: Arc<AtomicUsize>,
) -> axum::body::Body {
    let stream = futures_util::stream::unfold(0usize, move |sent| {
        let produced = produced.clone();
        async move {
            if sent >= total {
                return None;
            }
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            let n = chunk.min(total - sent);
            produced.fetch_add(n, Ordering::SeqCst);
            Some((Ok::<_, std::convert::Infallible>(vec![b'A'; n]), sent + n))
        }
    });
    axum::body::Body::from_stream(stream)
}
