//! Archive bundles on disk: export from a server, verify offline on every core.
//!
//! The format and each check are in [`entente_shared::archive`] (pure); this
//! module does the I/O and the scheduling: rayon runs the per-entry stages
//! (JSON parsing, leaf hashing, inclusion proofs, statement decoding, Ed25519
//! signatures) in parallel, then the shared fold runs once, in log order.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use entente_shared::api::{Entries, MAX_ENTRIES_PER_PAGE};
use entente_shared::archive::{
    self, check_signature, parse_entry, signing_keys, ArchiveEntry, ArchiveError, Header, Verified,
};
use entente_shared::merkle::{leaf_hash, MemoryTree};
use entente_shared::note::NoteVerifier;
use entente_shared::statement::Statement;
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::error::{fail, CliError, CliResult};
use crate::http::Api;
use crate::profile::Profile;
use crate::trust::Assessed;

/// Reads and verifies the bundle at `path` (see the module docs).
pub fn read_and_verify(
    path: &Path,
    pinned: Option<&NoteVerifier>,
) -> CliResult<(Header, Verified)> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bad = |e: ArchiveError| CliError::Archive(e.to_string());
    let mut lines = text.lines();
    let header: Header = serde_json::from_str(lines.next().unwrap_or_default())
        .map_err(|e| CliError::Archive(format!("the header line: {e}")))?;
    let cp = archive::check_header(&header, pinned).map_err(bad)?;
    let frameworks = archive::check_frameworks(&header).map_err(bad)?;
    let lines: Vec<&str> = lines.collect();

    // Stage 1, on every core: parse, hash, prove inclusion, decode.
    let parsed: Vec<Result<_, ArchiveError>> = lines
        .par_iter()
        .enumerate()
        .map(|(i, line)| {
            let entry: ArchiveEntry = serde_json::from_str(line).map_err(|e| ArchiveError {
                index: Some(i as u64),
                reason: format!("not an entry line: {e}"),
            })?;
            parse_entry(i as u64, entry, &cp)
        })
        .collect();
    // Stage 2: the keys roster statements introduce.
    let keys = signing_keys(parsed.iter().filter_map(|p| p.as_ref().ok()));
    // Stage 3, on every core: signatures.
    let ready: Vec<_> = parsed
        .into_par_iter()
        .map(|p| p.and_then(|p| check_signature(p, &keys)))
        .collect();
    // Stage 4: the fold, in order.
    let verified = archive::fold(cp, &frameworks, ready).map_err(bad)?;
    Ok((header, verified))
}

/// Every declaration a verified bundle reproduces (`declaration show --from-archive`).
pub fn declarations(
    path: &Path,
    pinned: Option<&NoteVerifier>,
) -> CliResult<Vec<entente_shared::ledger::Declaration>> {
    let (_, verified) = read_and_verify(path, pinned)?;
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
    while tree.size() < size {
        let start = tree.size();
        let end = (start + MAX_ENTRIES_PER_PAGE).min(size);
        let page: Entries = api.get_json(&format!("/v1/entries?start={start}&end={end}"))?;
        if page.entries.is_empty() {
            return Err(wrong(start, "the server returned no entries"));
        }
        for entry in page.entries {
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
                        .map(|s| s.kind().is_roster())
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
    }
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
        exported_by: profile.data.delegation.clone(),
        exported_at: time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64,
        frameworks: archive::builtin_frameworks(),
    };
    let partial = PathBuf::from(format!("{}.partial", path.display()));
    let file =
        fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
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
