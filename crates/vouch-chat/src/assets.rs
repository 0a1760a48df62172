//! Browser code (widget, agent console, admin pages) embedded in the binary.
//!
//! Plain JavaScript and CSS, no build step. The console and admin HTML carry no
//! inline script or style (their CSP is `script-src 'self'; style-src 'self'`);
//! the widget styles itself through a constructable stylesheet inside its own
//! shadow root, which the host page's CSP does not block.

/// The customer widget, served as `/livechatwidget/scripts/LiveChatBootstrapper.js`.
pub const WIDGET_JS: &str = include_str!("assets/widget.js");
/// The agent console page, served at `/agent`.
pub const AGENT_HTML: &str = include_str!("assets/agent.html");
/// The admin pages, served at `/admin`.
pub const ADMIN_HTML: &str = include_str!("assets/admin.html");

const AGENT_JS: &str = include_str!("assets/agent.js");
const ADMIN_JS: &str = include_str!("assets/admin.js");
const CONSOLE_CSS: &str = include_str!("assets/console.css");

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file under `/static/`: (name, content type, body).
const STATIC_FILES: &[(&str, &str, &str)] = &[
    ("agent.js", JS, AGENT_JS),
    ("admin.js", JS, ADMIN_JS),
    ("console.css", CSS, CONSOLE_CSS),
];

/// `/static/{name}` files: (content type, body); None for unknown names.
pub fn static_file(name: &str) -> Option<(&'static str, &'static str)> {
    STATIC_FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, ct, body)| (*ct, *body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGES: &[(&str, &str)] = &[("agent.html", AGENT_HTML), ("admin.html", ADMIN_HTML)];

    /// Every `/static/…` reference in the pages (src="/static/x" or href="/static/x").
    fn static_refs(html: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = html;
        while let Some(i) = rest.find("\"/static/") {
            let tail = &rest[i + "\"/static/".len()..];
            let end = tail.find('"').unwrap_or(tail.len());
            out.push(&tail[..end]);
            rest = &tail[end..];
        }
        out
    }

    /// ` on<letters>=`: an inline event handler attribute.
    fn has_inline_handler(html: &str) -> bool {
        let b = html.as_bytes();
        (0..b.len()).any(|i| {
            if !(b[i].is_ascii_whitespace() && html[i + 1..].starts_with("on")) {
                return false;
            }
            let rest = &b[i + 3..];
            let n = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
            n > 0 && rest.get(n) == Some(&b'=')
        })
    }

    #[test]
    fn every_static_reference_in_the_pages_is_served() {
        for (page, html) in PAGES {
            let refs = static_refs(html);
            assert!(!refs.is_empty(), "{page} references no /static/ file");
            for name in refs {
                let (ct, body) = static_file(name)
                    .unwrap_or_else(|| panic!("{page} references /static/{name}, not served"));
                assert!(!body.is_empty(), "{name} is empty");
                if name.ends_with(".js") {
                    assert_eq!(ct, JS);
                } else if name.ends_with(".css") {
                    assert_eq!(ct, CSS);
                }
            }
        }
    }

    #[test]
    fn unknown_static_names_are_not_served() {
        for name in [
            "",
            "x.js",
            "../assets.rs",
            "agent.html",
            "AGENT.JS",
            "agent.js/",
        ] {
            assert!(static_file(name).is_none(), "{name:?} should not be served");
        }
    }

    #[test]
    fn pages_have_no_inline_script_or_style() {
        for (page, html) in PAGES {
            let lower = html.to_ascii_lowercase();
            // Every <script> must have a src and an empty body.
            let mut rest = lower.as_str();
            while let Some(i) = rest.find("<script") {
                let tag_end = rest[i..]
                    .find('>')
                    .map(|e| i + e)
                    .expect("unclosed <script");
                let tag = &rest[i..=tag_end];
                assert!(
                    tag.contains(" src=\"/static/"),
                    "{page}: inline <script>: {tag}"
                );
                let after = &rest[tag_end + 1..];
                assert!(
                    after.starts_with("</script>"),
                    "{page}: <script> with a body: {tag}"
                );
                rest = after;
            }
            assert!(!lower.contains("<style"), "{page}: <style> element");
            assert!(!lower.contains(" style="), "{page}: style= attribute");
            assert!(!has_inline_handler(&lower), "{page}: inline on…= handler");
        }
    }

    #[test]
    fn pages_carry_the_console_hooks() {
        for id in [
            "agent-email",
            "agent-password",
            "agent-login",
            "agent-input",
            "agent-send",
            "end-conversation",
            "verified-badge",
            "contact-name",
            "contact-email",
            "contact-id",
            "context-vars",
        ] {
            let needle = format!("data-testid=\"{id}\"");
            assert!(
                AGENT_HTML.contains(&needle) || AGENT_JS.contains(&format!("'{id}'")),
                "agent console lacks {id}"
            );
        }
        for id in ["conversation-item", "accept", "history-item"] {
            assert!(AGENT_JS.contains(&format!("'{id}'")), "agent.js lacks {id}");
        }
    }

    #[test]
    fn widget_carries_every_widget_hook_and_no_html_sinks() {
        for id in [
            "chat-launcher",
            "chat-panel",
            "chat-input",
            "chat-send",
            "chat-message",
            "chat-status",
            "chat-error",
        ] {
            assert!(WIDGET_JS.contains(&format!("'{id}'")), "widget lacks {id}");
        }
        for js in [WIDGET_JS, AGENT_JS, ADMIN_JS] {
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
            ] {
                assert!(!js.contains(sink), "browser code uses {sink}");
            }
        }
    }
}
