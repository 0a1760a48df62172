//! HTML views. Every value that did not come from this file goes through [`esc`].

use std::fmt::Write;

/// HTML-escapes text for element content and quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The signed-in user as the pages show them.
pub(crate) struct Viewer<'a> {
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub email: &'a str,
    pub contact_id: &'a str,
    pub csrf_token: &'a str,
}

/// Where the chat widget comes from; `None` when no app id is configured.
pub(crate) struct Widget<'a> {
    pub chat_base: &'a str,
    pub app_id: &'a str,
}

fn layout(
    title: &str,
    viewer: Option<&Viewer<'_>>,
    main: &str,
    widget: Option<&Widget<'_>>,
) -> String {
    let account = match viewer {
        Some(v) => format!(
            r#"<span class="hello">Hi, {given}</span>
        <form method="post" action="/logout" class="inline">
          <input type="hidden" name="csrf_token" value="{csrf}">
          <button type="submit" class="link-button" data-testid="logout">Sign out</button>
        </form>"#,
            given = esc(v.given_name),
            csrf = esc(v.csrf_token),
        ),
        None => r#"<a class="button small" href="/login">Sign in</a>"#.to_string(),
    };
    let mut widget_html = String::new();
    if let Some(w) = widget {
        // The auth function first, so it exists by the time the widget asks for a token.
        let _ = write!(
            widget_html,
            r#"
  <script src="/assets/auth.js"></script>
  <script id="Microsoft_Omnichannel_LCWidget" src="{base}/livechatwidget/scripts/LiveChatBootstrapper.js" data-app-id="{app}" data-lcw-version="prod" data-org-id="vouch" data-org-url="{base}"></script>"#,
            base = esc(w.chat_base),
            app = esc(w.app_id),
        );
    }
    format!(
        r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} · Contoso Outfitters</title>
  <link rel="stylesheet" href="/assets/site.css">
</head>
<body>
  <a class="skip" href="#main">Skip to content</a>
  <header class="site-header">
    <div class="wrap header-row">
      <a class="brand" href="/" aria-label="Contoso Outfitters home"><span class="logo" aria-hidden="true">▲</span> Contoso Outfitters</a>
      <nav aria-label="Main">
        <ul>
          <li><a href="/#new">New arrivals</a></li>
          <li><a href="/#trail">Trail &amp; hiking</a></li>
          <li><a href="/#support">Help &amp; support</a></li>
        </ul>
      </nav>
      <div class="account">{account}</div>
    </div>
  </header>
  <main id="main" class="wrap">
{main}
  </main>
  <footer class="site-footer">
    <div class="wrap">© Contoso Outfitters · Free returns within 60 days · Chat with us any time</div>
  </footer>{widget_html}
</body>
</html>
"##,
        title = esc(title),
    )
}

const PRODUCTS: &str = r#"
    <section id="new" aria-labelledby="new-h">
      <h2 id="new-h">New arrivals</h2>
      <ul class="cards">
        <li class="card"><div class="swatch s1" aria-hidden="true"></div><h3>Ridgeline 38 L pack</h3><p>Ventilated back panel, rain cover included.</p><p class="price">$149</p></li>
        <li class="card"><div class="swatch s2" aria-hidden="true"></div><h3>Summit shell jacket</h3><p>Three-layer waterproof, 310 g.</p><p class="price">$229</p></li>
        <li class="card"><div class="swatch s3" aria-hidden="true"></div><h3>Trailhead mid boots</h3><p>Grippy outsole, waterproof lining.</p><p class="price">$179</p></li>
      </ul>
    </section>
    <section id="trail" aria-labelledby="trail-h" class="band">
      <h2 id="trail-h">Trail &amp; hiking</h2>
      <p>From day hikes to thru-hikes: tents, stoves, poles and the layers in between.</p>
    </section>"#;

pub(crate) fn home(viewer: Option<&Viewer<'_>>, widget: Option<&Widget<'_>>) -> String {
    let main = match viewer {
        Some(v) => format!(
            r#"    <section class="hero">
      <h1>Welcome back, <span data-testid="user-name">{given} {family}</span></h1>
      <p>Your orders, returns and saved gear are all in one place.</p>
    </section>
    <section id="support" aria-labelledby="support-h" class="panel">
      <h2 id="support-h">Help &amp; support</h2>
      <p>Questions about an order? Open the chat at the bottom right: our team sees that it is you — no need to repeat your details.</p>
      <dl class="facts">
        <dt>Signed in as</dt><dd>{email}</dd>
        <dt>Customer number</dt><dd><code>{contact}</code></dd>
      </dl>
    </section>{PRODUCTS}"#,
            given = esc(v.given_name),
            family = esc(v.family_name),
            email = esc(v.email),
            contact = esc(v.contact_id),
        ),
        None => format!(
            r#"    <section class="hero">
      <h1>Gear for every trail</h1>
      <p>Outdoor clothing and equipment, tested by people who use it.</p>
      <p><a class="button" href="/login">Sign in to your account</a></p>
    </section>
    <section id="support" aria-labelledby="support-h" class="panel">
      <h2 id="support-h">Help &amp; support</h2>
      <p><a href="/login">Sign in</a> so our support team can see your orders when you chat with us.</p>
    </section>{PRODUCTS}"#
        ),
    };
    let title = if viewer.is_some() {
        "Your account"
    } else {
        "Home"
    };
    layout(title, viewer, &main, widget)
}

pub(crate) fn login(csrf_token: &str, email: &str, error: Option<&str>) -> String {
    let alert = match error {
        Some(e) => format!(
            r#"<p class="alert" role="alert" data-testid="login-error">{}</p>"#,
            esc(e)
        ),
        None => String::new(),
    };
    let main = format!(
        r#"    <section class="auth-card" aria-labelledby="login-h">
      <h1 id="login-h">Sign in</h1>
      {alert}
      <form method="post" action="/login" novalidate>
        <input type="hidden" name="csrf_token" value="{csrf}">
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="{email}" data-testid="login-email">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024" data-testid="login-password">
        <button type="submit" class="button" data-testid="login-submit">Sign in</button>
      </form>
      <p class="muted">Trouble signing in? Call us at 0800 555 0100.</p>
    </section>"#,
        csrf = esc(csrf_token),
        email = esc(email),
    );
    layout("Sign in", None, &main, None)
}

/// A page for an error status: a heading, a sentence, and a way on.
pub(crate) fn message(title: &str, text: &str, link: (&str, &str)) -> String {
    let main = format!(
        r#"    <section class="auth-card" aria-labelledby="msg-h">
      <h1 id="msg-h">{title}</h1>
      <p role="alert">{text}</p>
      <p><a class="button" href="{href}">{label}</a></p>
    </section>"#,
        title = esc(title),
        text = esc(text),
        href = esc(link.0),
        label = esc(link.1),
    );
    layout(title, None, &main, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_dangerous() {
        assert_eq!(
            esc(r#"<script>"x"&'y'</script>"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn names_are_escaped_on_the_page() {
        let v = Viewer {
            given_name: "<img src=x onerror=alert(1)>",
            family_name: "\"Doe\"",
            email: "a@b.c",
            contact_id: "c",
            csrf_token: "t",
        };
        let html = home(Some(&v), None);
        assert!(!html.contains("<img src=x"));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!html.contains("<script"), "no widget without an app id");
    }
}
