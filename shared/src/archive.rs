//! The offline archive bundle (`entente-archive/v1`): its format and every
//! check an offline verifier makes, as pure functions.
//!
//! A bundle is JSON Lines: one header line ([`Header`]), then exactly one
//! line per log entry ([`ArchiveEntry`]) for indexes `0..size`, in order.
//! `docs/archive.md` specifies the bytes for implementers in other languages.
//!
//! Verification runs in four stages, so that the expensive, independent work
//! can run on every core while the sequential fold goes on (the caller
//! chooses how — the CLI streams the file in chunks through rayon):
//! 1. [`parse_entry`] (per entry, parallel): position, leaf hash of the
//!    envelope bytes, inclusion proof against the checkpoint, statement decode;
//! 2. [`signing_keys`] (sequential, cheap): every public key the bundle's
//!    roster statements introduce, by key id. A streaming caller extends its
//!    map chunk by chunk, before stage 3 of that chunk; an entry signed by a
//!    key that only a later entry introduces then stays [`Ready::Envelope`],
//!    which the fold refuses at that entry just as it would have refused it
//!    after a successful check (the roster cannot hold a key before the
//!    entry that introduces it);
//! 3. [`check_signature`] (per entry, parallel): the DSSE signature against
//!    the key its statement names;
//! 4. [`Fold`] (sequential, fed entry by entry in log order): the shared
//!    [`Ledger`] — which key was active at that entry, `seq`, roles, every
//!    policy rule — then the entry count and the checkpoint's cosignatures
//!    against the folded roster.
//!
//! The first failing entry (lowest index) is the one reported, whichever
//! stage caught it.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::b64;
use crate::checkpoint::SignedCheckpoint;
use crate::cosignature::{self, Witnessed};
use crate::dsse::Envelope;
use crate::frameworks::{Framework, Frameworks};
use crate::keys::{KeyId, PublicKey};
use crate::ledger::{Declaration, Ledger, Replay, SignatureChecked, SupplierView};
use crate::merkle::{leaf_hash, verify_inclusion, Hash};
use crate::note::NoteVerifier;
use crate::statement::{Body, DelegationCode, Statement};

/// The `format` of every v1 header.
pub const FORMAT: &str = "entente-archive/v1";

/// One shipped framework, as the bundle carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworkSource {
    /// File name under `config/frameworks/`.
    pub file: String,
    /// The TOML text.
    pub toml: String,
}

/// The first line of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// The log's origin (checkpoint first line and log key name).
    pub origin: String,
    /// The log's note verifier key (`name+hash+base64(0x01 || key)`). A
    /// verifier should compare it with the key it pinned out of band.
    pub log_key: String,
    /// The signed checkpoint, with witnesses' cosignatures, as signed-note text.
    pub checkpoint: String,
    /// Tree size of that checkpoint: the number of entry lines that follow.
    pub size: u64,
    /// Entries below this index carry an envelope only if they are roster
    /// statements (`--since`); 0 for a full export.
    pub since: u64,
    /// Delegation that exported the bundle (whose view it is).
    pub exported_by: DelegationCode,
    /// Unix seconds of the export (informative, not verified).
    pub exported_at: u64,
    /// The assessment frameworks the fold judges with.
    pub frameworks: Vec<FrameworkSource>,
}

/// One entry line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveEntry {
    pub index: u64,
    /// `SHA-256(0x00 || envelope bytes)`, standard base64.
    #[serde(serialize_with = "b64::hash::serialize")]
    #[serde(deserialize_with = "in_place::hash")]
    pub leaf_hash: Hash,
    /// The envelope's canonical JSON, exactly the bytes the log hashed, as
    /// a JSON string; absent for an entry the exporter may not see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<String>,
    /// RFC 9162 inclusion proof of `leaf_hash` at `index` in the checkpoint's tree.
    #[serde(serialize_with = "b64::hashes::serialize")]
    #[serde(deserialize_with = "in_place::hashes")]
    pub inclusion_proof: Vec<Hash>,
}

/// Reading an entry line's hashes (about twenty a line) straight into
/// place, without the `String` and `Vec` per hash of [`b64::hash`] and
/// [`b64::hashes`]; the text accepted is the same, as the rare text that
/// is not standard padded base64 goes to [`b64::decode`].
mod in_place {
    use std::fmt;

    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserialize, Deserializer};

    use crate::b64;
    use crate::merkle::Hash;

    const WHAT: &str = "a hash is 32 bytes of base64";

    /// One hash, decoded from the string being parsed.
    struct InPlace(Hash);

    impl<'de> Deserialize<'de> for InPlace {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<InPlace, D::Error> {
            d.deserialize_str(HashVisitor)
        }
    }

    struct HashVisitor;

    impl Visitor<'_> for HashVisitor {
        type Value = InPlace;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(WHAT)
        }

        fn visit_str<E: Error>(self, text: &str) -> Result<InPlace, E> {
            let mut hash = [0; 32];
            match STANDARD.decode_slice(text, &mut hash) {
                Ok(32) => Ok(InPlace(hash)),
                _ => b64::decode(text)
                    .and_then(|b| b.try_into().ok())
                    .map(InPlace)
                    .ok_or_else(|| E::custom(WHAT)),
            }
        }
    }

    struct HashesVisitor;

    impl<'de> Visitor<'de> for HashesVisitor {
        type Value = Vec<Hash>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of hashes")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Hash>, A::Error> {
            // A proof has one hash per tree level: 64 bounds any real one.
            let mut hashes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
            while let Some(InPlace(h)) = seq.next_element()? {
                hashes.push(h);
            }
            Ok(hashes)
        }
    }

    pub fn hash<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        InPlace::deserialize(d).map(|h| h.0)
    }

    pub fn hashes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        d.deserialize_seq(HashesVisitor)
    }
}

/// Why a bundle does not verify: the entry (if one is to blame) and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveError {
    pub index: Option<u64>,
    pub reason: String,
}

impl ArchiveError {
    fn at(index: u64, reason: impl Into<String>) -> ArchiveError {
        ArchiveError {
            index: Some(index),
            reason: reason.into(),
        }
    }

    fn bundle(reason: impl Into<String>) -> ArchiveError {
        ArchiveError {
            index: None,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "entry {i}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for ArchiveError {}

/// The frameworks this build judges with, as a bundle carries them.
pub fn builtin_frameworks() -> Vec<FrameworkSource> {
    crate::frameworks::SOURCES
        .iter()
        .map(|(file, toml)| FrameworkSource {
            file: (*file).to_owned(),
            toml: (*toml).to_owned(),
        })
        .collect()
}

/// Checks the header: format, log key, the checkpoint's log signature and size.
///
/// `pinned` is the log key the verifier holds out of band; without it the
/// bundle's own key is used, which proves integrity but not authorship.
pub fn check_header(
    header: &Header,
    pinned: Option<&NoteVerifier>,
) -> Result<SignedCheckpoint, ArchiveError> {
    if header.format != FORMAT {
        return Err(ArchiveError::bundle(format!(
            "unknown bundle format {:?} (expected {FORMAT})",
            header.format
        )));
    }
    let key: NoteVerifier = header
        .log_key
        .parse()
        .map_err(|e| ArchiveError::bundle(format!("the bundle's log key: {e}")))?;
    if let Some(pinned) = pinned {
        if *pinned != key {
            return Err(ArchiveError::bundle(format!(
                "the bundle's log key {} is not the pinned log key {}",
                key.to_vkey(),
                pinned.to_vkey()
            )));
        }
    }
    if key.name() != header.origin {
        return Err(ArchiveError::bundle(
            "the log key is not named after the origin",
        ));
    }
    let cp = SignedCheckpoint::parse_and_verify(&header.checkpoint, &key)
        .map_err(|e| ArchiveError::bundle(format!("the checkpoint: {e}")))?;
    if cp.checkpoint.size != header.size {
        return Err(ArchiveError::bundle(format!(
            "the header says {} entries but the checkpoint has size {}",
            header.size, cp.checkpoint.size
        )));
    }
    Ok(cp)
}

/// Checks that the bundle's frameworks are exactly those this verifier's
/// fold judges with (the fold uses the compiled-in ones).
pub fn check_frameworks(header: &Header) -> Result<BTreeSet<String>, ArchiveError> {
    let mut ids = BTreeSet::new();
    for src in &header.frameworks {
        let fw: Framework = toml::from_str(&src.toml)
            .map_err(|e| ArchiveError::bundle(format!("framework {}: {e}", src.file)))?;
        match Frameworks::builtin().get(&fw.id) {
            Some(ours) if *ours == fw => {}
            _ => {
                return Err(ArchiveError::bundle(format!(
                    "framework {} ({}) differs from the one this verifier judges with",
                    fw.id, src.file
                )))
            }
        }
        ids.insert(fw.id);
    }
    Ok(ids)
}

/// An entry after stage 1.
#[derive(Clone, Debug)]
pub struct ParsedEntry {
    pub index: u64,
    pub leaf: Hash,
    /// The envelope and its decoded statement; `None` for a hidden entry.
    pub visible: Option<(Envelope, Statement)>,
}

/// Stage 1 for the entry line at `position` (its bytes, without the `\n`):
/// JSON, then [`parse_entry`].
pub fn parse_line(
    position: u64,
    line: &[u8],
    cp: &SignedCheckpoint,
) -> Result<ParsedEntry, ArchiveError> {
    let entry: ArchiveEntry = serde_json::from_slice(line)
        .map_err(|e| ArchiveError::at(position, format!("not an entry line: {e}")))?;
    parse_entry(position, entry, cp)
}

/// Stage 1 for the entry at `position`: index, leaf hash, inclusion proof, decode.
pub fn parse_entry(
    position: u64,
    entry: ArchiveEntry,
    cp: &SignedCheckpoint,
) -> Result<ParsedEntry, ArchiveError> {
    if entry.index != position {
        let why = if entry.index > position {
            format!(
                "missing: the bundle has entry {} in its place (dropped or reordered entries)",
                entry.index
            )
        } else {
            format!(
                "out of order: the bundle has entry {} in its place (reordered or repeated entries)",
                entry.index
            )
        };
        return Err(ArchiveError::at(position, why));
    }
    let at = |why: String| ArchiveError::at(position, why);
    let visible = match &entry.envelope {
        None => None,
        Some(text) => {
            if leaf_hash(text.as_bytes()) != entry.leaf_hash {
                return Err(at(
                    "the envelope does not hash to its leaf hash (changed bytes)".into(),
                ));
            }
            let envelope = Envelope::from_json(text.as_bytes())
                .map_err(|e| at(format!("the envelope: {e}")))?;
            if envelope.to_canonical_json() != text.as_bytes() {
                return Err(at("the envelope is not in canonical form".into()));
            }
            let statement = Statement::decode(&envelope.payload)
                .map_err(|e| at(format!("the statement: {}", e.0)))?;
            Some((envelope, statement))
        }
    };
    verify_inclusion(
        &entry.leaf_hash,
        position,
        cp.checkpoint.size,
        &entry.inclusion_proof,
        &cp.checkpoint.root,
    )
    .map_err(|e| {
        at(format!(
            "its inclusion proof does not verify against the checkpoint: {e}"
        ))
    })?;
    Ok(ParsedEntry {
        index: position,
        leaf: entry.leaf_hash,
        visible,
    })
}

/// Stage 2: every public key that roster statements in the bundle introduce.
/// Key ids are hashes of keys, so this map cannot be confused by a bad
/// entry; whether the key may sign a given entry is the fold's question.
pub fn signing_keys<'a>(
    entries: impl IntoIterator<Item = &'a ParsedEntry>,
) -> HashMap<KeyId, PublicKey> {
    let mut keys = HashMap::new();
    for e in entries {
        let Some((_, st)) = &e.visible else { continue };
        let key = match &st.body {
            Body::Admission(a) => a.public_key,
            Body::KeyRotation(r) => r.new_key,
            _ => continue,
        };
        keys.insert(key.key_id(), key);
    }
    keys
}

/// An entry after stage 3: hidden, signature checked, or (its key introduced
/// by no roster statement in the bundle) left for the fold to judge.
pub use crate::ledger::replay::Entry as Ready;

/// Stage 3: the DSSE signature of one entry.
pub fn check_signature(
    entry: ParsedEntry,
    keys: &HashMap<KeyId, PublicKey>,
) -> Result<(u64, Ready), ArchiveError> {
    let Some((envelope, statement)) = entry.visible else {
        return Ok((entry.index, Ready::Hidden));
    };
    let Some(key) = keys.get(&statement.key) else {
        return Ok((entry.index, Ready::Envelope(Box::new(envelope))));
    };
    let checked = SignatureChecked::check(envelope, key).map_err(|e| {
        ArchiveError::at(
            entry.index,
            format!("signature by key {}: {e}", statement.key),
        )
    })?;
    Ok((entry.index, Ready::Checked(Box::new(checked))))
}

/// A bundle that verified, and what the fold made of it.
pub struct Verified {
    pub ledger: Ledger,
    pub checkpoint: SignedCheckpoint,
    pub witnessed: Witnessed,
    /// Entries with an envelope, and without.
    pub visible: u64,
    pub hidden: u64,
}

impl Verified {
    /// Every adopted declaration, in proposal order.
    pub fn declarations(&self) -> Vec<Declaration> {
        self.ledger
            .proposals()
            .iter()
            .filter_map(|p| self.ledger.proposals().declaration(&p.meta.id))
            .collect()
    }

    /// The supplier comparison for every assessed supplier, by name.
    pub fn supplier_views(&self) -> Vec<SupplierView> {
        let names: BTreeSet<String> = self
            .ledger
            .assessments()
            .iter()
            .map(|a| a.body.supplier.name.clone())
            .collect();
        let mut seen = BTreeSet::new();
        names
            .iter()
            .filter(|n| {
                let key = match self.ledger.registry().get(n) {
                    Some(r) => crate::statement::Supplier::key(&r.name),
                    None => crate::statement::Supplier::key(n),
                };
                seen.insert(key)
            })
            .filter_map(|n| {
                // Every supplier once, under its registered name if it has one.
                let registered =
                    self.ledger
                        .registry()
                        .get(n)
                        .map(|r| crate::statement::Supplier {
                            name: r.name.clone(),
                            country: r.country.clone(),
                        });
                self.ledger.assessments().supplier_view(
                    &self.ledger.registry().keys_of(n),
                    registered.as_ref(),
                    |_| true,
                )
            })
            .collect()
    }
}

/// Stage 4, one entry at a time, in log order: the shared [`Ledger`] over
/// the entries (lowest-index failure wins, whatever stage found it), then,
/// in [`Fold::finish`], the count against the checkpoint and the
/// checkpoint's cosignatures against the roster the fold reached.
///
/// Fed entry by entry, so a caller can fold while later entries are still
/// being checked, and need not hold the whole bundle in memory.
pub struct Fold {
    cp: SignedCheckpoint,
    frameworks: BTreeSet<String>,
    replay: Replay,
    /// Entry lines folded so far: the position of the next one.
    lines: u64,
}

impl Fold {
    /// A fold over the bundle of `cp`, judging assessments only under the
    /// bundled `frameworks` (from [`check_frameworks`]).
    pub fn new(cp: SignedCheckpoint, frameworks: BTreeSet<String>) -> Fold {
        Fold::with_replay(cp, frameworks, Replay::new())
    }

    /// [`Fold::new`] for the holder of a key, who opens what is sealed to it
    /// (`opener`, its `seal::Keyring`) and recomputes every view from it.
    pub fn opening(
        cp: SignedCheckpoint,
        frameworks: BTreeSet<String>,
        opener: impl crate::seal::Opener + 'static,
    ) -> Fold {
        Fold::with_replay(cp, frameworks, Replay::opening(opener))
    }

    fn with_replay(cp: SignedCheckpoint, frameworks: BTreeSet<String>, replay: Replay) -> Fold {
        Fold {
            cp,
            frameworks,
            replay,
            lines: 0,
        }
    }

    /// Folds the next entry line, or fails with its error (stages 1 and 3
    /// report theirs through `item`).
    pub fn push(&mut self, item: Result<(u64, Ready), ArchiveError>) -> Result<(), ArchiveError> {
        let size = self.cp.checkpoint.size;
        if self.lines >= size {
            return Err(ArchiveError::bundle(format!(
                "the bundle has more than {size} entry lines, the checkpoint's size"
            )));
        }
        self.lines += 1;
        let (index, ready) = item?;
        let refused = |e: crate::refusal::Refusal| ArchiveError::at(index, e.to_string());
        let Some(verified) = self.replay.verify(ready).map_err(refused)? else {
            return Ok(());
        };
        if let Body::Assessment(a) = &verified.statement().body {
            if !self.frameworks.contains(&a.framework) {
                return Err(ArchiveError::at(
                    index,
                    format!("framework {} is not in the bundle", a.framework),
                ));
            }
        }
        self.replay.apply(&verified).map_err(refused)?;
        Ok(())
    }

    /// After the last entry line: every entry present, and every witness
    /// cosignature valid against the folded roster.
    pub fn finish(self) -> Result<Verified, ArchiveError> {
        let (lines, size) = (self.lines, self.cp.checkpoint.size);
        if lines < size {
            return Err(ArchiveError::at(
                lines,
                format!("missing: the bundle ends after {lines} of {size} entries"),
            ));
        }
        let hidden = self.replay.hidden();
        let ledger = self.replay.finish();
        let witnessed = cosignature::witnessed(&self.cp.note, ledger.roster());
        if let Some((code, e)) = witnessed.invalid.first() {
            return Err(ArchiveError::bundle(format!(
                "the checkpoint's cosignature by {code} does not verify against the roster: {e}"
            )));
        }
        Ok(Verified {
            ledger,
            checkpoint: self.cp,
            witnessed,
            visible: lines - hidden,
            hidden,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    fn entry() -> ArchiveEntry {
        ArchiveEntry {
            index: 7,
            leaf_hash: [0xfb; 32],
            envelope: None,
            inclusion_proof: vec![[0xff; 32], [0; 32], [0x3e; 32]],
        }
    }

    #[test]
    fn entry_lines_round_trip() {
        let e = entry();
        let line = serde_json::to_vec(&e).unwrap();
        let back: ArchiveEntry = serde_json::from_slice(&line).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn entry_hashes_accept_what_b64_accepts() {
        let url = URL_SAFE_NO_PAD.encode([0xfb; 32]);
        let line = format!(r#"{{"index":7,"leaf_hash":"{url}","inclusion_proof":["{url}"]}}"#);
        let back: ArchiveEntry = serde_json::from_str(&line).unwrap();
        assert_eq!(back.leaf_hash, [0xfb; 32]);
        assert_eq!(back.inclusion_proof, vec![[0xfb; 32]]);
    }

    #[test]
    fn entry_hashes_of_another_length_are_refused() {
        for bytes in [31, 33] {
            let text = b64::encode(&vec![1; bytes]);
            let proof = format!(
                r#"{{"index":0,"leaf_hash":"{}","inclusion_proof":["{text}"]}}"#,
                b64::encode(&[0; 32])
            );
            let leaf = format!(r#"{{"index":0,"leaf_hash":"{text}","inclusion_proof":[]}}"#);
            for line in [proof, leaf] {
                let err = serde_json::from_str::<ArchiveEntry>(&line).unwrap_err();
                assert!(err.to_string().contains("a hash is 32 bytes"), "{err}");
            }
        }
    }

    fn fold_of_size(size: u64) -> Fold {
        let (key, _) = crate::keys::SigningKey::generate().unwrap();
        let signer = crate::note::NoteSigner::new("example.org/log", &key).unwrap();
        let cp = crate::checkpoint::Checkpoint {
            origin: "example.org/log".into(),
            size,
            root: [0; 32],
            extensions: vec![],
        };
        Fold::new(
            SignedCheckpoint::sign(cp, &signer).unwrap(),
            BTreeSet::new(),
        )
    }

    #[test]
    fn the_fold_counts_entry_lines_against_the_checkpoint() {
        let mut fold = fold_of_size(2);
        fold.push(Ok((0, Ready::Hidden))).unwrap();
        fold.push(Ok((1, Ready::Hidden))).unwrap();
        let err = fold.push(Ok((2, Ready::Hidden))).err().unwrap();
        assert!(err.reason.contains("more than 2 entry lines"), "{err}");

        let mut fold = fold_of_size(2);
        fold.push(Ok((0, Ready::Hidden))).unwrap();
        let err = fold.finish().err().unwrap();
        assert_eq!(err.index, Some(1));
        assert!(err.reason.contains("ends after 1 of 2"), "{err}");

        let mut fold = fold_of_size(2);
        fold.push(Ok((0, Ready::Hidden))).unwrap();
        fold.push(Ok((1, Ready::Hidden))).unwrap();
        let v = fold.finish().unwrap();
        assert_eq!((v.visible, v.hidden), (0, 2));
    }
}
