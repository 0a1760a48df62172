//! Browser code (widget, agent console, admin pages) embedded in the binary.
//!
//! Plain JavaScript ES modules and CSS, no build step. The console and admin HTML carry no
//! inline script or style (their CSP is `script-src 'self'; style-src 'self'`) and load their
//! modules from `/static/`. The widget is a classic script at the snippet's URL that imports
//! its modules from `/livechatwidget/scripts/widget/`; it styles itself through a
//! constructable stylesheet inside its own shadow root, which the host page's CSP does not
//! block.

use std::sync::LazyLock;

/// The widget's bootstrapper as written; it is served with the modules' version filled in
/// (see [`widget_bootstrapper`]).
pub const WIDGET_JS: &str = include_str!("assets/widget/bootstrapper.js");
/// The sign-in form both pages share, and where each page has it.
const SIGN_IN_FORM: &str = include_str!("assets/sign-in.html");
const SIGN_IN_SLOT: &str = "  <!-- sign-in form: sign-in.html -->\n";

fn with_sign_in(page: &str) -> String {
    page.replacen(SIGN_IN_SLOT, SIGN_IN_FORM, 1)
}

/// The agent console page, served at `/agent`.
pub fn agent_html() -> &'static str {
    static PAGE: LazyLock<String> =
        LazyLock::new(|| with_sign_in(include_str!("assets/agent.html")));
    &PAGE
}

/// The end of each admin form (its error and saved lines, Save and Cancel), with `PREFIX`
/// standing for the form's id prefix, and where each form has it.
const FORM_FOOTER: &str = include_str!("assets/form-footer.html");
const ADMIN_FORMS: [&str; 6] = [
    "settings", "widget", "canned", "agents", "queues", "routing",
];

/// The admin pages, served at `/admin`.
pub fn admin_html() -> &'static str {
    static PAGE: LazyLock<String> = LazyLock::new(|| {
        let mut page = with_sign_in(include_str!("assets/admin.html"));
        for form in ADMIN_FORMS {
            let slot = format!("        <!-- form footer: {form} -->\n");
            page = page.replacen(&slot, &FORM_FOOTER.replace("PREFIX", form), 1);
        }
        page
    });
    &PAGE
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file under `/static/`: (name, content type, body).
const STATIC_FILES: &[(&str, &str, &str)] = &[
    ("agent.js", JS, include_str!("assets/agent.js")),
    ("agent-model.js", JS, include_str!("assets/agent-model.js")),
    ("agent-view.js", JS, include_str!("assets/agent-view.js")),
    ("agent-files.js", JS, include_str!("assets/agent-files.js")),
    (
        "agent-search.js",
        JS,
        include_str!("assets/agent-search.js"),
    ),
    (
        "agent-socket.js",
        JS,
        include_str!("assets/agent-socket.js"),
    ),
    ("agent-notes.js", JS, include_str!("assets/agent-notes.js")),
    (
        "agent-canned.js",
        JS,
        include_str!("assets/agent-canned.js"),
    ),
    (
        "agent-canned-mine.js",
        JS,
        include_str!("assets/agent-canned-mine.js"),
    ),
    ("admin.js", JS, include_str!("assets/admin.js")),
    (
        "admin-reports.js",
        JS,
        include_str!("assets/admin-reports.js"),
    ),
    (
        "admin-canned.js",
        JS,
        include_str!("assets/admin-canned.js"),
    ),
    (
        "admin-webhooks.js",
        JS,
        include_str!("assets/admin-webhooks.js"),
    ),
    (
        "agent-queues.js",
        JS,
        include_str!("assets/agent-queues.js"),
    ),
    (
        "agent-presence.js",
        JS,
        include_str!("assets/agent-presence.js"),
    ),
    (
        "agent-transfer.js",
        JS,
        include_str!("assets/agent-transfer.js"),
    ),
    ("admin-desk.js", JS, include_str!("assets/admin-desk.js")),
    ("common.js", JS, include_str!("assets/common.js")),
    ("strings.js", JS, include_str!("assets/strings.js")),
    ("console.css", CSS, include_str!("assets/console.css")),
];

/// The widget's ES modules under `/livechatwidget/scripts/widget/`: (name, body).
const WIDGET_MODULES: &[(&str, &str)] = &[
    ("main.js", include_str!("assets/widget/main.js")),
    ("auth.js", include_str!("assets/widget/auth.js")),
    ("errors.js", include_str!("assets/widget/errors.js")),
    ("files.js", include_str!("assets/widget/files.js")),
    ("http.js", include_str!("assets/widget/http.js")),
    ("messages.js", include_str!("assets/widget/messages.js")),
    ("offline.js", include_str!("assets/widget/offline.js")),
    ("session.js", include_str!("assets/widget/session.js")),
    ("strings.js", include_str!("assets/widget/strings.js")),
    ("styles.js", include_str!("assets/widget/styles.js")),
    ("transport.js", include_str!("assets/widget/transport.js")),
    ("util.js", include_str!("assets/widget/util.js")),
    ("view.js", include_str!("assets/widget/view.js")),
    ("wire.js", include_str!("assets/widget/wire.js")),
    // one catalog a language (strings.js loads English and the page's language)
    ("locale-en.js", include_str!("assets/widget/locale-en.js")),
    ("locale-de.js", include_str!("assets/widget/locale-de.js")),
    ("locale-fr.js", include_str!("assets/widget/locale-fr.js")),
    ("locale-es.js", include_str!("assets/widget/locale-es.js")),
    ("locale-nl.js", include_str!("assets/widget/locale-nl.js")),
    ("locale-ar.js", include_str!("assets/widget/locale-ar.js")),
];

/// The widget modules' version: a hash of their names and text. The bootstrapper imports them
/// from `/livechatwidget/scripts/widget/{version}/`, so a browser may keep them for good and
/// a release that changes any of them is a new path (no mix of old and new modules).
pub fn widget_version() -> &'static str {
    static VERSION: LazyLock<String> = LazyLock::new(|| {
        // FNV-1a, 64 bits: a cache key, not a security property.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (name, body) in WIDGET_MODULES {
            for b in name.bytes().chain([0]).chain(body.bytes()).chain([0]) {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{h:016x}")
    });
    &VERSION
}

/// `/livechatwidget/scripts/LiveChatBootstrapper.js`: the bootstrapper, importing
/// `widget/{version}/main.js`.
pub fn widget_bootstrapper() -> &'static str {
    static BOOTSTRAPPER: LazyLock<String> = LazyLock::new(|| {
        WIDGET_JS.replace(
            "'widget/main.js'",
            &format!("'widget/{}/main.js'", widget_version()),
        )
    });
    &BOOTSTRAPPER
}

/// `/static/{name}` files: (content type, body); None for unknown names.
pub fn static_file(name: &str) -> Option<(&'static str, &'static str)> {
    STATIC_FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, ct, body)| (*ct, *body))
}

/// `/livechatwidget/scripts/widget/{name}` modules: (content type, body); None for unknown names.
pub fn widget_module(name: &str) -> Option<(&'static str, &'static str)> {
    WIDGET_MODULES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, body)| (JS, *body))
}

#[cfg(test)]
mod catalogs;

#[cfg(test)]
mod tests {
    use super::*;

    fn pages() -> [(&'static str, &'static str); 2] {
        [("agent.html", agent_html()), ("admin.html", admin_html())]
    }

    /// Every script a browser may run: the bootstrapper, the widget's modules, `/static/` JS.
    fn all_scripts() -> Vec<(&'static str, &'static str)> {
        let mut out = vec![("LiveChatBootstrapper.js", WIDGET_JS)];
        out.extend(WIDGET_MODULES.iter().copied());
        out.extend(
            STATIC_FILES
                .iter()
                .filter(|(n, _, _)| n.ends_with(".js"))
                .map(|(n, _, body)| (*n, *body)),
        );
        out
    }

    /// The agent console's modules, concatenated.
    fn agent_js() -> String {
        STATIC_FILES
            .iter()
            .filter(|(n, _, _)| n.starts_with("agent"))
            .map(|(_, _, body)| *body)
            .collect()
    }

    /// The widget's modules, concatenated.
    fn widget_js() -> String {
        WIDGET_MODULES.iter().map(|(_, body)| *body).collect()
    }

    /// Every string that follows `prefix` up to the next `end` character.
    fn quoted_after<'a>(text: &'a str, prefix: &str, end: char) -> Vec<&'a str> {
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(i) = rest.find(prefix) {
            let tail = &rest[i + prefix.len()..];
            let stop = tail.find(end).unwrap_or(tail.len());
            out.push(&tail[..stop]);
            rest = &tail[stop..];
        }
        out
    }

    /// Every `/static/…` reference in the pages (src="/static/x" or href="/static/x").
    fn static_refs(html: &str) -> Vec<&str> {
        quoted_after(html, "\"/static/", '"')
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

    const WIDGET_DIR: &str = "/livechatwidget/scripts/widget/";

    /// The file served at an absolute path: a `/static/` file or a widget module.
    fn served(path: &str) -> Option<(&'static str, &'static str)> {
        if let Some(name) = path.strip_prefix("/static/") {
            static_file(name)
        } else {
            widget_module(path.strip_prefix(WIDGET_DIR)?)
        }
    }

    /// The absolute paths a module at `path` imports (`from './x.js'`, `from '/a/b.js'`,
    /// and dynamic `import('./x.js')`).
    fn imports(path: &str, js: &str) -> Vec<String> {
        let dir = &path[..=path.rfind('/').expect("an absolute path")];
        let mut specs = quoted_after(js, "from '", '\'');
        specs.extend(quoted_after(js, "import('", '\''));
        specs
            .into_iter()
            .map(|spec| match spec.strip_prefix("./") {
                Some(rel) => format!("{dir}{rel}"),
                None => spec.to_string(),
            })
            .collect()
    }

    /// Every module reachable from `entry` through its imports, each served with the
    /// JavaScript content type.
    fn closure(entry: &str) -> Vec<String> {
        let mut seen = vec![entry.to_string()];
        let mut todo = seen.clone();
        while let Some(path) = todo.pop() {
            let (ct, body) =
                served(&path).unwrap_or_else(|| panic!("{path} is imported, not served"));
            assert_eq!(ct, JS, "{path}");
            for dep in imports(&path, body) {
                if !seen.contains(&dep) {
                    seen.push(dep.clone());
                    todo.push(dep);
                }
            }
        }
        seen
    }

    #[test]
    fn every_static_reference_in_the_pages_is_served() {
        for (page, html) in pages() {
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
    fn every_module_is_served_and_every_served_module_is_used() {
        // The pages' entry modules and everything they import.
        let mut used = Vec::new();
        for (_, html) in pages() {
            for name in static_refs(html).into_iter().filter(|n| n.ends_with(".js")) {
                used.extend(closure(&format!("/static/{name}")));
            }
        }
        // The bootstrapper imports widget/main.js beside itself; main.js imports the rest.
        assert!(WIDGET_JS.contains("'widget/main.js'"));
        let versioned = format!("'widget/{}/main.js'", widget_version());
        assert!(widget_bootstrapper().contains(&versioned));
        used.extend(closure(&format!("{WIDGET_DIR}main.js")));
        for (name, ct, _) in STATIC_FILES {
            let path = format!("/static/{name}");
            assert!(
                *ct != JS || used.contains(&path),
                "{path} is served, never loaded"
            );
        }
        for (name, _) in WIDGET_MODULES {
            let path = format!("{WIDGET_DIR}{name}");
            assert!(used.contains(&path), "{path} is served, never loaded");
        }
    }

    #[test]
    fn both_pages_carry_the_sign_in_form() {
        for (page, html) in pages() {
            assert!(
                !html.contains("<!-- sign-in form"),
                "{page}: the slot is left"
            );
            assert_eq!(html.matches(SIGN_IN_FORM).count(), 1, "{page}");
        }
    }

    #[test]
    fn no_browser_script_is_over_600_lines() {
        for (name, js) in all_scripts() {
            let lines = js.lines().count();
            assert!(lines <= 600, "{name} has {lines} lines");
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
        for name in [
            "",
            "x.js",
            "../main.js",
            "MAIN.JS",
            "bootstrapper.js",
            "agent.js",
        ] {
            assert!(
                widget_module(name).is_none(),
                "{name:?} should not be served"
            );
        }
    }

    #[test]
    fn pages_have_no_inline_script_or_style() {
        for (page, html) in pages() {
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
                assert!(
                    tag.contains(" type=\"module\""),
                    "{page}: not a module: {tag}"
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
            "note-input",
            "note-send",
            "search-input",
        ] {
            let needle = format!("data-testid=\"{id}\"");
            assert!(
                agent_html().contains(&needle) || agent_js().contains(&format!("'{id}'")),
                "agent console lacks {id}"
            );
        }
        for id in [
            "conversation-item",
            "accept",
            "history-item",
            "note-item",
            "canned-suggestion",
            "search-result",
        ] {
            assert!(
                agent_js().contains(&format!("'{id}'")),
                "the agent console's modules lack {id}"
            );
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
            "chat-offline-message",
        ] {
            assert!(
                widget_js().contains(&format!("'{id}'")),
                "widget lacks {id}"
            );
        }
        for (name, js) in all_scripts() {
            for sink in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
            ] {
                assert!(!js.contains(sink), "{name} uses {sink}");
            }
        }
    }
}
