//! Request ids, as the chat service does them: the caller's `x-request-id` when it is 1–64
//! characters of `A-Z a-z 0-9 - _ .`, a fresh UUID otherwise; echoed in the answer and carried by
//! the request's tracing span (method, path and id — never the query or a header).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// The header that carries the request id, both ways.
pub(crate) static HEADER: HeaderName = HeaderName::from_static("x-request-id");

fn is_safe(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// The request's id: the incoming one when it is safe and sent once, a fresh one otherwise
/// (an unsafe or repeated incoming id is removed, so handlers never see it).
pub(crate) fn take_or_make(headers: &mut HeaderMap) -> HeaderValue {
    let mut values = headers.get_all(&HEADER).iter();
    if let (Some(v), None) = (values.next(), values.next()) {
        if is_safe(v) {
            return v.clone();
        }
    }
    headers.remove(&HEADER);
    fresh()
}

/// A random (version 4) UUID drawn from the thread's userspace CSPRNG. uuid's default
/// generator is one `getrandom(2)` system call per request; an id needs uniqueness, not
/// secrecy, and rand's `ThreadRng` (ChaCha, seeded from the OS) gives that without entering
/// the kernel on the hot path.
fn fresh() -> HeaderValue {
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    let mut buf = uuid::Uuid::encode_buffer();
    let text = id.hyphenated().encode_lower(&mut buf);
    HeaderValue::from_str(text).expect("a hyphenated UUID is a valid header value")
}

/// The request's span: id, method, path.
pub(crate) fn span(id: &HeaderValue, req: &Request) -> tracing::Span {
    let request_id = id.to_str().unwrap_or("-");
    tracing::info_span!("request", request_id, method = %req.method(), path = %req.uri().path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(&HEADER, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_safe_id_sent_once_is_kept() {
        let mut h = with(&["abc-1.2_3"]);
        assert_eq!(take_or_make(&mut h), "abc-1.2_3");
        assert_eq!(h[&HEADER], "abc-1.2_3");
    }

    #[test]
    fn unsafe_repeated_or_missing_ids_are_replaced_by_fresh_uuids() {
        let long = "a".repeat(65);
        for values in [
            &[][..],
            &["two words"],
            &["a", "b"],
            &[long.as_str()],
            &["x\"y"],
        ] {
            let mut h = with(values);
            let id = take_or_make(&mut h);
            let parsed = uuid::Uuid::parse_str(id.to_str().unwrap()).unwrap();
            assert_eq!(parsed.get_version_num(), 4);
            assert!(h.get(&HEADER).is_none(), "{values:?} left in the request");
        }
        assert_ne!(
            take_or_make(&mut HeaderMap::new()),
            take_or_make(&mut HeaderMap::new())
        );
    }
}
