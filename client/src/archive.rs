//! Archive bundles on disk: export from a server, verify offline on every core.
//!
//! The format and each check are in [`entente_shared::archive`] (pure); this
//! module does the I/O and the scheduling. Verification streams the file in
//! chunks of entry lines through three threads, so that no stage waits for
//! the whole bundle and memory stays bounded by the fold, not the file:
//! a reader splits lines; a checker runs the per-entry stages of each chunk
//! on every core with rayon (JSON parsing, leaf hashing, inclusion proofs,
//! statement decoding, then the chunk's new roster keys, then Ed25519
//! signatures); and the calling thread folds the checked entries in log
//! order while later chunks are being checked.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use anyhow::Context;
use entente_shared::archive::{
    self, check_signature, parse_line, signing_keys, ArchiveEntry, ArchiveError, Fold, Header,
    Ready, Verified,
};
use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::encryption::EncryptionSecret;
use entente_shared::keys::{KeyId, PublicKey};
use entente_shared::merkle::{leaf_hash, MemoryTree};
use entente_shared::note::NoteVerifier;
use entente_shared::seal::Keyring;
use entente_shared::statement::Statement;
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::error::{fail, CliError, CliResult};
use crate::http::Api;
use crate::profile::Profile;
use crate::trust::Assessed;

/// Entry lines per chunk: enough that rayon's two barriers per chunk cost
/// little, few enough that the chunks in flight stay in tens of megabytes.
const CHUNK_LINES: usize = 4096;
/// Chunks a stage may run ahead of the next one.
const CHUNKS_AHEAD: usize = 2;

/// Consecutive entry lines of a bundle, in one buffer.
struct Chunk {
    /// Position (0-based, after the header) of the first line.
    first: u64,
    text: Vec<u8>,
    /// Where each line is in `text` (its `\n` excluded).
    lines: Vec<Range<usize>>,
}

/// A chunk's entries after stages 1 to 3, in order.
type Checked = Vec<Result<(u64, Ready), ArchiveError>>;

/// Reads and verifies the bundle at `path` (see the module docs).
pub fn read_and_verify(
    path: &Path,
    pinned: Option<&NoteVerifier>,
    keys: Option<Vec<EncryptionSecret>>,
) -> CliResult<(Header, Verified)> {
    let reading = || format!("reading {}", path.display());
    let file = fs::File::open(path).with_context(reading)?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line).with_context(reading)?;
    let header: Header = serde_json::from_slice(&line)
        .map_err(|e| CliError::Archive(format!("the header line: {e}")))?;
    let bad = |e: ArchiveError| CliError::Archive(e.to_string());
    let cp = archive::check_header(&header, pinned).map_err(bad)?;
    let frameworks = archive::check_frameworks(&header).map_err(bad)?;
    // The holder of the exporting delegation's keys opens what was sealed to it.
    let mut fold = match keys {
        Some(keys) => Fold::opening(
            cp.clone(),
            frameworks,
            Keyring::new(header.exported_by, keys),
        ),
        None => Fold::new(cp.clone(), frameworks),
    };
    std::thread::scope(|s| -> CliResult<()> {
        let (chunks, to_check) = sync_channel(CHUNKS_AHEAD);
        let (checked, to_fold) = sync_channel(CHUNKS_AHEAD);
        s.spawn(move || read_chunks(reader, chunks));
        s.spawn(|| check_chunks(&cp, to_check, checked));
        // Returning early drops `to_fold`, which stops the other two threads.
        for chunk in to_fold {
            for item in chunk.with_context(reading)? {
                fold.push(item).map_err(bad)?;
            }
        }
        Ok(())
    })?;
    let verified = fold.finish().map_err(bad)?;
    Ok((header, verified))
}

/// The reader thread: entry lines, [`CHUNK_LINES`] at a time, until the end
/// of the file, an I/O error, or the checker hanging up.
fn read_chunks(mut reader: impl BufRead, out: SyncSender<io::Result<Chunk>>) {
    let mut first = 0u64;
    loop {
        let mut chunk = Chunk {
            first,
            text: Vec::new(),
            lines: Vec::with_capacity(CHUNK_LINES),
        };
        while chunk.lines.len() < CHUNK_LINES {
            let start = chunk.text.len();
            match reader.read_until(b'\n', &mut chunk.text) {
                Ok(0) => break,
                Ok(_) => {
                    let newline = chunk.text.last() == Some(&b'\n');
                    chunk
                        .lines
                        .push(start..chunk.text.len() - usize::from(newline));
                }
                Err(e) => {
                    let _ = out.send(Err(e));
                    return;
                }
            }
        }
        if chunk.lines.is_empty() {
            return;
        }
        first += chunk.lines.len() as u64;
        let last = chunk.lines.len() < CHUNK_LINES;
        if out.send(Ok(chunk)).is_err() || last {
            return;
        }
    }
}

/// The checker thread: stages 1 to 3 of each chunk, on every core, with the
/// signing keys of every chunk so far (see [`entente_shared::archive`]).
fn check_chunks(
    cp: &SignedCheckpoint,
    chunks: Receiver<io::Result<Chunk>>,
    out: SyncSender<io::Result<Checked>>,
) {
    let mut keys = HashMap::new();
    for chunk in chunks {
        let checked = chunk.map(|c| check_chunk(&c, cp, &mut keys));
        if out.send(checked).is_err() {
            return;
        }
    }
}

fn check_chunk(
    chunk: &Chunk,
    cp: &SignedCheckpoint,
    keys: &mut HashMap<KeyId, PublicKey>,
) -> Checked {
    let parsed: Vec<_> = chunk
        .lines
        .par_iter()
        .enumerate()
        .map(|(i, line)| parse_line(chunk.first + i as u64, &chunk.text[line.clone()], cp))
        .collect();
    keys.extend(signing_keys(parsed.iter().filter_map(|p| p.as_ref().ok())));
    let keys = &*keys;
    parsed
        .into_par_iter()
        .map(|p| p.and_then(|p| check_signature(p, keys)))
        .collect()
}

/// Every declaration a verified bundle reproduces (`declaration show --from-archive`).
pub fn declarations(
    path: &Path,
    pinned: Option<&NoteVerifier>,
) -> CliResult<Vec<entente_shared::ledger::Declaration>> {
    let (_, verified) = read_and_verify(path, pinned, None)?;
    let proposals = verified.ledger.proposals();
    Ok(proposals
        .iter()
        .filter_map(|p| proposals.declaration(&p.meta.id))
        .collect())
}

/// What an export wrote.
pub struct ExportSummary {
    pub file: PathBuf,
    pub size: u64,
    pub envelopes: u64,
    pub hidden: u64,
    pub bytes: u64,
}

fn bar(hidden: bool, len: u64, what: &str) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    // Draws on stderr, and only when it is a terminal.
    let pb = ProgressBar::new(len);
    let style = ProgressStyle::with_template(&format!(
        "{what} {{bar:30}} {{pos}}/{{len}} entries, {{msg}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb
}

/// Writes the bundle of `assessed`'s checkpoint to `path`: every entry the
/// server lets this delegation see, checked against the checkpoint first.
pub fn export(
    profile: &Profile,
    api: &Api,
    assessed: &Assessed,
    path: &Path,
    since: u64,
    quiet: bool,
) -> CliResult<ExportSummary> {
    let cp = &assessed.checkpoint.checkpoint;
    let size = cp.size;
    let mut tree = MemoryTree::new();
    let mut envelopes: Vec<Option<String>> = Vec::new();
    let mut fetched = 0u64;
    let pb = bar(quiet, size, "fetching");
    let wrong = |index: u64, why: &str| CliError::Inconsistent(format!("entry {index}: {why}"));
    api.entries(0, size, |page| {
        for entry in page {
            if entry.index != tree.size() {
                return Err(wrong(tree.size(), "the server skipped it"));
            }
            let kept = match entry.envelope {
                None => None,
                Some(env) => {
                    let bytes = env.to_canonical_json();
                    if leaf_hash(&bytes) != entry.leaf_hash {
                        return Err(wrong(entry.index, "its leaf hash is not its envelope's"));
                    }
                    fetched += bytes.len() as u64;
                    let roster = Statement::decode(&env.payload)
                        // The roster and the supplier registry: what a fold
                        // of the later entries needs to judge them.
                        .map(|s| s.kind().is_public())
                        .unwrap_or(false);
                    if entry.index >= since || roster {
                        // Canonical JSON is ASCII (serde_json escapes nothing else here).
                        Some(String::from_utf8(bytes).map_err(|_| fail("envelope is not UTF-8"))?)
                    } else {
                        None
                    }
                }
            };
            tree.push(entry.leaf_hash);
            envelopes.push(kept);
            pb.inc(1);
            pb.set_message(format!("{} fetched", HumanBytes(fetched)));
        }
        Ok(())
    })?;
    pb.finish_and_clear();
    if tree.root() != cp.root {
        return Err(CliError::Inconsistent(format!(
            "the server's entries do not hash to the root of checkpoint {size}"
        )));
    }

    let header = Header {
        format: archive::FORMAT.to_owned(),
        origin: cp.origin.clone(),
        log_key: profile.data.log_key.clone(),
        checkpoint: assessed.checkpoint.to_text(),
        size,
        since,
        exported_by: profile.data.delegation,
        exported_at: time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64,
        frameworks: archive::builtin_frameworks(),
    };
    let partial = PathBuf::from(format!("{}.partial", path.display()));
    // 0600: the bundle holds everything this delegation may read, AMBER and RED included.
    let file = {
        use std::os::unix::fs::OpenOptionsExt as _;
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .with_context(|| format!("creating {}", partial.display()))?
    };
    let mut out = BufWriter::new(file);
    let mut bytes = 0u64;
    let mut line = serde_json::to_vec(&header).context("encoding the header")?;
    line.push(b'\n');
    out.write_all(&line)?;
    bytes += line.len() as u64;
    let pb = bar(quiet, size, "writing");
    let (mut visible, mut hidden) = (0, 0);
    for (index, envelope) in envelopes.into_iter().enumerate() {
        let index = index as u64;
        let leaf = tree.leaf(index).ok_or_else(|| fail("leaf missing"))?;
        let proof = tree
            .inclusion_proof(index, size)
            .map_err(|e| fail(format!("inclusion proof of {index}: {e}")))?;
        if envelope.is_some() {
            visible += 1;
        } else {
            hidden += 1;
        }
        let entry = ArchiveEntry {
            index,
            leaf_hash: leaf,
            envelope,
            inclusion_proof: proof,
        };
        let mut line = serde_json::to_vec(&entry).context("encoding an entry")?;
        line.push(b'\n');
        out.write_all(&line)?;
        bytes += line.len() as u64;
        pb.inc(1);
        pb.set_message(format!("{} written", HumanBytes(bytes)));
    }
    out.flush()?;
    out.into_inner()
        .map_err(|e| fail(format!("writing {}: {e}", partial.display())))?
        .sync_all()?;
    fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))?;
    pb.finish_and_clear();
    Ok(ExportSummary {
        file: path.to_owned(),
        size,
        envelopes: visible,
        hidden,
        bytes,
    })
}
