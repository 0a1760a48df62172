//! Issue 6, item 1: every attack token against BOTH doors — `vouch token verify` (the built
//! binary) and `POST /api/v1/widgets/{app}/sessions` of a running chat service — with the same
//! key URL, issuer and leeway. Each case names the exact reason code both must give; a case that
//! should verify must give exit 0 and 201 from both. The URLs that `jku`/`x5u` name (and the
//! `jwk`/`x5c` an attacker embeds) point at a loopback trap server that must see no request.

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};

use crate::support::*;

/// What both doors must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Verifies: exit 0 with the claims / 201 verified.
    Ok,
    /// Refused with this reason code.
    Reason(&'static str),
}

struct Case {
    name: String,
    token: String,
    expect: Expect,
}

fn case(name: impl Into<String>, token: String, expect: Expect) -> Case {
    Case {
        name: name.into(),
        token,
        expect,
    }
}

use Expect::{Ok as Accepted, Reason as R};

fn claims() -> Value {
    let t = now();
    json!({
        "iss": ISSUER, "sub": "contact-42", "iat": t - 5, "exp": t + 600,
        "given_name": "Alex", "family_name": "Doe", "email": "alex@example.com",
    })
}

fn with(mut c: Value, name: &str, v: Value) -> Value {
    c[name] = v;
    c
}

fn without(mut c: Value, name: &str) -> Value {
    c.as_object_mut().expect("object").remove(name);
    c
}

fn default_header() -> String {
    json!({"alg": "RS256", "typ": "JWT", "kid": site_key().kid()}).to_string()
}

/// `header.payload` as given (raw text, so duplicate keys survive), RS256-signed by `key`.
fn raw(key: &vouch_jwt::SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = key.sign_bytes(input.as_bytes()).expect("sign");
    format!("{input}.{}", b64(&sig))
}

fn good(c: &Value) -> String {
    raw(site_key(), &default_header(), &c.to_string())
}

fn parts(token: &str) -> (String, String, Vec<u8>) {
    let mut p = token.split('.');
    let (h, pl, s) = (p.next(), p.next(), p.next());
    (
        h.expect("h").to_string(),
        pl.expect("p").to_string(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.expect("s"))
            .expect("sig"),
    )
}

fn pkcs8_der(key: &vouch_jwt::SigningKey) -> Vec<u8> {
    let pem = key.to_pkcs8_pem();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("pkcs8 der")
}

fn hs(alg: &str, algorithm: hmac::Algorithm, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes()),
        b64(claims().to_string().as_bytes())
    );
    let tag = hmac::sign(&hmac::Key::new(algorithm, secret), input.as_bytes());
    format!("{input}.{}", b64(tag.as_ref()))
}

fn cases(trap: &Counting) -> Vec<Case> {
    let c = claims();
    let t = now();
    let mut v = vec![
        case("valid token (control)", good(&c), Accepted),
        case(
            "valid token without kid: each published key is tried",
            raw(site_key(), r#"{"alg":"RS256","typ":"JWT"}"#, &c.to_string()),
            Accepted,
        ),
    ];

    // alg none in every spelling, unsigned and with a real signature attached.
    for alg in ["none", "None", "NONE"] {
        let h = json!({"alg": alg, "typ": "JWT"}).to_string();
        v.push(case(
            format!("alg {alg}, unsigned"),
            format!("{}.{}.", b64(h.as_bytes()), b64(c.to_string().as_bytes())),
            R("unsupported_alg"),
        ));
        v.push(case(
            format!("alg {alg}, with an RS256 signature"),
            raw(site_key(), &h, &c.to_string()),
            R("unsupported_alg"),
        ));
    }

    // RS/HS confusion: HMAC keyed with the public key PEM the verifier trusts.
    let pem = site_key().public_key().to_spki_pem();
    for (alg, a) in [
        ("HS256", hmac::HMAC_SHA256),
        ("HS384", hmac::HMAC_SHA384),
        ("HS512", hmac::HMAC_SHA512),
    ] {
        v.push(case(
            format!("{alg} keyed with the public key PEM"),
            hs(alg, a, pem.as_bytes()),
            R("unsupported_alg"),
        ));
    }

    // ES256 and PS256.
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let ec_pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("ec");
    let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ec_pkcs8.as_ref())
        .expect("ec key");
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"ES256","typ":"JWT"}"#),
        b64(c.to_string().as_bytes())
    );
    let sig = ec.sign(&rng, input.as_bytes()).expect("es256");
    v.push(case(
        "ES256",
        format!("{input}.{}", b64(sig.as_ref())),
        R("unsupported_alg"),
    ));
    let rsa = aws_lc_rs::rsa::KeyPair::from_pkcs8(&pkcs8_der(site_key())).expect("rsa");
    let input = format!(
        "{}.{}",
        b64(
            json!({"alg": "PS256", "typ": "JWT", "kid": site_key().kid()})
                .to_string()
                .as_bytes()
        ),
        b64(c.to_string().as_bytes())
    );
    let mut sig = vec![0u8; rsa.public_modulus_len()];
    rsa.sign(
        &aws_lc_rs::signature::RSA_PSS_SHA256,
        &rng,
        input.as_bytes(),
        &mut sig,
    )
    .expect("ps256");
    v.push(case(
        "PS256 with the trusted key",
        format!("{input}.{}", b64(&sig)),
        R("unsupported_alg"),
    ));

    // Signature stripped, truncated, bit-flipped, from another key; payload changed.
    let token = good(&c);
    let (h, p, sig) = parts(&token);
    v.push(case(
        "signature stripped",
        format!("{h}.{p}."),
        R("bad_signature"),
    ));
    v.push(case(
        "signature segment removed",
        format!("{h}.{p}"),
        R("malformed"),
    ));
    v.push(case(
        "signature truncated",
        format!("{h}.{p}.{}", b64(&sig[..sig.len() / 2])),
        R("bad_signature"),
    ));
    let mut flipped = sig.clone();
    flipped[17] ^= 0x01;
    v.push(case(
        "signature bit-flipped",
        format!("{h}.{p}.{}", b64(&flipped)),
        R("bad_signature"),
    ));
    v.push(case(
        "signed by another key, naming the site key's kid",
        raw(stranger_key(), &default_header(), &c.to_string()),
        R("bad_signature"),
    ));
    v.push(case(
        "signed by another key, no kid, two published keys",
        raw(stranger_key(), r#"{"alg":"RS256"}"#, &c.to_string()),
        R("bad_signature"),
    ));
    let evil = with(c.clone(), "sub", json!("the-ceo"));
    v.push(case(
        "payload changed after signing",
        format!("{h}.{}.{}", b64(evil.to_string().as_bytes()), b64(&sig)),
        R("bad_signature"),
    ));

    // kid games.
    v.push(case(
        "kid pointing at the other published key",
        raw(
            site_key(),
            &json!({"alg": "RS256", "kid": second_key().kid()}).to_string(),
            &c.to_string(),
        ),
        R("bad_signature"),
    ));
    for kid in [
        "../../../../etc/passwd",
        "' OR 1=1 --",
        "\"; DROP TABLE contacts; --",
        "",
    ] {
        v.push(case(
            format!("kid {kid:?}"),
            raw(
                site_key(),
                &json!({"alg": "RS256", "kid": kid}).to_string(),
                &c.to_string(),
            ),
            R("unknown_kid"),
        ));
    }

    // Embedded keys and key URLs: refused, never followed. The URLs name the trap server.
    let attacker_jwk = stranger_key().public_key().to_jwk("attacker");
    let x5c =
        base64::engine::general_purpose::STANDARD.encode(stranger_key().public_key().to_spki_der());
    for (name, extra) in [
        ("jwk", json!(attacker_jwk)),
        ("jku", json!(trap.url("/jwks.json"))),
        ("x5u", json!(trap.url("/cert.pem"))),
        ("x5c", json!([x5c])),
        ("crit", json!(["exp"])),
    ] {
        let mut h = json!({"alg": "RS256", "typ": "JWT"});
        h[name] = extra;
        for (signer, who) in [(stranger_key(), "attacker"), (site_key(), "site")] {
            v.push(case(
                format!("{name} header, signed by the {who} key"),
                raw(signer, &h.to_string(), &c.to_string()),
                R("forbidden_header"),
            ));
        }
    }

    // NumericDate claims of the wrong type or range.
    for name in ["exp", "iat", "nbf"] {
        for (what, bad) in [
            ("a string", json!((t + 600).to_string())),
            ("null", json!(null)),
            ("negative", json!(-1)),
            ("huge", json!(1e20)),
            ("above 2^53", json!(9_007_199_254_740_993u64)),
        ] {
            v.push(case(
                format!("{name} {what}"),
                good(&with(c.clone(), name, bad)),
                R("invalid_claim"),
            ));
        }
    }
    // Fractions are valid NumericDates (RFC 7519 §2), floored.
    v.push(case(
        "exp as a float",
        good(&with(c.clone(), "exp", json!(t as f64 + 600.5))),
        Accepted,
    ));
    v.push(case(
        "iat as a float",
        good(&with(c.clone(), "iat", json!(t as f64 - 5.25))),
        Accepted,
    ));

    // Leeway (60 s on both doors).
    v.push(case(
        "exp just past the leeway",
        good(&with(c.clone(), "exp", json!(t - 61))),
        R("expired"),
    ));
    v.push(case(
        "exp long past",
        good(&with(c.clone(), "exp", json!(t - 3600))),
        R("expired"),
    ));
    v.push(case(
        "exp just inside the leeway",
        good(&with(c.clone(), "exp", json!(t - 45))),
        Accepted,
    ));
    v.push(case(
        "nbf beyond the leeway",
        good(&with(c.clone(), "nbf", json!(t + 3600))),
        R("not_yet_valid"),
    ));
    v.push(case(
        "iat in the future beyond the leeway",
        good(&with(c.clone(), "iat", json!(t + 3600))),
        R("not_yet_valid"),
    ));

    // Required claims, sub and iss.
    for name in ["iss", "sub", "iat", "exp"] {
        v.push(case(
            format!("{name} missing"),
            good(&without(c.clone(), name)),
            R("missing_claim"),
        ));
    }
    for (what, bad) in [
        ("empty", json!("")),
        ("a number", json!(42)),
        ("an object", json!({"id": 1})),
        ("10 KB long", json!("s".repeat(10 * 1024))),
    ] {
        v.push(case(
            format!("sub {what}"),
            good(&with(c.clone(), "sub", bad)),
            R("invalid_claim"),
        ));
    }
    v.push(case(
        "another issuer",
        good(&with(c.clone(), "iss", json!("evil.test"))),
        R("wrong_issuer"),
    ));

    // Duplicate JSON keys (parser differentials).
    v.push(case(
        "duplicate alg in the header",
        raw(
            site_key(),
            r#"{"alg":"RS256","alg":"none"}"#,
            &c.to_string(),
        ),
        R("malformed"),
    ));
    v.push(case(
        "duplicate sub in the payload",
        raw(
            site_key(),
            &default_header(),
            &c.to_string().replacen('{', r#"{"sub":"the-ceo","#, 1),
        ),
        R("malformed"),
    ));

    // base64url spelling.
    let (h64, p64, s64) = {
        let mut it = token.split('.');
        (
            it.next().expect("h").to_string(),
            it.next().expect("p").to_string(),
            it.next().expect("s").to_string(),
        )
    };
    v.push(case(
        "padded header",
        format!("{h64}=.{p64}.{s64}"),
        R("malformed"),
    ));
    v.push(case(
        "standard-alphabet signature",
        format!("{h64}.{p64}.{}/", s64.replace('-', "+").replace('_', "/")),
        R("malformed"),
    ));
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = s64.chars().last().expect("last");
    let idx = alphabet.find(last).expect("in alphabet");
    let twisted = alphabet.as_bytes()[idx ^ 1] as char;
    v.push(case(
        "non-canonical trailing bits in the signature",
        format!("{h64}.{p64}.{}{twisted}", &s64[..s64.len() - 1]),
        R("malformed"),
    ));

    // Shape and size.
    v.push(case(
        "five segments (JWE shape)",
        format!("{h64}.{p64}.{s64}.{s64}.{s64}"),
        R("malformed"),
    ));
    v.push(case(
        "a token over 16 KiB",
        good(&with(c.clone(), "filler", json!("f".repeat(17 * 1024)))),
        R("malformed"),
    ));

    // lwicontexts.
    let many: serde_json::Map<String, Value> =
        (0..101).map(|i| (format!("k{i}"), json!(i))).collect();
    for (what, bad) in [
        ("an object, not a string", json!({"plan": "gold"})),
        ("nested", json!(r#"{"plan":{"tier":"gold"}}"#)),
        ("101 entries", json!(Value::Object(many).to_string())),
        (
            "a value over 4000 characters",
            json!(json!({"v": "x".repeat(4001)}).to_string()),
        ),
        (
            "a name over 100 characters",
            json!(json!({"n".repeat(101): 1}).to_string()),
        ),
    ] {
        v.push(case(
            format!("lwicontexts {what}"),
            good(&with(c.clone(), "lwicontexts", bad)),
            R("invalid_claim"),
        ));
    }
    v.push(case(
        "lwicontexts as the contract says (control)",
        good(&with(
            c.clone(),
            "lwicontexts",
            json!(r#"{"plan":"gold","visits":3}"#),
        )),
        Accepted,
    ));
    v
}

/// The key source both doors use: a JWKS with the site key and a second key.
fn key_server_router() -> Router {
    let jwks = json!({"keys": [
        site_key().public_key().to_jwk(site_key().kid()),
        second_key().public_key().to_jwk(second_key().kid()),
    ]})
    .to_string();
    Router::new().route(
        "/jwks",
        get(move || {
            let jwks = jwks.clone();
            async move { ([("content-type", "application/json")], jwks) }
        }),
    )
}

#[tokio::test]
async fn every_token_attack_gets_the_same_reason_from_the_cli_and_the_sessions_endpoint() {
    let trap = Counting::start(Router::new().fallback(|| async { "you should not be here" })).await;
    let keys = Counting::start(key_server_router()).await;
    let app = ChatApp::start(true, |_| {}).await;
    let key_url = keys.url("/jwks");
    let (s, settings) = app.create_settings(&key_url).await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{settings}");
    let app_id = app.create_widget(settings["id"].as_str(), true).await;
    let cli_flags = [
        "--allow-private-key-urls",
        "--iss",
        ISSUER,
        "--leeway",
        "60",
    ];

    let all = cases(&trap);
    assert!(all.len() > 70, "{} cases", all.len());
    let mut wrong = Vec::new();
    for c in &all {
        let cli = cli_verify(&key_url, &cli_flags, &c.token).await;
        let (status, body) = app.session(&app_id, Some(&c.token)).await;
        let cli_reason = cli.reason();
        let http_reason = match status {
            201 if body["verified"] == true => "ok".to_string(),
            401 if body["error"] == "invalid_token" => {
                body["reason"].as_str().unwrap_or("?").to_string()
            }
            other => format!("HTTP {other} {body}"),
        };
        let want = match c.expect {
            Expect::Ok => "ok",
            Expect::Reason(r) => r,
        };
        if cli_reason != want || http_reason != want {
            wrong.push(format!(
                "{}: want {want}, cli {cli_reason}, sessions {http_reason}",
                c.name
            ));
        }
        if c.expect == Expect::Ok {
            let claims: Value = serde_json::from_str(&cli.stdout).expect("claims JSON");
            assert_eq!(claims["iss"], ISSUER, "{}", c.name);
            assert_eq!(body["contact"]["external_id"], claims["sub"], "{}", c.name);
        } else {
            // The detail never carries the token back.
            assert!(
                !cli.stderr.contains(&c.token),
                "{}: stderr echoes the token",
                c.name
            );
            assert!(
                !body.to_string().contains(&c.token),
                "{}: the answer echoes the token",
                c.name
            );
        }
    }
    assert!(wrong.is_empty(), "verdicts differ:\n{}", wrong.join("\n"));
    assert_eq!(
        (trap.connections(), trap.requests()),
        (0, 0),
        "a URL named in a token header was contacted"
    );
    assert!(keys.requests() > 0, "the key server was used");
}

/// A 1 MB token: the CLI reads it (stdin) and refuses it as `malformed`; the chat service
/// refuses a 1 MB header before any handler runs (431 Request Header Fields Too Large), and keeps
/// serving. A token just over the verifier's 16 KiB limit reaches both verifiers and is
/// `malformed` on both (in the suite above).
#[tokio::test]
async fn a_one_megabyte_token_is_refused_by_both_and_the_service_keeps_serving() {
    let keys = Counting::start(key_server_router()).await;
    let app = ChatApp::start(true, |_| {}).await;
    let key_url = keys.url("/jwks");
    let (s, settings) = app.create_settings(&key_url).await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{settings}");
    let app_id = app.create_widget(settings["id"].as_str(), true).await;

    // Just under 1 MB reaches the verifier; 1.4 MB is refused whole by the CLI's stdin limit
    // (never verified as a cut prefix).
    let one_mb = good(&with(claims(), "filler", json!("f".repeat(750_000))));
    assert!(
        (990_000..1_048_576).contains(&one_mb.len()),
        "{}",
        one_mb.len()
    );
    let huge = good(&with(claims(), "filler", json!("f".repeat(1024 * 1024))));
    for (t, detail) in [
        (&one_mb, "bytes: at most 16384"),
        (&huge, "the token is longer than 1048576 bytes"),
    ] {
        let cli = cli_verify(&key_url, &["--allow-private-key-urls"], t).await;
        assert_eq!(cli.reason(), "malformed", "{cli:?}");
        assert!(cli.stderr.contains(detail), "{}", cli.stderr);
        assert!(
            cli.stderr.len() < 1000,
            "the refusal is short: {}",
            cli.stderr.len()
        );
    }

    let (status, body) = app.session(&app_id, Some(&one_mb)).await;
    assert!(
        status == 431,
        "a 1 MB header is refused at the HTTP layer: {status} {body}"
    );
    let (status, body) = app.session(&app_id, Some(&good(&claims()))).await;
    assert_eq!(
        (status, body["verified"].clone()),
        (201, json!(true)),
        "{body}"
    );
    assert!(app.healthy().await);
}
