use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use tempfile::TempDir;
use tokio::sync::oneshot;
use vouch_portal::{Clock, ManualClock, NewUser, Portal, PortalConfig, SystemClock, User};

pub use vouch_testkit::PASSWORD;

pub struct TestApp {
    pub base: String,
    pub config: PortalConfig,
    pub portal: Portal,
    pub clock: Arc<ManualClock>,
    _dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A browser-like client: its own cookie jar, no automatic redirects, from `source`
/// (any 127.x.y.z, so tests can act as several client addresses).
pub struct Browser {
    pub http: Client,
    pub jar: Arc<Jar>,
    pub base: String,
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut PortalConfig)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = PortalConfig::new(dir.path().join("data"));
        config.addr = "127.0.0.1:0".parse().unwrap();
        tweak(&mut config);
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let portal = Portal::open_with_clock(&config, clock.clone())
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(portal.clone().serve(listener, async move {
            let _ = rx.await;
        }));
        TestApp {
            base,
            config,
            portal,
            clock,
            _dir: dir,
            stop: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub async fn add_user(&self, email: &str) -> User {
        self.add_user_with(email, |_| {}).await
    }

    pub async fn add_user_with(&self, email: &str, tweak: impl FnOnce(&mut NewUser)) -> User {
        let mut user = NewUser {
            email: email.to_string(),
            given_name: "Alex".into(),
            family_name: "Doe".into(),
            contact_id: None,
            phone: Some("+1 555 0100".into()),
            context: serde_json::Map::new(),
            password: PASSWORD.into(),
        };
        tweak(&mut user);
        vouch_portal::add_user(&self.config, user).await.unwrap()
    }

    pub fn browser(&self) -> Browser {
        self.browser_from(1)
    }

    /// A browser connecting from 127.0.0.`n`.
    pub fn browser_from(&self, n: u8) -> Browser {
        let jar = Arc::new(Jar::default());
        let http = Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            .local_address(vouch_testkit::loopback(n))
            .no_proxy()
            .build()
            .unwrap();
        Browser {
            http,
            jar,
            base: self.base.clone(),
        }
    }

    /// A new user `email` (as [`TestApp::add_user`]) and a browser signed in as them.
    pub async fn user_signed_in(&self, email: &str) -> Browser {
        self.add_user(email).await;
        self.signed_in(email).await
    }

    /// A browser already signed in as `email`.
    pub async fn signed_in(&self, email: &str) -> Browser {
        let b = self.browser();
        let res = b.login(email, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        b
    }
}

/// A website user `email` with `password`, no phone and no context variables.
pub fn new_user(email: &str, password: &str) -> NewUser {
    NewUser {
        email: email.into(),
        given_name: "Alex".into(),
        family_name: "Doe".into(),
        contact_id: None,
        phone: None,
        context: serde_json::Map::new(),
        password: password.into(),
    }
}

/// The value of `name="csrf_token" value="…"` in a page.
pub fn csrf_from(html: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker).expect("page has a csrf_token field") + marker.len();
    let end = html[start..].find('"').unwrap();
    html[start..start + end].to_string()
}

impl Browser {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn text(&self, path: &str) -> String {
        self.get(path).await.text().await.unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Signs in through the real form: GET /login, scrape the token, POST.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        let page = self.get("/login").await;
        assert_eq!(page.status(), StatusCode::OK);
        let csrf = csrf_from(&page.text().await.unwrap());
        self.post_form(
            "/login",
            &[
                ("email", email),
                ("password", password),
                ("csrf_token", &csrf),
            ],
        )
        .await
    }

    pub async fn logout(&self) -> Response {
        let csrf = csrf_from(&self.text("/").await);
        self.post_form("/logout", &[("csrf_token", &csrf)]).await
    }

    /// The cookie `name` as this browser would send it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header.to_str().unwrap().split("; ").find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    }

    pub async fn token(&self) -> Response {
        self.get("/token").await
    }
}

/// Verifies `token` against the key source body at `path` (any of the three formats).
pub async fn verify_with(
    app: &TestApp,
    path: &str,
    token: &str,
) -> Result<vouch_jwt::Verified, vouch_jwt::VerifyError> {
    let http = Client::builder().no_proxy().build().unwrap();
    let body = http
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let (_, keys) = vouch_jwt::parse_key_source(&body).unwrap();
    vouch_jwt::verify(
        token,
        &keys,
        &vouch_jwt::Validation::new(app.now()).with_issuer(app.portal.issuer()),
    )
}

/// The `kid` in a token's header.
pub fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["kid"].as_str().unwrap().to_string()
}
