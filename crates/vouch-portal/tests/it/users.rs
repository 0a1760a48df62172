use uuid::Uuid;
use vouch_portal::{NewUser, PortalError};

use crate::common::TestApp;

fn new_user(email: &str) -> NewUser {
    crate::common::new_user(email, "secret")
}

#[tokio::test]
async fn users_are_added_found_case_insensitively_and_duplicates_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = vouch_portal::PortalConfig::new(dir.path().join("fresh"));
    // Works before any portal ever started: creates the directory and database.
    let a = vouch_portal::add_user(&config, new_user("Alex@Example.com"))
        .await
        .unwrap();
    assert_eq!(a.email, "alex@example.com");
    assert_ne!(a.contact_id, Uuid::nil());
    let b = vouch_portal::add_user(&config, new_user("sam@example.com"))
        .await
        .unwrap();
    assert_ne!(a.contact_id, b.contact_id, "random contact ids");

    let found = vouch_portal::find_user_by_email(&config, "ALEX@example.COM")
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&a));
    assert_eq!(
        vouch_portal::find_user_by_email(&config, "nobody@example.com")
            .await
            .unwrap(),
        None
    );

    let err = vouch_portal::add_user(&config, new_user("alex@EXAMPLE.com"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PortalError::DuplicateEmail(ref e) if e == "alex@example.com"),
        "{err}"
    );

    let mut same_contact = new_user("other@example.com");
    same_contact.contact_id = Some(a.contact_id);
    let err = vouch_portal::add_user(&config, same_contact)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PortalError::DuplicateContactId(id) if id == a.contact_id),
        "{err}"
    );
}

#[tokio::test]
async fn invalid_users_are_refused_with_the_field_named() {
    let app = TestApp::start().await;
    let cases: Vec<(NewUser, &str)> = vec![
        (new_user("not-an-email"), "email"),
        (
            NewUser {
                given_name: " ".into(),
                ..new_user("a@example.com")
            },
            "given_name",
        ),
        (
            NewUser {
                password: String::new(),
                ..new_user("b@example.com")
            },
            "password",
        ),
        (
            NewUser {
                context: serde_json::json!({"nested": {"a": 1}})
                    .as_object()
                    .unwrap()
                    .clone(),
                ..new_user("c@example.com")
            },
            "context",
        ),
    ];
    for (user, field) in cases {
        match vouch_portal::add_user(&app.config, user).await {
            Err(PortalError::InvalidUser { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}
