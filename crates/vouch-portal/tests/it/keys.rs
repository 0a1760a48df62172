use reqwest::StatusCode;

use crate::common::{kid_of, verify_with, TestApp};

#[tokio::test]
async fn rotation_signs_with_the_new_key_and_keeps_the_old_one_published_until_its_tokens_expire() {
    let app = TestApp::start_with(|c| {
        c.token_ttl = 900;
        c.rotation_grace = 60;
    })
    .await;
    let b = app.user_signed_in("alex@example.com").await;
    let old_kid = app.portal.current_kid();
    let old_token = b.token().await.text().await.unwrap();
    assert_eq!(kid_of(&old_token), old_kid);

    let t0 = app.now();
    let report = vouch_portal::rotate_keys_at(&app.config, t0).await.unwrap();
    assert_ne!(report.new_kid, old_kid);
    let retired = report.retired.clone().unwrap();
    assert_eq!(retired.kid, old_kid);
    assert_eq!(retired.published_until, t0 + 900 + 60);
    assert!(report.dropped.is_empty());
    app.portal.reload_keys().await.unwrap();
    assert_eq!(app.portal.current_kid(), report.new_kid);

    // New tokens use the new kid; /publickey is the new key.
    let new_token = b.token().await.text().await.unwrap();
    assert_eq!(kid_of(&new_token), report.new_kid);
    verify_with(&app, "/publickey", &new_token).await.unwrap();
    let err = verify_with(&app, "/publickey", &old_token)
        .await
        .unwrap_err();
    assert_eq!(err.reason, vouch_jwt::Reason::UnknownKid);

    // Both keys are published in the multi-key list and the JWKS; the old token verifies.
    let list: serde_json::Value = b.get("/publickeys").await.json().await.unwrap();
    let kids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&old_kid.as_str()) && kids.contains(&report.new_kid.as_str()));
    let old_entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == old_kid)
        .unwrap();
    assert_eq!(old_entry["expiry"].as_i64().unwrap(), t0 + 960);
    verify_with(&app, "/publickeys", &old_token).await.unwrap();
    verify_with(&app, "/.well-known/jwks.json", &old_token)
        .await
        .unwrap();
    verify_with(&app, "/publickeys", &new_token).await.unwrap();

    // Once the old key's last token can no longer be valid, it is no longer published…
    app.clock.set(t0 + 961);
    let list: serde_json::Value = b.get("/publickeys").await.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["kid"], report.new_kid);
    let jwks: serde_json::Value = b.get("/.well-known/jwks.json").await.json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);

    // …and the next rotation deletes its file.
    let keys_dir = app.config.data_dir.join("keys");
    assert!(keys_dir.join(format!("{old_kid}.pem")).exists());
    let report2 = vouch_portal::rotate_keys_at(&app.config, t0 + 961)
        .await
        .unwrap();
    assert_eq!(report2.dropped, vec![old_kid.clone()]);
    assert!(!keys_dir.join(format!("{old_kid}.pem")).exists());
    app.portal.reload_keys().await.unwrap();
    let list: serde_json::Value = b.get("/publickeys").await.json().await.unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "the second rotation's retired key"
    );
}

#[tokio::test]
async fn a_serving_portal_notices_a_rotation_by_another_process() {
    let app = TestApp::start().await;
    let before = app.portal.current_kid();
    let report = vouch_portal::rotate_keys(&app.config).await.unwrap();
    // The housekeeping task checks every few seconds; bounded wait.
    let b = app.browser();
    let mut seen = false;
    for _ in 0..40 {
        let jwks: serde_json::Value = b.get("/.well-known/jwks.json").await.json().await.unwrap();
        if jwks["keys"][0]["kid"] == report.new_kid {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(
        seen,
        "rotation from {before} to {} not picked up",
        report.new_kid
    );
}

#[cfg(unix)]
#[tokio::test]
async fn private_keys_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = TestApp::start().await;
    let dir = app.config.data_dir.join("keys");
    for name in [
        format!("{}.pem", app.portal.current_kid()),
        "private.key".into(),
    ] {
        let mode = std::fs::metadata(dir.join(&name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[tokio::test]
async fn an_existing_private_key_file_is_adopted_and_a_broken_one_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("keys")).unwrap();
    let key = vouch_jwt::SigningKey::generate(2048).unwrap();
    std::fs::write(data.join("keys/private.key"), key.to_pkcs8_pem()).unwrap();
    let config = vouch_portal::PortalConfig::new(&data);
    let portal = vouch_portal::Portal::open(&config).await.unwrap();
    assert_eq!(portal.current_kid(), key.kid());
    drop(portal);

    // Corrupt the current key file: opening fails with a message naming the file.
    std::fs::write(data.join(format!("keys/{}.pem", key.kid())), "not a key").unwrap();
    let err = vouch_portal::Portal::open(&config).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&format!("{}.pem", key.kid())), "{msg}");
    assert!(msg.contains("PEM"), "{msg}");

    // A blank data dir with an unreadable adopted key fails too, without generating one.
    let dir2 = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir2.path().join("keys")).unwrap();
    std::fs::write(
        dir2.path().join("keys/private.key"),
        "-----BEGIN PRIVATE KEY-----\nxx",
    )
    .unwrap();
    let err = vouch_portal::Portal::open(&vouch_portal::PortalConfig::new(dir2.path()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("private.key"), "{err}");
    let _ = StatusCode::OK;
}
