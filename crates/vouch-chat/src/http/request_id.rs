//! Request ids: every request gets an `x-request-id` — the caller's when it is short and safe
//! (1–64 characters of `A-Z a-z 0-9 - _ .`), a fresh UUID otherwise — that the request's
//! tracing span carries (so every log line of the request, its WebSocket included, has it) and
//! that the answer echoes.
//!
//! The layers (outermost first): [`drop_unsafe`] removes an unusable incoming id, tower-http's
//! `SetRequestIdLayer` makes one when none is left, `PropagateRequestIdLayer` copies it into the
//! response, and the trace layer (`super::middleware::trace_layer`) puts it in the span.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The header that carries the request id, both ways.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id accepted from a caller.
pub const MAX_LEN: usize = 64;

/// Whether a caller's request id may be kept: short, and only characters that cannot forge a
/// log line or a header.
pub fn is_safe(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_LEN
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Drops an incoming `x-request-id` that is not [`is_safe`] (or is sent more than once), so a
/// fresh one is generated instead.
pub async fn drop_unsafe(mut req: Request, next: Next) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_ids() {
        for ok in [
            "a",
            "req-1",
            "0f8c2b1e-6b8e-4c1a-9d1b-2f6f0c3e9a11",
            "a.b_c",
        ] {
            assert!(is_safe(&HeaderValue::from_static(ok)), "{ok}");
        }
        let long = "x".repeat(MAX_LEN + 1);
        for bad in ["", "a b", "a\"b", "a/b", "{}", long.as_str()] {
            assert!(
                !is_safe(&HeaderValue::from_str(bad).expect("header")),
                "{bad}"
            );
        }
    }
}
