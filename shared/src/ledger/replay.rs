//! Replaying a log through the fold: the one loop the server's start-up, the
//! CLI's `log verify` and `archive verify` all run.
//!
//! Each entry reaches the replay in one of three shapes — the bytes a store
//! holds, an envelope a reader was sent, or an envelope whose signature was
//! already checked on another core — or as a hidden entry the reader may not
//! see. [`Replay::next`] turns it into a [`VerifiedStatement`] (decode,
//! canonical form, signature, against the roster folded so far) and applies
//! it, so every verifier judges an entry by the same steps in the same order.

use crate::dsse::Envelope;
use crate::refusal::Refusal;
use crate::seal::Opener;

use super::{Ledger, SignatureChecked, VerifiedStatement};

/// One log entry as a verifier holds it.
#[derive(Debug)]
pub enum Entry {
    /// Not readable by this verifier: only its leaf hash is known.
    Hidden,
    /// An envelope whose signature is still to be checked.
    Envelope(Box<Envelope>),
    /// An envelope whose signature was checked (e.g. in parallel) against
    /// the key its statement names; the fold still checks that key is the
    /// one the roster gives.
    Checked(Box<SignatureChecked>),
}

impl Entry {
    /// An entry from its stored bytes, which must be the canonical JSON of
    /// its envelope (the form the log hashes).
    pub fn from_stored(bytes: &[u8]) -> Result<Entry, Refusal> {
        let envelope = Envelope::from_json(bytes).map_err(|e| Refusal::Malformed(e.to_string()))?;
        if envelope.to_canonical_json() != bytes {
            return Err(Refusal::Malformed("not in canonical form".into()));
        }
        Ok(Entry::Envelope(Box::new(envelope)))
    }
}

/// A fold being rebuilt entry by entry, in log order.
#[derive(Default)]
pub struct Replay {
    ledger: Ledger,
    hidden: u64,
    /// The reader's keys, if it opens what is sealed to it.
    opener: Option<Box<dyn Opener>>,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("size", &self.ledger.size())
            .field("hidden", &self.hidden)
            .field("opens", &self.opener.is_some())
            .finish()
    }
}

impl Replay {
    /// A replay from the empty log.
    pub fn new() -> Replay {
        Replay::default()
    }

    /// A replay that continues `ledger` (e.g. one restored from a snapshot).
    pub fn resume(ledger: Ledger) -> Replay {
        Replay {
            ledger,
            hidden: 0,
            opener: None,
        }
    }

    /// [`Replay::resume`] for a reader that opens what is sealed to it.
    pub fn resume_opening(ledger: Ledger, opener: impl Opener + 'static) -> Replay {
        Replay {
            ledger,
            hidden: 0,
            opener: Some(Box::new(opener)),
        }
    }

    /// A replay that opens what is sealed to `opener` (a reader's
    /// `seal::Keyring`) and judges it by its content too
    /// (`Ledger::apply_opened`).
    pub fn opening(opener: impl Opener + 'static) -> Replay {
        Replay {
            opener: Some(Box::new(opener)),
            ..Replay::default()
        }
    }

    /// The fold so far; its `size()` is the index of the next entry.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Entries skipped as hidden so far.
    pub fn hidden(&self) -> u64 {
        self.hidden
    }

    /// Verifies the next entry against the fold so far, without applying it:
    /// `None` for a hidden entry, which is counted (indexes stay aligned).
    /// Call [`Replay::apply`] with what it returns, after any check of the
    /// caller's own; or use [`Replay::next`] for both.
    /// Skips `n` hidden entries at once (what `n` times [`Entry::Hidden`] does).
    pub fn skip_hidden(&mut self, n: u64) {
        self.ledger.skip_hidden_n(n);
        self.hidden += n;
    }

    pub fn verify(&mut self, entry: Entry) -> Result<Option<VerifiedStatement>, Refusal> {
        match entry {
            Entry::Hidden => {
                self.ledger.skip_hidden();
                self.hidden += 1;
                Ok(None)
            }
            Entry::Envelope(envelope) => self.ledger.verify(*envelope).map(Some),
            Entry::Checked(checked) => self.ledger.accept_checked(*checked).map(Some),
        }
    }

    /// Applies a statement [`Replay::verify`] returned, as the next entry.
    pub fn apply(&mut self, verified: &VerifiedStatement) -> Result<u64, Refusal> {
        let opened = self
            .opener
            .as_ref()
            .and_then(|k| k.open(verified.statement()));
        self.ledger.apply_opened(verified, opened)
    }

    /// Verifies and applies the next entry; `None` for a hidden one.
    pub fn next(&mut self, entry: Entry) -> Result<Option<VerifiedStatement>, Refusal> {
        let verified = self.verify(entry)?;
        if let Some(v) = &verified {
            self.apply(v)?;
        }
        Ok(verified)
    }

    /// The fold reached.
    pub fn finish(self) -> Ledger {
        self.ledger
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;
    use crate::statement::{Admission, Body, Distribution, Role, Statement};

    fn founding() -> (SigningKey, Envelope) {
        let (key, _) = SigningKey::generate().unwrap();
        let st = Statement {
            author: "CZ".parse().unwrap(),
            key: key.key_id(),
            seq: 1,
            issued_at: time::OffsetDateTime::UNIX_EPOCH,
            distribution: Distribution::green(),
            body: Body::Admission(Admission {
                delegation: "CZ".parse().unwrap(),
                name: "Czechia".into(),
                role: Role::Secretariat,
                public_key: key.public_key(),
                encryption_key: None,
            }),
        };
        let envelope = st.sign(&key);
        (key, envelope)
    }

    #[test]
    fn stored_bytes_must_be_canonical() {
        let (_, envelope) = founding();
        let canonical = envelope.to_canonical_json();
        let mut replay = Replay::new();
        assert!(replay.next(Entry::from_stored(&canonical).unwrap()).is_ok());
        let spaced = format!(" {}", String::from_utf8(canonical).unwrap());
        assert!(matches!(
            Entry::from_stored(spaced.as_bytes()),
            Err(Refusal::Malformed(_))
        ));
    }

    #[test]
    fn hidden_entries_keep_indexes_aligned() {
        let (_, envelope) = founding();
        let mut replay = Replay::new();
        replay.next(Entry::Envelope(Box::new(envelope))).unwrap();
        assert!(replay.next(Entry::Hidden).unwrap().is_none());
        assert_eq!(replay.ledger().size(), 2);
        assert_eq!(replay.hidden(), 1);
    }

    #[test]
    fn a_replayed_entry_is_refused_by_the_fold() {
        let (_, envelope) = founding();
        let mut replay = Replay::new();
        replay
            .next(Entry::Envelope(Box::new(envelope.clone())))
            .unwrap();
        assert!(replay.next(Entry::Envelope(Box::new(envelope))).is_err());
    }
}
