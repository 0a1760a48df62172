//! The widget's words: one catalog a language (`assets/widget/locale-*.js`, English the
//! reference). These tests hold every catalog to English's keys and placeholders, find the keys
//! the widget's code asks for, and tie the error sentences to the chat service's wire codes —
//! so a sentence added in English only, a key used but never written, or a translated
//! `{name}` fails here rather than showing a raw key or an English line to an Arabic reader.

use super::{widget_module, WIDGET_MODULES};

/// The languages the widget speaks, English (the reference) first.
const LOCALES: [&str; 6] = ["en", "de", "fr", "es", "nl", "ar"];

/// One catalog's entries in file order: (key, text).
type Catalog = Vec<(String, String)>;

/// A JavaScript string literal at the start of `s` (quote `q`), unescaped, and the rest after it.
fn string_literal(s: &str, q: char) -> Option<(String, &str)> {
    let mut chars = s.strip_prefix(q)?.char_indices();
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|x| x.1)).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            c if c == q => return Some((out, &s[q.len_utf8() + i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// Parses a catalog: `export default {`, then one `'key': "text",` a line (comments and blank
/// lines between), then `};`. Any other line fails the test: one entry a line is what keeps a
/// merge, a review and a translator's diff readable.
fn parse(name: &str, js: &str) -> Catalog {
    let body = js
        .split_once("export default {\n")
        .unwrap_or_else(|| panic!("{name}: no `export default {{`"))
        .1;
    let body = body
        .split_once("\n};")
        .unwrap_or_else(|| panic!("{name}: no closing `}};`"))
        .0;
    let mut out = Vec::new();
    for line in body.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let (key, rest) =
            string_literal(line, '\'').unwrap_or_else(|| panic!("{name}: not an entry: {line}"));
        let rest = rest
            .strip_prefix(": ")
            .unwrap_or_else(|| panic!("{name}: {key}: no `: `"));
        let (text, tail) =
            string_literal(rest, '"').unwrap_or_else(|| panic!("{name}: {key}: no \"text\""));
        assert!(
            tail.is_empty() || tail == ",",
            "{name}: {key}: unexpected {tail:?}"
        );
        assert!(
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_'),
            "{name}: bad key {key:?}"
        );
        out.push((key, text));
    }
    out
}

fn catalog(code: &str) -> Catalog {
    let name = format!("locale-{code}.js");
    let js = widget_module(&name)
        .unwrap_or_else(|| panic!("{name} is not served"))
        .1;
    parse(&name, js)
}

fn keys(c: &Catalog) -> Vec<&str> {
    c.iter().map(|(k, _)| k.as_str()).collect()
}

fn text<'a>(c: &'a Catalog, key: &str) -> Option<&'a str> {
    c.iter().find(|(k, _)| k == key).map(|(_, t)| t.as_str())
}

/// The `{name}` placeholders of a text, sorted.
fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let tail = &rest[i + 1..];
        match tail.find('}') {
            Some(end) => {
                out.push(&tail[..end]);
                rest = &tail[end + 1..];
            }
            None => break,
        }
    }
    out.sort_unstable();
    out
}

/// The widget's code: every module but the catalogs.
fn code_modules() -> Vec<(&'static str, &'static str)> {
    WIDGET_MODULES
        .iter()
        .copied()
        .filter(|(n, _)| !n.starts_with("locale-"))
        .collect()
}

/// Byte offsets where `name(` is called as a function of its own (not `x.name(`, not `xname(`).
fn calls<'a>(js: &'a str, name: &str) -> Vec<&'a str> {
    let pat = format!("{name}(");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = js[from..].find(&pat) {
        let at = from + i;
        let before = js[..at].chars().next_back();
        let own = !matches!(before, Some(c) if c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '.');
        // `function t(` is the definition, not a call
        if own && !js[..at].ends_with("function ") {
            out.push(&js[at + pat.len()..]);
        }
        from = at + pat.len();
    }
    out
}

/// Every key the widget's code looks up with t('…'); panics on a key that is not a literal
/// (strings.js, which defines t, is the one module that passes keys on).
fn used_keys() -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (module, js) in code_modules()
        .into_iter()
        .filter(|(n, _)| *n != "strings.js")
    {
        for args in calls(js, "t") {
            let (key, _) = string_literal(args, '\'').unwrap_or_else(|| {
                panic!(
                    "{module}: t( with a key that is not a literal: t({}",
                    &args[..args.len().min(40)]
                )
            });
            out.push((module, key));
        }
    }
    out
}

#[test]
fn every_catalog_is_served_and_strings_js_knows_each() {
    let strings = widget_module("strings.js").expect("strings.js").1;
    let list = LOCALES.map(|c| format!("'{c}'")).join(", ");
    assert!(
        strings.contains(&format!("export const LOCALES = [{list}];")),
        "strings.js LOCALES differs from {list}"
    );
    assert!(strings.contains("import en from './locale-en.js';"));
    for code in &LOCALES[1..] {
        assert!(
            strings.contains(&format!("import('./locale-{code}.js')")),
            "strings.js never loads locale-{code}.js"
        );
    }
    assert!(strings.contains("const RIGHT_TO_LEFT = ['ar'];"));
    for code in LOCALES {
        assert!(catalog(code).len() >= 80, "locale-{code}.js is short");
    }
}

#[test]
fn every_catalog_has_exactly_the_english_keys_with_their_placeholders() {
    let en = catalog("en");
    for (i, k) in keys(&en).iter().enumerate() {
        assert!(!keys(&en)[..i].contains(k), "locale-en.js: {k} twice");
    }
    for code in &LOCALES[1..] {
        let other = catalog(code);
        let theirs = keys(&other);
        for (i, k) in theirs.iter().enumerate() {
            assert!(!theirs[..i].contains(k), "locale-{code}.js: {k} twice");
        }
        let missing: Vec<&str> = keys(&en)
            .into_iter()
            .filter(|k| !theirs.contains(k))
            .collect();
        assert!(
            missing.is_empty(),
            "locale-{code}.js lacks {missing:?} (every sentence needs all six languages)"
        );
        let extra: Vec<&&str> = theirs.iter().filter(|k| text(&en, k).is_none()).collect();
        assert!(
            extra.is_empty(),
            "locale-{code}.js has keys English lacks: {extra:?}"
        );
        for (key, t) in &other {
            let english = text(&en, key).expect("checked above");
            assert!(!t.trim().is_empty(), "locale-{code}.js: {key} is empty");
            assert_eq!(
                placeholders(t),
                placeholders(english),
                "locale-{code}.js: {key} must keep English's placeholders: {t:?}"
            );
        }
    }
    for (key, t) in &en {
        assert!(!t.trim().is_empty(), "locale-en.js: {key} is empty");
    }
}

/// A catalog copied from English and never translated fails: a few texts may match
/// ("Chat", "Offline"), most may not; and every Arabic text is written in Arabic.
#[test]
fn every_catalog_is_translated() {
    let en = catalog("en");
    for code in &LOCALES[1..] {
        let other = catalog(code);
        let same: Vec<&str> = other
            .iter()
            .filter(|(k, t)| text(&en, k) == Some(t.as_str()))
            .map(|(k, _)| k.as_str())
            .collect();
        assert!(
            same.len() * 10 < other.len(),
            "locale-{code}.js: {} of {} texts are English: {same:?}",
            same.len(),
            other.len()
        );
    }
    for (key, t) in catalog("ar") {
        assert!(
            t.chars().any(|c| ('\u{0600}'..='\u{06ff}').contains(&c)),
            "locale-ar.js: {key} has no Arabic: {t:?}"
        );
    }
}

#[test]
fn every_key_the_widget_uses_is_in_the_english_catalog() {
    let en = catalog("en");
    let used = used_keys();
    assert!(used.len() >= 40, "only {} t() calls found", used.len());
    for (module, key) in used {
        assert!(
            text(&en, &key).is_some(),
            "{module} uses {key:?}, which locale-en.js lacks"
        );
    }
}

/// The widget shows no English of its own: a sentence set straight on the DOM (textContent,
/// placeholder, aria-label, title, alt) would stay English in every language.
#[test]
fn no_widget_module_shows_a_literal_sentence() {
    let sinks = [
        ".textContent = ",
        ".placeholder = ",
        ".title = ",
        ".alt = ",
        "setAttribute('aria-label', ",
        "setAttribute('title', ",
        "setAttribute('alt', ",
        "setAttribute('placeholder', ",
    ];
    for (module, js) in code_modules() {
        for sink in sinks {
            let mut rest = js;
            while let Some(i) = rest.find(sink) {
                let after = &rest[i + sink.len()..];
                for q in ['\'', '"', '`'] {
                    if let Some((lit, _)) = string_literal(after, q) {
                        assert!(
                            !lit.chars().any(char::is_alphabetic),
                            "{module}: {sink}{q}{lit}{q} — put the words in the catalogs and use t()"
                        );
                    }
                }
                rest = after;
            }
        }
    }
}

/// The widget explains errors by the server's wire codes: every `error.<code>` sentence and
/// every code errors.js compares is a code the chat service sends, and the `reason.<code>`
/// sentences are exactly the verifier's reasons — a renamed code on either side fails here
/// instead of silently falling back to the raw message.
#[test]
fn error_sentences_name_only_the_servers_codes() {
    let en = catalog("en");
    let server: Vec<&str> = crate::error::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    let explained: Vec<&str> = keys(&en)
        .into_iter()
        .filter_map(|k| k.strip_prefix("error."))
        .collect();
    assert!(explained.len() >= 8, "{} error sentences", explained.len());
    let js = widget_module("errors.js").expect("errors.js").1;
    let mut named = explained.clone();
    let mut rest = js;
    while let Some(i) = rest.find("code === '") {
        let tail = &rest[i + "code === '".len()..];
        let end = tail.find('\'').expect("closing quote");
        named.push(&tail[..end]);
        rest = &tail[end..];
    }
    assert!(named.len() > explained.len(), "no code comparisons found");
    for code in named {
        assert!(
            server.contains(&code),
            "the widget names {code:?}, which the server never sends"
        );
    }
    let mut reasons: Vec<&str> = vouch_jwt::Reason::ALL.iter().map(|r| r.as_str()).collect();
    let mut said: Vec<&str> = keys(&en)
        .into_iter()
        .filter_map(|k| k.strip_prefix("reason."))
        .collect();
    reasons.sort_unstable();
    said.sort_unstable();
    assert_eq!(
        said, reasons,
        "reason.* sentences vs the verifier's reasons"
    );
}

/// The parser itself: escapes, both quotes, and a line that is not an entry.
#[test]
fn catalog_parser_reads_what_it_must_and_refuses_the_rest() {
    let js =
        "export default {\n  // c\n  'a.b': \"x \\\"y\\\" \\u00b7 {n}\",\n\n  'c': \"it's\"\n};\n";
    assert_eq!(
        parse("t", js),
        vec![
            ("a.b".to_string(), "x \"y\" \u{b7} {n}".to_string()),
            ("c".to_string(), "it's".to_string())
        ]
    );
    assert_eq!(placeholders("{b} and {a}"), vec!["a", "b"]);
    let bad = std::panic::catch_unwind(|| parse("t", "export default {\n  a: \"x\",\n};\n"));
    assert!(bad.is_err(), "an unquoted key is refused");
    assert_eq!(
        calls("t('a'); at('b'); x.t('c'); function t(k)", "t").len(),
        1
    );
}

/// The console's and admin pages' modules (`/static/*.js`).
fn console_modules() -> Vec<(&'static str, &'static str)> {
    super::STATIC_FILES
        .iter()
        .filter(|(n, _, _)| n.ends_with(".js"))
        .map(|(n, _, body)| (*n, *body))
        .collect()
}

/// The console and admin pages stay English but take their words from one module,
/// `/static/strings.js`: every key they ask for is there, every entry there is asked for, and
/// none of them sets a sentence on the DOM directly.
#[test]
fn console_and_admin_take_their_words_from_strings_js() {
    let table = super::static_file("strings.js").expect("strings.js").1;
    let body = table
        .split_once("const EN = {\n")
        .expect("const EN")
        .1
        .split_once("\n};")
        .expect("end of EN")
        .0;
    let mut entries: Vec<(&str, String)> = Vec::new();
    for line in body.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let (key, rest) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("strings.js: not an entry: {line}"));
        let (text, _) =
            string_literal(rest, '"').unwrap_or_else(|| panic!("strings.js: {key}: no \"text\""));
        assert!(
            !entries.iter().any(|(k, _)| *k == key),
            "strings.js: {key} twice"
        );
        entries.push((key, text));
    }
    assert!(entries.len() >= 60, "{} entries", entries.len());
    let mut used = Vec::new();
    for (module, js) in console_modules()
        .into_iter()
        .filter(|(n, _)| *n != "strings.js")
    {
        for args in calls(js, "t") {
            let (key, _) = string_literal(args, '\'')
                .unwrap_or_else(|| panic!("{module}: t( with a key that is not a literal"));
            assert!(
                entries.iter().any(|(k, _)| *k == key),
                "{module} uses {key:?}, which strings.js lacks"
            );
            used.push(key);
        }
        for sink in [
            ".textContent = ",
            "setText(",
            "setError(",
            "showLogin(",
            "apiMessage(r, ",
        ] {
            let mut rest = js;
            while let Some(i) = rest.find(sink) {
                let after = &rest[i + sink.len()..];
                // setText('id', '…'): the sentence is the second argument
                let arg = if sink == "setText(" {
                    after.split_once(", ").map_or("", |(_, a)| a)
                } else {
                    after
                };
                for q in ['\'', '"'] {
                    if let Some((lit, _)) = string_literal(arg, q) {
                        // ids ('login-error') pass; words (textContent: any) do not
                        let words = if sink == ".textContent = " {
                            lit.chars().any(char::is_alphabetic)
                        } else {
                            lit.contains(' ')
                        };
                        assert!(
                            !words,
                            "{module}: {sink}{q}{lit}{q} — put the sentence in strings.js"
                        );
                    }
                }
                rest = after;
            }
        }
    }
    for (key, _) in &entries {
        assert!(
            used.iter().any(|k| k == key),
            "strings.js: {key} is never used"
        );
    }
}

/// The widget mirrors itself for right-to-left languages only if its stylesheet names sides
/// logically (inline-start/end, block-start/end): a physical `left`/`right` would stay put in
/// Arabic. This holds the widget's CSS (and what others add to it) to that.
#[test]
fn widget_styles_name_sides_logically() {
    let css = widget_module("styles.js").expect("styles.js").1;
    let css = &css[css.find("const CSS = [").expect("the CSS table")..];
    for physical in [
        "left:",
        "right:",
        "-left",
        "-right",
        "text-align:left",
        "text-align:right",
        "float:",
    ] {
        assert!(
            !css.contains(physical),
            "styles.js uses {physical:?}: use the logical property (inset-inline-end, margin-inline-start, …)"
        );
    }
    assert!(
        css.contains("inset-inline-end"),
        "the launcher sits at the inline end"
    );
}
