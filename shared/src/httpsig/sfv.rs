//! RFC 8941 structured fields, the subset HTTP message signatures use:
//! dictionaries, inner lists, strings, tokens, integers, booleans and byte
//! sequences. Everything else — decimals, fields over [`MAX_FIELD_LEN`]
//! bytes, more than [`MAX_MEMBERS`] members — is refused: a request we
//! cannot read exactly is a request we do not accept.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// Longest structured header field accepted, in bytes.
pub const MAX_FIELD_LEN: usize = 4096;
/// Most members one dictionary may have.
pub const MAX_MEMBERS: usize = 32;
/// Most items one inner list may have.
pub const MAX_INNER_LIST: usize = 16;

/// Why a structured field could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SfvError(pub String);

fn malformed(msg: impl Into<String>) -> SfvError {
    SfvError(msg.into())
}

/// An RFC 8941 bare item (decimals are not supported, and refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BareItem {
    Integer(i64),
    String(String),
    Token(String),
    Bytes(Vec<u8>),
    Boolean(bool),
}

impl BareItem {
    pub(crate) fn serialize(&self, out: &mut String) {
        match self {
            BareItem::Integer(i) => out.push_str(&i.to_string()),
            BareItem::String(s) => {
                out.push('"');
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
            BareItem::Token(t) => out.push_str(t),
            BareItem::Bytes(b) => {
                out.push(':');
                out.push_str(&B64.encode(b));
                out.push(':');
            }
            BareItem::Boolean(b) => out.push_str(if *b { "?1" } else { "?0" }),
        }
    }
}

/// Parameters in order of appearance; keys are unique (a repeat overwrites, as RFC 8941 says).
pub type Params = Vec<(String, BareItem)>;

pub(crate) fn serialize_params(params: &Params, out: &mut String) {
    for (k, v) in params {
        out.push(';');
        out.push_str(k);
        if v != &BareItem::Boolean(true) {
            out.push('=');
            v.serialize(out);
        }
    }
}

/// A dictionary member: an item or an inner list, each with parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Item(BareItem, Params),
    InnerList(Vec<(BareItem, Params)>, Params),
}

/// Parses an RFC 8941 dictionary; refuses anything outside the supported subset.
pub fn parse_dictionary(input: &str) -> Result<Vec<(String, Member)>, SfvError> {
    if input.len() > MAX_FIELD_LEN {
        return Err(malformed("header field too long"));
    }
    let mut p = SfParser {
        s: input.as_bytes(),
        i: 0,
    };
    p.skip_sp();
    let mut out: Vec<(String, Member)> = Vec::new();
    if p.done() {
        return Ok(out);
    }
    loop {
        let key = p.key()?;
        let member = if p.eat(b'=') {
            if p.peek() == Some(b'(') {
                p.inner_list()?
            } else {
                let item = p.bare_item()?;
                Member::Item(item, p.params()?)
            }
        } else {
            Member::Item(BareItem::Boolean(true), p.params()?)
        };
        if let Some(slot) = out.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = member;
        } else {
            out.push((key, member));
        }
        if out.len() > MAX_MEMBERS {
            return Err(malformed("too many dictionary members"));
        }
        p.skip_ows();
        if p.done() {
            return Ok(out);
        }
        if !p.eat(b',') {
            return Err(malformed("expected a comma between dictionary members"));
        }
        p.skip_ows();
        if p.done() {
            return Err(malformed("trailing comma"));
        }
    }
}

struct SfParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl SfParser<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn key(&mut self) -> Result<String, SfvError> {
        let start = self.i;
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => self.i += 1,
            _ => return Err(malformed("a key must start with a lowercase letter or *")),
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c) {
                self.i += 1;
            } else {
                break;
            }
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn params(&mut self) -> Result<Params, SfvError> {
        let mut out: Params = Vec::new();
        while self.eat(b';') {
            self.skip_sp();
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare_item()?
            } else {
                BareItem::Boolean(true)
            };
            if let Some(slot) = out.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = value;
            } else {
                out.push((key, value));
            }
            if out.len() > 32 {
                return Err(malformed("too many parameters"));
            }
        }
        Ok(out)
    }

    fn inner_list(&mut self) -> Result<Member, SfvError> {
        if !self.eat(b'(') {
            return Err(malformed("expected an inner list"));
        }
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            if self.eat(b')') {
                let params = self.params()?;
                return Ok(Member::InnerList(items, params));
            }
            let item = self.bare_item()?;
            let params = self.params()?;
            items.push((item, params));
            if items.len() > MAX_INNER_LIST {
                return Err(malformed("too many items in an inner list"));
            }
            match self.peek() {
                Some(b' ' | b')') => {}
                _ => return Err(malformed("inner list items are separated by spaces")),
            }
        }
    }

    fn bare_item(&mut self) -> Result<BareItem, SfvError> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b'?') => {
                self.i += 1;
                match self.peek() {
                    Some(b'0') => {
                        self.i += 1;
                        Ok(BareItem::Boolean(false))
                    }
                    Some(b'1') => {
                        self.i += 1;
                        Ok(BareItem::Boolean(true))
                    }
                    _ => Err(malformed("bad boolean")),
                }
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => self.integer(),
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => Ok(self.token()),
            _ => Err(malformed("expected an item")),
        }
    }

    fn integer(&mut self) -> Result<BareItem, SfvError> {
        let neg = self.eat(b'-');
        let start = self.i;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.i += 1;
        }
        let digits = &self.s[start..self.i];
        if digits.is_empty() || digits.len() > 15 {
            return Err(malformed("integers have 1 to 15 digits"));
        }
        if self.peek() == Some(b'.') {
            return Err(malformed("decimals are not accepted"));
        }
        let n: i64 = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| malformed("bad integer"))?;
        Ok(BareItem::Integer(if neg { -n } else { n }))
    }

    fn string(&mut self) -> Result<BareItem, SfvError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(malformed("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(BareItem::String(out));
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c as char);
                            self.i += 1;
                        }
                        _ => return Err(malformed("bad escape in a string")),
                    }
                }
                Some(c) if (0x20..0x7f).contains(&c) => {
                    out.push(c as char);
                    self.i += 1;
                }
                Some(_) => return Err(malformed("strings are printable ASCII")),
            }
        }
    }

    fn token(&mut self) -> BareItem {
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c) {
                self.i += 1;
            } else {
                break;
            }
        }
        BareItem::Token(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn bytes(&mut self) -> Result<BareItem, SfvError> {
        self.i += 1;
        let start = self.i;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || b"+/=".contains(&c)) {
            self.i += 1;
        }
        let text = &self.s[start..self.i];
        if !self.eat(b':') {
            return Err(malformed("unterminated byte sequence"));
        }
        B64.decode(text)
            .map(BareItem::Bytes)
            .map_err(|_| malformed("bad base64 in a byte sequence"))
    }
}

/// An inner list of strings with parameters, serialised (RFC 8941 §4.1.1.1).
pub(crate) fn serialize_inner_list(components: &[String], params: &Params) -> String {
    let mut out = String::from("(");
    for (i, c) in components.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        BareItem::String(c.clone()).serialize(&mut out);
    }
    out.push(')');
    serialize_params(params, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_fields_round_trip() {
        let d = parse_dictionary(r#"a=("x" "y\"z");p=?1;q=tok/1, b=:AQI=:;n=-5, c"#).unwrap();
        assert_eq!(d.len(), 3);
        let Member::InnerList(items, params) = &d[0].1 else {
            panic!()
        };
        assert_eq!(items[1].0, BareItem::String("y\"z".into()));
        assert_eq!(params[0], ("p".into(), BareItem::Boolean(true)));
        assert_eq!(params[1], ("q".into(), BareItem::Token("tok/1".into())));
        assert_eq!(
            d[1].1,
            Member::Item(
                BareItem::Bytes(vec![1, 2]),
                vec![("n".into(), BareItem::Integer(-5))]
            )
        );
        assert_eq!(d[2].1, Member::Item(BareItem::Boolean(true), vec![]));
        let comps = vec!["x".to_string(), "y\"z".to_string()];
        let params = vec![("p".to_string(), BareItem::Boolean(true))];
        assert_eq!(serialize_inner_list(&comps, &params), r#"("x" "y\"z");p"#);
    }
}
