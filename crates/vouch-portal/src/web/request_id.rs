//! Request ids, as the chat service does them: the caller's `x-request-id` when it is 1–64
//! characters of `A-Z a-z 0-9 - _ .`, a fresh UUID otherwise; echoed in the answer and carried by
//! the request's tracing span (method, path and id — never the query or a header).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::{MakeRequestId, RequestId};

/// The header that carries the request id, both ways.
pub(crate) static HEADER: HeaderName = HeaderName::from_static("x-request-id");

fn is_safe(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Drops an incoming `x-request-id` that is not safe (or is sent twice), so one is made instead.
pub(crate) async fn drop_unsafe(mut req: Request, next: Next) -> Response {
    let mut values = req.headers().get_all(&HEADER).iter();
    let keep = match (values.next(), values.next()) {
        (None, _) => true,
        (Some(v), None) => is_safe(v),
        (Some(_), Some(_)) => false,
    };
    if !keep {
        req.headers_mut().remove(&HEADER);
    }
    next.run(req).await
}

/// Makes fresh request ids: random (version 4) UUIDs drawn from the thread's userspace CSPRNG.
/// tower-http's `MakeRequestUuid` uses uuid's default generator, which is one `getrandom(2)`
/// system call per request; an id needs uniqueness, not secrecy, and rand's `ThreadRng`
/// (ChaCha, seeded from the OS) gives that without entering the kernel on the hot path.
#[derive(Clone, Copy, Default)]
pub(crate) struct MakeUuid;

impl MakeRequestId for MakeUuid {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut buf = uuid::Uuid::encode_buffer();
        let text = id.hyphenated().encode_lower(&mut buf);
        HeaderValue::from_str(text).ok().map(RequestId::new)
    }
}

/// The request's span: id, method, path.
pub(crate) fn span(req: &Request) -> tracing::Span {
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", request_id, method = %req.method(), path = %req.uri().path())
}
