//! Reading a log's static tiles (C2SP tlog-tiles) from any web server, object
//! store or CDN: `entente log tiles URL`. Nothing fetched is trusted: the
//! checkpoint is checked against the pinned log key, and every proof
//! computed from the tiles against that checkpoint's root (and the pinned
//! one's), so a cache serving stale or altered files is caught, not believed.

use std::time::Duration;

use entente_shared::checkpoint::SignedCheckpoint;
use entente_shared::merkle::{
    consistency_proof, inclusion_proof, verify_consistency, verify_inclusion, Hash,
};
use entente_shared::note::NoteVerifier;
use entente_shared::tiles::TileReader;

use crate::error::{fail, CliError, CliResult};

/// Longest one file may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest file read: a full tile is 8,192 bytes, a checkpoint at most 1 MiB.
const MAX_FILE: u64 = 1 << 20;

/// A tile folder at a URL prefix.
pub struct StaticLog {
    prefix: String,
    http: reqwest::blocking::Client,
}

impl StaticLog {
    pub fn new(prefix: &str) -> CliResult<StaticLog> {
        let http = reqwest::blocking::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| fail(format!("making the HTTP client: {e}")))?;
        Ok(StaticLog {
            prefix: prefix.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// GETs `<prefix>/<path>`.
    fn get(&self, path: &str) -> Result<Vec<u8>, String> {
        let url = format!("{}/{path}", self.prefix);
        let resp = self
            .http
            .get(&url)
            .send()
            .map_err(|e| format!("{url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("{url}: {}", resp.status()));
        }
        if resp.content_length().is_some_and(|n| n > MAX_FILE) {
            return Err(format!("{url}: larger than {MAX_FILE} bytes"));
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(resp, MAX_FILE + 1), &mut bytes)
            .map_err(|e| format!("{url}: {e}"))?;
        if bytes.len() as u64 > MAX_FILE {
            return Err(format!("{url}: larger than {MAX_FILE} bytes"));
        }
        Ok(bytes)
    }

    /// The folder's checkpoint, checked against the log key.
    pub fn checkpoint(&self, log: &NoteVerifier) -> CliResult<SignedCheckpoint> {
        let bytes = self.get("checkpoint").map_err(fail)?;
        let text = String::from_utf8(bytes).map_err(|_| fail("the checkpoint is not UTF-8"))?;
        SignedCheckpoint::parse_and_verify(&text, log).map_err(|e| {
            CliError::Inconsistent(format!(
                "the static checkpoint is not signed by the pinned log key: {e}"
            ))
        })
    }

    /// Checks, from the tiles of `at`'s tree alone, that the tree of
    /// `old_size` leaves with root `old_root` is a prefix of it.
    pub fn check_consistency(
        &self,
        at: &SignedCheckpoint,
        old_size: u64,
        old_root: &Hash,
    ) -> CliResult<()> {
        let (size, root) = (at.checkpoint.size, at.checkpoint.root);
        let reader = self.reader(size);
        let proof = if old_size == 0 || old_size == size {
            Vec::new()
        } else {
            consistency_proof(&reader, old_size, size).map_err(|e| fail(e.to_string()))?
        };
        if old_size == 0 {
            return Ok(());
        }
        verify_consistency(old_size, size, old_root, &root, &proof).map_err(|e| {
            CliError::Inconsistent(format!(
                "the tiles' checkpoint {size} is not consistent with checkpoint {old_size}: {e}"
            ))
        })
    }

    /// Checks each `(index, leaf hash)` is in `at`'s tree, by proofs from
    /// its tiles; returns how many tiles were fetched.
    pub fn check_inclusion(
        &self,
        at: &SignedCheckpoint,
        leaves: impl Iterator<Item = (u64, Hash)>,
    ) -> CliResult<usize> {
        let (size, root) = (at.checkpoint.size, at.checkpoint.root);
        let reader = self.reader(size);
        for (index, leaf) in leaves {
            let proof = inclusion_proof(&reader, index, size).map_err(|e| fail(e.to_string()))?;
            verify_inclusion(&leaf, index, size, &proof, &root).map_err(|e| {
                CliError::Inconsistent(format!(
                    "entry {index} is not in the tiles' tree of {size}: {e}"
                ))
            })?;
        }
        Ok(reader.fetched())
    }

    fn reader(
        &self,
        size: u64,
    ) -> TileReader<impl Fn(&str) -> Result<Vec<u8>, String> + '_, String> {
        TileReader::new(size, move |path: &str| self.get(path))
    }
}
