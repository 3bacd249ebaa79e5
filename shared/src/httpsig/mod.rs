//! RFC 9421 HTTP Message Signatures (Ed25519), as Entente signs its reads.
//!
//! A delegation signs each non-public request with its statement key:
//!
//! ```text
//! Signature-Input: sig1=("@method" "@target-uri");created=1700000000;keyid="<key id>";alg="ed25519";nonce="<random>"
//! Signature: sig1=:<base64 Ed25519 signature over the signature base>:
//! ```
//!
//! plus `"content-digest"` (RFC 9530, `sha-256=:<base64>:`) when the request
//! has a body. [`sign`] makes those headers; [`Presented::parse`] reads them
//! back from a request and rebuilds the signature base (RFC 9421 §2.5) from
//! the request as the server received it, and [`Presented::verify`] checks the
//! Ed25519 signature. Deciding which key, which clock window and which nonce
//! is acceptable is the server's business, not this module's: it does no I/O
//! and reads no clock.
//!
//! The headers are RFC 8941 structured fields, read by [`sfv`]; the body
//! digest is RFC 9530's, in [`digest`].

pub mod digest;
pub mod request;
pub mod sfv;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::keys::{PublicKey, SigningKey};

pub use digest::{check_content_digest, content_digest, DigestError};
use sfv::serialize_inner_list;
pub use sfv::{parse_dictionary, BareItem, Member, Params, SfvError, MAX_FIELD_LEN};

/// The label Entente's CLI gives its signature. Any label is accepted.
pub const LABEL: &str = "sig1";
/// The one algorithm accepted (RFC 9421 §3.3.6).
pub const ALG: &str = "ed25519";
/// Most signatures (dictionary members) one request may carry.
pub const MAX_SIGNATURES: usize = 8;
/// Most covered components in one signature.
pub const MAX_COMPONENTS: usize = sfv::MAX_INNER_LIST;
/// Longest nonce accepted, in characters.
pub const MAX_NONCE_LEN: usize = 128;

/// Why a signature header cannot be read or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpSigError {
    /// No `Signature-Input` / `Signature` header at all.
    #[error("the request is not signed (no Signature-Input and Signature headers)")]
    Missing,
    /// Headers present but not parseable, or a required parameter missing.
    #[error("unreadable request signature: {0}")]
    Malformed(String),
    /// A component the signature covers is not in the request.
    #[error("the signature covers {0}, which the request does not have")]
    MissingComponent(String),
    /// The signature does not cover what the server requires.
    #[error("the signature must cover {0}")]
    NotCovered(String),
    /// Ed25519 verification failed, or the body does not match its digest.
    #[error("the request signature does not verify")]
    BadSignature,
}

fn malformed(msg: impl Into<String>) -> HttpSigError {
    HttpSigError::Malformed(msg.into())
}

impl From<SfvError> for HttpSigError {
    fn from(e: SfvError) -> HttpSigError {
        HttpSigError::Malformed(e.0)
    }
}

// ------------------------------------------------------------ the message

/// What a signature covers, as the server received the request (or as the
/// client is about to send it).
#[derive(Debug, Clone)]
pub struct Message {
    /// Uppercase method, e.g. `GET`.
    pub method: String,
    /// The full target URI (RFC 9110 §7.1): `scheme://authority/path?query`.
    pub target_uri: String,
    /// Header fields, names in any case, in order of appearance.
    pub headers: Vec<(String, String)>,
}

impl Message {
    fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// `(scheme, authority, path, query)` of the target URI.
    fn uri_parts(&self) -> Result<(&str, &str, &str, Option<&str>), HttpSigError> {
        let (scheme, rest) = self
            .target_uri
            .split_once("://")
            .ok_or_else(|| malformed("target URI has no scheme"))?;
        let (authority, path_query) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (path, query) = match path_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_query, None),
        };
        Ok((scheme, authority, path, query))
    }

    /// The value of one covered component (RFC 9421 §2.1, §2.2).
    fn component(&self, name: &str) -> Result<String, HttpSigError> {
        let (scheme, authority, path, query) = self.uri_parts()?;
        let value = match name {
            "@method" => self.method.clone(),
            "@target-uri" => self.target_uri.clone(),
            "@authority" => authority.to_ascii_lowercase(),
            "@scheme" => scheme.to_ascii_lowercase(),
            "@path" => path.to_owned(),
            "@query" => format!("?{}", query.unwrap_or("")),
            "@request-target" => match query {
                Some(q) => format!("{path}?{q}"),
                None => path.to_owned(),
            },
            n if n.starts_with('@') => return Err(malformed(format!("unsupported component {n}"))),
            field => self
                .header(field)
                .ok_or_else(|| HttpSigError::MissingComponent(format!("\"{field}\"")))?,
        };
        if value
            .bytes()
            .any(|b| b == b'\r' || b == b'\n' || !(0x20..0x7f).contains(&b) && b != b'\t')
        {
            return Err(malformed(format!(
                "component {name} is not printable ASCII"
            )));
        }
        Ok(value)
    }
}

// ------------------------------------------------------------ signing

/// Headers to add to a request: `(name, value)` pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    pub signature_input: String,
    pub signature: String,
    /// `Content-Digest`, when the request has a body.
    pub content_digest: Option<String>,
}

impl SignatureHeaders {
    /// All headers as `(name, value)`.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("Signature-Input", self.signature_input.clone()),
            ("Signature", self.signature.clone()),
        ];
        if let Some(d) = &self.content_digest {
            v.push(("Content-Digest", d.clone()));
        }
        v
    }
}

/// A fresh random nonce (16 bytes, hex): the server refuses a nonce it has seen.
pub fn new_nonce() -> String {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 16];
    // SystemRandom only fails if the OS has no randomness source at all.
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("the operating system's random source failed");
    hex::encode(b)
}

/// Signs `method target_uri` (and `body`, if any) with `key`, as of `created`
/// (UNIX seconds), covering `@method`, `@target-uri` and, with a body,
/// `content-digest`.
pub fn sign(
    key: &SigningKey,
    method: &str,
    target_uri: &str,
    body: Option<&[u8]>,
    created: i64,
    nonce: &str,
) -> SignatureHeaders {
    let content_digest = body.map(content_digest);
    let mut components = vec!["@method".to_owned(), "@target-uri".to_owned()];
    let mut headers = Vec::new();
    if let Some(d) = &content_digest {
        components.push("content-digest".to_owned());
        headers.push(("content-digest".to_owned(), d.clone()));
    }
    let params: Params = vec![
        ("created".into(), BareItem::Integer(created)),
        ("keyid".into(), BareItem::String(key.key_id().to_string())),
        ("alg".into(), BareItem::String(ALG.into())),
        ("nonce".into(), BareItem::String(nonce.into())),
    ];
    let msg = Message {
        method: method.to_owned(),
        target_uri: target_uri.to_owned(),
        headers,
    };
    let inner = serialize_inner_list(&components, &params);
    // Our own components always resolve: the message was built with them.
    let base = signature_base(&msg, &components, &inner).unwrap_or_default();
    let sig = key.sign(base.as_bytes());
    SignatureHeaders {
        signature_input: format!("{LABEL}={inner}"),
        signature: format!("{LABEL}=:{}:", B64.encode(sig)),
        content_digest,
    }
}

/// RFC 9421 §2.5: one line per covered component, then `@signature-params`.
fn signature_base(
    msg: &Message,
    components: &[String],
    params_line: &str,
) -> Result<String, HttpSigError> {
    let mut base = String::new();
    for c in components {
        base.push('"');
        base.push_str(c);
        base.push_str("\": ");
        base.push_str(&msg.component(c)?);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(params_line);
    Ok(base)
}

// ------------------------------------------------------------ verifying

/// A signature read from a request, with its base rebuilt; not yet verified.
#[derive(Debug, Clone)]
pub struct Presented {
    pub label: String,
    /// Covered component names, in order.
    pub components: Vec<String>,
    pub keyid: String,
    pub created: i64,
    pub expires: Option<i64>,
    pub nonce: Option<String>,
    pub alg: Option<String>,
    signature: Vec<u8>,
    base: String,
}

impl Presented {
    /// Reads the signature from `Signature-Input` and `Signature` and rebuilds
    /// its base from `msg`. With several signatures, the first label present
    /// in both headers is used. Requires `created` and `keyid`; `alg`, if
    /// present, must be `ed25519`.
    pub fn parse(
        signature_input: &str,
        signature: &str,
        msg: &Message,
    ) -> Result<Presented, HttpSigError> {
        let inputs = parse_dictionary(signature_input)?;
        let sigs = parse_dictionary(signature)?;
        let (label, items, params, sig) = inputs
            .iter()
            .find_map(|(label, m)| {
                let Member::InnerList(items, params) = m else {
                    return None;
                };
                sigs.iter().find_map(|(l, s)| match s {
                    Member::Item(BareItem::Bytes(b), _) if l == label => {
                        Some((label.clone(), items, params, b.clone()))
                    }
                    _ => None,
                })
            })
            .ok_or_else(|| malformed("no label appears in both Signature-Input and Signature"))?;
        let mut components = Vec::new();
        for (item, p) in items {
            match item {
                BareItem::String(s) if p.is_empty() => {
                    if s.to_ascii_lowercase() != *s || components.contains(s) {
                        return Err(malformed("component names are lowercase and unique"));
                    }
                    components.push(s.clone());
                }
                _ => return Err(malformed("components are plain strings (no parameters)")),
            }
        }
        let mut keyid = None;
        let mut created = None;
        let mut expires = None;
        let mut nonce = None;
        let mut alg = None;
        for (k, v) in params {
            match (k.as_str(), v) {
                ("keyid", BareItem::String(s)) => keyid = Some(s.clone()),
                ("created", BareItem::Integer(i)) => created = Some(*i),
                ("expires", BareItem::Integer(i)) => expires = Some(*i),
                ("nonce", BareItem::String(s)) if s.len() <= MAX_NONCE_LEN => {
                    nonce = Some(s.clone())
                }
                ("alg", BareItem::String(s)) => alg = Some(s.clone()),
                ("tag", BareItem::String(_)) => {}
                (k, _) => return Err(malformed(format!("unexpected signature parameter {k}"))),
            }
        }
        if let Some(a) = &alg {
            if a != ALG {
                return Err(malformed(format!("alg {a:?} is not {ALG:?}")));
            }
        }
        let keyid = keyid.ok_or_else(|| malformed("no keyid parameter"))?;
        let created = created.ok_or_else(|| malformed("no created parameter"))?;
        let base = signature_base(msg, &components, &serialize_inner_list(&components, params))?;
        Ok(Presented {
            label,
            components,
            keyid,
            created,
            expires,
            nonce,
            alg,
            signature: sig,
            base,
        })
    }

    /// Whether the signature covers `component`.
    pub fn covers(&self, component: &str) -> bool {
        self.components.iter().any(|c| c == component)
    }

    /// The raw signature bytes (e.g. for a replay cache).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The rebuilt signature base.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Checks the Ed25519 signature over the base with `key`.
    pub fn verify(&self, key: &PublicKey) -> Result<(), HttpSigError> {
        key.verify(self.base.as_bytes(), &self.signature)
            .map_err(|_| HttpSigError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9421 Appendix B.1.4 `test-key-ed25519`, as its raw seed (JWK `d`).
    const B14_SEED: &str = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU";
    /// Its public key (JWK `x`).
    const B14_PUBLIC: &str = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";

    fn b14_key() -> SigningKey {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let seed = URL_SAFE_NO_PAD.decode(B14_SEED).unwrap();
        // PKCS#8 v1 wrapping of an Ed25519 seed (RFC 8410).
        let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
        der.extend_from_slice(&seed);
        SigningKey::from_pkcs8(&der).unwrap()
    }

    /// The B.2 test request as far as B.2.6 covers it.
    fn b26_message() -> Message {
        Message {
            method: "POST".into(),
            target_uri: "https://example.com/foo?param=Value&Pet=dog".into(),
            headers: vec![
                ("Host".into(), "example.com".into()),
                ("Date".into(), "Tue, 20 Apr 2021 02:07:55 GMT".into()),
                ("Content-Type".into(), "application/json".into()),
                ("Content-Length".into(), "18".into()),
            ],
        }
    }

    const B26_INPUT: &str = r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#;
    const B26_SIGNATURE: &str = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:";
    const B26_BASE: &str = "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@method\": POST\n\"@path\": /foo\n\"@authority\": example.com\n\"content-type\": application/json\n\"content-length\": 18\n\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";

    #[test]
    fn rfc9421_b26_known_answer() {
        let key = b14_key();
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        assert_eq!(
            key.public_key().as_bytes().to_vec(),
            URL_SAFE_NO_PAD.decode(B14_PUBLIC).unwrap()
        );
        let p = Presented::parse(B26_INPUT, B26_SIGNATURE, &b26_message()).unwrap();
        assert_eq!(p.base(), B26_BASE);
        assert_eq!(p.label, "sig-b26");
        assert_eq!(p.keyid, "test-key-ed25519");
        assert_eq!(p.created, 1618884473);
        p.verify(&key.public_key()).unwrap();
        // Ed25519 is deterministic: we produce the RFC's exact signature bytes.
        let ours = key.sign(B26_BASE.as_bytes());
        assert_eq!(format!("sig-b26=:{}:", B64.encode(ours)), B26_SIGNATURE);
        // And a changed request does not verify.
        let mut other = b26_message();
        other.method = "PUT".into();
        let p = Presented::parse(B26_INPUT, B26_SIGNATURE, &other).unwrap();
        assert_eq!(p.verify(&key.public_key()), Err(HttpSigError::BadSignature));
    }

    #[test]
    fn sign_then_verify_round_trip_with_body() {
        let (key, _) = SigningKey::generate().unwrap();
        let body = br#"{"a":1}"#;
        let h = sign(
            &key,
            "POST",
            "http://127.0.0.1:8740/v1/x?y=1",
            Some(body),
            1_700_000_000,
            "abc",
        );
        assert!(h.signature_input.starts_with(
            r#"sig1=("@method" "@target-uri" "content-digest");created=1700000000;keyid=""#
        ));
        let msg = Message {
            method: "POST".into(),
            target_uri: "http://127.0.0.1:8740/v1/x?y=1".into(),
            headers: vec![("Content-Digest".into(), h.content_digest.clone().unwrap())],
        };
        let p = Presented::parse(&h.signature_input, &h.signature, &msg).unwrap();
        assert_eq!(p.keyid, key.key_id().to_string());
        assert_eq!(p.nonce.as_deref(), Some("abc"));
        assert_eq!(p.alg.as_deref(), Some("ed25519"));
        assert!(p.covers("content-digest"));
        p.verify(&key.public_key()).unwrap();
        check_content_digest(h.content_digest.as_deref().unwrap(), body).unwrap();
        assert_eq!(
            check_content_digest(h.content_digest.as_deref().unwrap(), b"{}"),
            Err(DigestError::Mismatch)
        );
        // Another URI: the base differs, the signature fails.
        let mut moved = msg.clone();
        moved.target_uri = "http://127.0.0.1:8740/v1/x?y=2".into();
        let p = Presented::parse(&h.signature_input, &h.signature, &moved).unwrap();
        assert_eq!(p.verify(&key.public_key()), Err(HttpSigError::BadSignature));
    }

    #[test]
    fn a_missing_covered_header_is_refused() {
        let (key, _) = SigningKey::generate().unwrap();
        let h = sign(&key, "POST", "http://h/x", Some(b"1"), 1, "n");
        let msg = Message {
            method: "POST".into(),
            target_uri: "http://h/x".into(),
            headers: vec![],
        };
        assert!(matches!(
            Presented::parse(&h.signature_input, &h.signature, &msg),
            Err(HttpSigError::MissingComponent(_))
        ));
    }

    #[test]
    fn unparseable_headers_are_refused_not_guessed() {
        let msg = b26_message();
        for (input, sig) in [
            ("sig1=(\"@method\";created=1", "sig1=:AAAA:"),
            ("sig1=(\"@method\");created=1.5;keyid=\"k\"", "sig1=:AAAA:"),
            ("sig1=(\"@method\");keyid=\"k\"", "sig1=:AAAA:"),
            ("sig1=(\"@method\");created=1", "sig1=:AAAA:"),
            (
                "sig1=(\"@method\");created=1;keyid=\"k\";alg=\"rsa\"",
                "sig1=:AAAA:",
            ),
            ("sig1=(\"@method\");created=1;keyid=\"k\"", "sig2=:AAAA:"),
            (
                "sig1=(\"@method\");created=1;keyid=\"k\"",
                "sig1=:not base64!:",
            ),
            ("sig1=(\"@METHOD\");created=1;keyid=\"k\"", "sig1=:AAAA:"),
            (
                "sig1=(\"@method\" \"@method\");created=1;keyid=\"k\"",
                "sig1=:AAAA:",
            ),
            ("sig1=(\"@method\");created=1;keyid=\"k\",", "sig1=:AAAA:"),
            ("SIG1=(\"@method\");created=1;keyid=\"k\"", "sig1=:AAAA:"),
            ("sig1=(\"@unknown\");created=1;keyid=\"k\"", "sig1=:AAAA:"),
        ] {
            assert!(
                Presented::parse(input, sig, &msg).is_err(),
                "accepted {input} / {sig}"
            );
        }
        let long = format!(
            "sig1=(\"{}\");created=1;keyid=\"k\"",
            "a".repeat(MAX_FIELD_LEN)
        );
        assert!(Presented::parse(&long, "sig1=:AAAA:", &msg).is_err());
    }
}
