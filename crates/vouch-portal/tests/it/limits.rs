use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;

use crate::common::{csrf_from, TestApp};

#[tokio::test]
async fn oversized_form_bodies_get_413_with_a_message() {
    let app = TestApp::start().await;
    let b = app.browser();
    let csrf = csrf_from(&b.text("/login").await);
    let big = "a".repeat(20 * 1024);
    let res = b
        .post_form(
            "/login",
            &[("email", big.as_str()), ("csrf_token", csrf.as_str())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.text().await.unwrap().contains("more than 16384 bytes"));

    // Without a Content-Length (chunked), the limit still holds.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b'a'; 1024])).collect();
    let res = b
        .http
        .post(b.url("/login"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn long_fields_wrong_encoding_and_duplicate_fields_are_refused() {
    let app = TestApp::start().await;
    let b = app.browser();
    let csrf = csrf_from(&b.text("/login").await);
    let long_email = format!("{}@example.com", "a".repeat(300));
    let res = b
        .post_form(
            "/login",
            &[
                ("email", long_email.as_str()),
                ("password", "x"),
                ("csrf_token", csrf.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("longer than 254 characters"));

    let long_pw = "p".repeat(2000);
    let res = b
        .post_form(
            "/login",
            &[
                ("email", "a@b.c"),
                ("password", long_pw.as_str()),
                ("csrf_token", csrf.as_str()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let res = b
        .http
        .post(b.url("/login"))
        .json(&serde_json::json!({"email": "a@b.c", "password": "x", "csrf_token": csrf}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let res = b
        .http
        .post(b.url("/login"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!(
            "email=a%40b.c&password=x&password=y&csrf_token={csrf}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("more than once"));
}
