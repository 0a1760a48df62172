//! A valid signed token, changed by a fuzzer-chosen list of edits to its header and payload JSON,
//! its base64url text and its signature.
//!
//! * Kept signature: the verifier must refuse every token that differs from the original in any
//!   byte — whatever was changed, it was changed after signing.
//! * Re-signed (the edited header and payload signed again with the real key, as a token service
//!   with a bug or a hostile issuer would): the signature is good, so the claim and header rules
//!   alone decide; an acceptance must satisfy the independent oracle
//!   (`crate::check_accepted`): RS256 only, no forbidden header, usable kid, required claims
//!   of the right types, time window with leeway, issuer, profile claims and `lwicontexts` limits.
//!
//! Never a panic, whatever the edits.
use crate::{base_token, check_result, keyset, sign_raw, validation, NOW};
use arbitrary::{Arbitrary, Unstructured};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{Map, Number, Value};

#[derive(Debug, Arbitrary)]
enum Member {
    Alg,
    Typ,
    Kid,
    Crit,
    Jku,
    X5u,
    Jwk,
    X5c,
    Iss,
    Sub,
    Iat,
    Exp,
    Nbf,
    PreferredUsername,
    Email,
    GivenName,
    FamilyName,
    PhoneNumber,
    Lwicontexts,
    Other(String),
}

impl Member {
    fn as_str(&self) -> &str {
        match self {
            Member::Alg => "alg",
            Member::Typ => "typ",
            Member::Kid => "kid",
            Member::Crit => "crit",
            Member::Jku => "jku",
            Member::X5u => "x5u",
            Member::Jwk => "jwk",
            Member::X5c => "x5c",
            Member::Iss => "iss",
            Member::Sub => "sub",
            Member::Iat => "iat",
            Member::Exp => "exp",
            Member::Nbf => "nbf",
            Member::PreferredUsername => "preferred_username",
            Member::Email => "email",
            Member::GivenName => "given_name",
            Member::FamilyName => "family_name",
            Member::PhoneNumber => "phone_number",
            Member::Lwicontexts => "lwicontexts",
            Member::Other(s) => s,
        }
    }
}

/// A JSON value, with the values that matter to the verifier easy to reach.
#[derive(Debug, Arbitrary)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// `NOW + offset`: the edges of the time window and its leeway.
    Now(i16),
    /// A number as raw JSON text (`1e400`, `-0`, `1.0`, `9007199254740993`…).
    RawNumber(String),
    Str(String),
    /// A string made of one character repeated (long `sub`, `kid`, context values).
    Long(char, u16),
    /// The strings the verifier compares against.
    Known(Known),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
    /// A string holding a JSON object, as `lwicontexts` must be.
    ObjectText(Vec<(String, Json)>),
}

#[derive(Debug, Arbitrary)]
enum Known {
    Rs256,
    Rs256Lower,
    None,
    Hs256,
    Es256,
    Ps256,
    Issuer,
    Thumbprint,
    OtherKid,
    RetiredKid,
    Empty,
}

impl Json {
    fn to_value(&self, depth: u8) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(i) => Value::from(*i),
            Json::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Json::Now(off) => Value::from(NOW + i64::from(*off)),
            Json::RawNumber(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            Json::Str(s) => Value::String(s.clone()),
            Json::Long(c, n) => Value::String(std::iter::repeat_n(*c, usize::from(*n)).collect()),
            Json::Known(k) => Value::String(
                match k {
                    Known::Rs256 => "RS256",
                    Known::Rs256Lower => "rs256",
                    Known::None => "none",
                    Known::Hs256 => "HS256",
                    Known::Es256 => "ES256",
                    Known::Ps256 => "PS256",
                    Known::Issuer => crate::ISS,
                    Known::Thumbprint => crate::signing_key().kid(),
                    Known::OtherKid => "other",
                    Known::RetiredKid => "retired",
                    Known::Empty => "",
                }
                .to_owned(),
            ),
            Json::Arr(items) if depth < 4 => {
                Value::Array(items.iter().map(|j| j.to_value(depth + 1)).collect())
            }
            Json::Obj(fields) if depth < 4 => Value::Object(
                fields
                    .iter()
                    .map(|(k, j)| (k.clone(), j.to_value(depth + 1)))
                    .collect(),
            ),
            Json::ObjectText(fields) if depth < 4 => {
                let m: Map<String, Value> = fields
                    .iter()
                    .map(|(k, j)| (k.clone(), j.to_value(depth + 1)))
                    .collect();
                Value::String(Value::Object(m).to_string())
            }
            _ => Value::Null,
        }
    }
}

#[derive(Debug, Arbitrary, Clone, Copy)]
enum Part {
    Header,
    Payload,
}

#[derive(Debug, Arbitrary, Clone, Copy)]
enum Segment {
    Header,
    Payload,
    Signature,
}

/// One edit of the token.
#[derive(Debug, Arbitrary)]
enum Edit {
    /// Set a member of the header or payload object.
    Set(Part, Member, Json),
    Remove(Part, Member),
    /// Append a second member with the same name to the JSON text (a duplicate key).
    Duplicate(Part, Member, Json),
    /// Re-serialise with whitespace.
    Pretty(Part),
    /// Replace the JSON text by something else entirely.
    Raw(Part, Vec<u8>),
    /// Replace the header or payload JSON by a non-object value.
    NotObject(Part, Json),
    /// Flip one bit of the signature.
    FlipSignatureBit(u16, u8),
    TruncateSignature(u16),
    /// Sign with… nothing: an empty signature segment.
    StripSignature,
    /// Append `=` padding to a segment.
    Pad(Segment),
    /// Use the standard alphabet (`+`, `/`) in a segment.
    StandardAlphabet(Segment),
    /// Set the unused low bits of a segment's last base64 character.
    TrailingBits(Segment, u8),
    /// Add a fourth and fifth segment (JWE shape).
    ExtraSegments(String),
    /// Surrounding whitespace.
    Whitespace,
    /// Splice raw text into the token at a position.
    Splice(u16, String),
}

#[derive(Debug, Arbitrary)]
struct Input {
    /// Sign the edited header and payload again with the real key.
    resign: bool,
    edits: Vec<Edit>,
}

/// A token under construction: the JSON texts and the encoded text once fixed.
struct Work {
    header: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
    /// Text-level edits applied after encoding.
    text_edits: Vec<Edit>,
}

fn part_mut(w: &mut Work, p: Part) -> &mut Vec<u8> {
    match p {
        Part::Header => &mut w.header,
        Part::Payload => &mut w.payload,
    }
}

fn edit_object(text: &mut Vec<u8>, f: impl FnOnce(&mut Map<String, Value>)) {
    // The text may already have been replaced by something that is not an object: then the
    // edit does nothing.
    if let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(text) {
        f(&mut m);
        *text = serde_json::to_vec(&Value::Object(m)).unwrap_or_default();
    }
}

fn segment_mut(segs: &mut [String; 3], s: Segment) -> &mut String {
    match s {
        Segment::Header => &mut segs[0],
        Segment::Payload => &mut segs[1],
        Segment::Signature => &mut segs[2],
    }
}

fn apply_json_edit(w: &mut Work, e: Edit) {
    match e {
        Edit::Set(p, name, j) => {
            let v = j.to_value(0);
            edit_object(part_mut(w, p), |m| {
                m.insert(name.as_str().to_owned(), v);
            })
        }
        Edit::Remove(p, name) => edit_object(part_mut(w, p), |m| {
            m.remove(name.as_str());
        }),
        Edit::Duplicate(p, name, j) => {
            let text = part_mut(w, p);
            if text.last() == Some(&b'}') && text.len() > 2 {
                let member = format!(
                    ",{}:{}",
                    Value::String(name.as_str().to_owned()),
                    j.to_value(0)
                );
                let at = text.len() - 1;
                text.splice(at..at, member.into_bytes());
            }
        }
        Edit::Pretty(p) => {
            let text = part_mut(w, p);
            if let Ok(v) = serde_json::from_slice::<Value>(text) {
                if let Ok(pretty) = serde_json::to_vec_pretty(&v) {
                    *text = pretty;
                }
            }
        }
        Edit::Raw(p, bytes) => *part_mut(w, p) = bytes,
        Edit::NotObject(p, j) => *part_mut(w, p) = j.to_value(0).to_string().into_bytes(),
        Edit::FlipSignatureBit(i, bit) => {
            if !w.signature.is_empty() {
                let i = usize::from(i) % w.signature.len();
                w.signature[i] ^= 1 << (bit % 8);
            }
        }
        Edit::TruncateSignature(n) => {
            let n = usize::from(n) % (w.signature.len() + 1);
            w.signature.truncate(n);
        }
        Edit::StripSignature => w.signature.clear(),
        other => w.text_edits.push(other),
    }
}

fn apply_text_edit(segs: &mut [String; 3], extra: &mut String, e: &Edit) {
    match e {
        Edit::Pad(s) => segment_mut(segs, *s).push('='),
        Edit::StandardAlphabet(s) => {
            let seg = segment_mut(segs, *s);
            *seg = seg.replace('-', "+").replace('_', "/");
        }
        Edit::TrailingBits(s, bits) => {
            let seg = segment_mut(segs, *s);
            if let Some(last) = seg.pop() {
                const ALPHABET: &[u8] =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                let idx = ALPHABET
                    .iter()
                    .position(|&b| b as char == last)
                    .unwrap_or(0);
                let idx = (idx | usize::from(bits % 16)) % 64;
                seg.push(ALPHABET[idx] as char);
            }
        }
        Edit::ExtraSegments(s) => {
            extra.push('.');
            extra.push_str(s);
        }
        _ => {}
    }
}

/// Decodes the fuzzer's bytes into a list of edits as libFuzzer's typed targets do
/// (`arbitrary_take_rest`); bytes that decode to nothing are skipped.
pub fn run(data: &[u8]) {
    if let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) {
        run_input(input);
    }
}

fn run_input(input: Input) {
    let original = base_token();
    let mut it = original.split('.');
    let (Some(h), Some(p), Some(s)) = (it.next(), it.next(), it.next()) else {
        unreachable!("base token has 3 segments");
    };
    let mut w = Work {
        header: B64.decode(h).expect("base header"),
        payload: B64.decode(p).expect("base payload"),
        signature: B64.decode(s).expect("base signature"),
        text_edits: Vec::new(),
    };
    for e in input.edits.into_iter().take(16) {
        apply_json_edit(&mut w, e);
    }

    let (h64, p64) = (B64.encode(&w.header), B64.encode(&w.payload));
    let sig64 = if input.resign {
        let signed = sign_raw(&w.header, &w.payload);
        signed.rsplit('.').next().unwrap_or_default().to_owned()
    } else {
        B64.encode(&w.signature)
    };
    let mut segs = [h64, p64, sig64];
    let mut extra = String::new();
    let mut whitespace = false;
    let mut splices = Vec::new();
    for e in &w.text_edits {
        match e {
            Edit::Whitespace => whitespace = true,
            Edit::Splice(at, s) => splices.push((*at, s.clone())),
            other => apply_text_edit(&mut segs, &mut extra, other),
        }
    }
    let mut token = format!("{}.{}.{}{extra}", segs[0], segs[1], segs[2]);
    for (at, s) in splices {
        let mut at = usize::from(at) % (token.len() + 1);
        while !token.is_char_boundary(at) {
            at -= 1;
        }
        token.insert_str(at, &s);
    }
    if whitespace {
        token = format!(" {token}\n");
    }

    let result = vouch_jwt::verify(&token, keyset(), &validation());
    if !input.resign && result.is_ok() {
        assert_eq!(
            token, original,
            "accepted a token changed after signing: {token}"
        );
    }
    check_result(&token, &result);
}
