//! Placeholders of canned replies, filled by hand: `{{NAME}}` becomes the value `lookup` gives
//! for NAME (spaces around it ignored), unknown names become empty. Nothing is evaluated —
//! no expressions, filters or calls (`{{7*7}}` is an unknown name, so empty) — and a value put in
//! is never scanned again, so a customer's context value holding `{{agent.name}}` stays literal.
//! Written by hand rather than with a template engine because engines evaluate expressions,
//! which is exactly what must not happen to text that partly comes from customers.
//!
//! A `{{` with no `}}` after it, or with another `{` before its `}}`, is literal text (the
//! innermost `{{NAME}}` is the placeholder). One pass over the input, each byte looked at a
//! bounded number of times: linear in its length.

/// `template` with every `{{NAME}}` replaced by `lookup(NAME)` (empty when `None`).
pub fn render(template: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match placeholder_end(after) {
            Inner::Closed(end) => {
                if let Some(v) = lookup(after[..end].trim_matches(' ')) {
                    out.push_str(&v);
                }
                rest = &after[end + 2..];
            }
            Inner::Reopened(at) => {
                // `{{ … {` — this opening is text; a placeholder may start just before that
                // `{` (`{{{x}}}` holds `{{x}}`), so look again from there (at least one byte on).
                let from = start + 1 + at;
                out.push_str(&rest[start..from]);
                rest = &rest[from..];
            }
            Inner::Unclosed => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// What follows a `{{`.
enum Inner {
    /// `}}` at this byte offset, with no `{` before it.
    Closed(usize),
    /// A `{` at this byte offset before any `}}`.
    Reopened(usize),
    /// Neither.
    Unclosed,
}

fn placeholder_end(after: &str) -> Inner {
    let b = after.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => return Inner::Reopened(i),
            b'}' if b.get(i + 1) == Some(&b'}') => return Inner::Closed(i),
            _ => i += 1,
        }
    }
    Inner::Unclosed
}

#[cfg(test)]
mod tests {
    use super::render;

    fn vars(name: &str) -> Option<String> {
        match name {
            "agent.name" => Some("Sam".into()),
            "contact.email" => Some("a@example.com".into()),
            "context.sneaky" => Some("{{agent.name}}".into()),
            _ => None,
        }
    }

    #[test]
    fn known_names_are_filled_unknown_ones_empty() {
        assert_eq!(render("Hi, I'm {{agent.name}}.", vars), "Hi, I'm Sam.");
        assert_eq!(render("{{ contact.email }}!", vars), "a@example.com!");
        assert_eq!(render("[{{contact.phone}}]", vars), "[]");
        assert_eq!(render("no placeholders", vars), "no placeholders");
        assert_eq!(render("", vars), "");
    }

    #[test]
    fn nothing_is_evaluated() {
        assert_eq!(render("{{7*7}}", vars), "");
        assert_eq!(render("{{ 7 * 7 }}x", vars), "x");
        assert_eq!(render("{{agent.name | upper}}", vars), "");
        assert!(!render("{{7*7}}{{ '7'*7 }}{{config}}", vars).contains("49"));
    }

    #[test]
    fn values_are_not_scanned_again() {
        assert_eq!(render("{{context.sneaky}}", vars), "{{agent.name}}");
    }

    #[test]
    fn unclosed_and_nested_braces_stay_text() {
        assert_eq!(render("{{agent.name", vars), "{{agent.name");
        assert_eq!(render("a {{ b", vars), "a {{ b");
        assert_eq!(render("{{ {{agent.name}} }}", vars), "{{ Sam }}");
        assert_eq!(render("{{{agent.name}}}", vars), "{Sam}");
        assert_eq!(render("{agent.name}", vars), "{agent.name}");
        assert_eq!(render("}}{{", vars), "}}{{");
        assert_eq!(render("{{}}", vars), "");
        assert_eq!(render("é{{agent.name}}ü", vars), "éSamü");
    }

    #[test]
    fn huge_inputs_render_in_one_pass() {
        // Openings with no close, and openings that keep reopening: both stay text, and
        // both finish (linear time: a quadratic pass over 1 MB would not).
        let opens = "{{".repeat(500_000);
        assert_eq!(render(&opens, vars), opens);
        let reopened = format!("{}}}}}", "{".repeat(1_000_000));
        assert_eq!(render(&reopened, vars).len(), reopened.len() - 4);
        let many = "{{agent.name}}".repeat(10_000);
        assert_eq!(render(&many, vars), "Sam".repeat(10_000));
    }
}
