//! Minimal PEM (RFC 7468) reading and writing.
//!
//! Reading is lenient about what real servers and editors do to a PEM file (CRLF line
//! endings, surrounding whitespace or text, any line width) and strict about the
//! content: the END label must match the BEGIN label and the body must be valid base64.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// One `-----BEGIN <label>-----` … `-----END <label>-----` block.
pub(crate) struct PemBlock {
    pub label: String,
    pub der: Vec<u8>,
    /// RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`), which only old encrypted keys carry.
    pub has_headers: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PemError {
    NoBlock,
    Unterminated(String),
    BadBase64(String),
}

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";
const DASHES: &str = "-----";

/// The PEM blocks in `text`, in order: at most `max` are decoded; the flag says whether
/// more followed.
pub(crate) fn parse_blocks(text: &str, max: usize) -> Result<(Vec<PemBlock>, bool), PemError> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        if blocks.len() >= max {
            return Ok((blocks, true));
        }
        let after_begin = &rest[start + BEGIN.len()..];
        let Some(label_end) = after_begin.find(DASHES) else {
            return Err(PemError::Unterminated(String::new()));
        };
        let label = after_begin[..label_end].trim().to_owned();
        let body_start = &after_begin[label_end + DASHES.len()..];
        let end_marker = format!("{END}{label}{DASHES}");
        let Some(body_end) = body_start.find(&end_marker) else {
            // The label is the body's text: cut it like every attacker-chosen string in a message.
            return Err(PemError::Unterminated(crate::shorten(&label)));
        };
        let body = &body_start[..body_end];
        let mut has_headers = false;
        let mut b64 = String::with_capacity(body.len());
        for line in body.lines() {
            let line = line.trim();
            if line.contains(':') {
                has_headers = true;
                continue;
            }
            b64.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
        let der = STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| PemError::BadBase64(crate::shorten(&label)))?;
        blocks.push(PemBlock {
            label,
            der,
            has_headers,
        });
        rest = &body_start[body_end + end_marker.len()..];
    }
    if blocks.is_empty() {
        return Err(PemError::NoBlock);
    }
    Ok((blocks, false))
}

/// PEM text with 64-character lines and a final newline, as openssl writes it.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str(BEGIN);
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(END);
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_crlf() {
        let der: Vec<u8> = (0..=255u8).collect();
        let pem = encode("PUBLIC KEY", &der);
        let (blocks, more) = parse_blocks(&pem, 10).unwrap();
        assert!(!more);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].label, "PUBLIC KEY");
        assert_eq!(blocks[0].der, der);
        let crlf = format!("  \r\n{}\r\n", pem.replace('\n', "\r\n"));
        assert_eq!(parse_blocks(&crlf, 10).unwrap().0[0].der, der);
        let two = format!("{pem}{pem}");
        let (blocks, more) = parse_blocks(&two, 1).unwrap();
        assert_eq!((blocks.len(), more), (1, true));
    }

    #[test]
    fn errors() {
        assert_eq!(parse_blocks("hello", 10).err(), Some(PemError::NoBlock));
        assert!(matches!(
            parse_blocks(
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                10
            ),
            Err(PemError::Unterminated(_))
        ));
        assert!(matches!(
            parse_blocks(
                "-----BEGIN PUBLIC KEY-----\nA*AA\n-----END PUBLIC KEY-----\n",
                10
            ),
            Err(PemError::BadBase64(_))
        ));
    }

    /// Found by the key_source fuzzer: a 1000-character label came back whole in the message.
    #[test]
    fn long_labels_are_cut_in_errors() {
        let label = "X".repeat(1000);
        for text in [
            format!("-----BEGIN {label}-----\nAAAA\n"),
            format!("-----BEGIN {label}-----\nA*AA\n-----END {label}-----\n"),
        ] {
            match parse_blocks(&text, 10) {
                Err(PemError::Unterminated(l) | PemError::BadBase64(l)) => {
                    assert!(l.chars().count() <= 65, "label of {} chars", l.len())
                }
                Err(e) => panic!("{e:?}"),
                Ok(_) => panic!("parsed"),
            }
        }
    }
}
