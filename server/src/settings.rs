//! Server settings: defaults in code, then `config/server.toml` (or
//! `--config FILE`), then `ENTENTE_*` environment variables, then flags.
//!
//! The shipped `config/server.toml` documents every field; a test keeps it and
//! [`Settings::default`] in step.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// Where the server looks for its settings when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "config/server.toml";

/// Every setting of the server. See `config/server.toml` for the documentation of each.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    pub bind: String,
    /// Data folder: the sled store and the log signing key.
    pub data: PathBuf,
    /// Checkpoint origin (and log key name); empty: derived from the log key on first start.
    pub origin: String,
    /// HTTP worker threads; 0: one per core.
    pub workers: usize,
    /// How far a statement's `issued_at` may be behind the server clock, in seconds.
    pub max_clock_skew_secs: u64,
    /// How far a statement's `issued_at` may be ahead of the server clock, in
    /// seconds: the fold's clock is `issued_at`, so this bounds how early one
    /// delegation can make a deadline pass for everyone.
    pub max_future_skew_secs: u64,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest statement payload, in bytes.
    pub max_statement_bytes: usize,
    /// Most statements committed in one group commit.
    pub max_batch: usize,
    /// Statements waiting for the sequencer before new ones are refused with 503.
    pub queue_depth: usize,
    /// `text` or `json` log lines on stderr.
    pub log_format: String,
    /// tracing filter, e.g. `info` or `entente_server=debug`.
    pub log_level: String,
    /// How old (or how far in the future) a signed request's `created` may be, in seconds.
    pub request_signature_window_secs: u64,
    /// Most request nonces remembered for replay detection, per key (past
    /// it that key gets 429 until its nonces age out of the window).
    pub replay_cache_entries: usize,
    /// The URL clients use, e.g. `https://entente.example.org`, when a proxy
    /// stands in front; empty: the scheme and `Host` the server sees.
    pub public_url: String,
    /// TLS certificate chain (PEM); empty: plain HTTP.
    pub tls_cert: String,
    /// TLS private key (PEM, PKCS#8, SEC1 or PKCS#1); empty: plain HTTP.
    pub tls_key: String,
    /// Serve plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
    pub insecure_bind: bool,
    /// Committed batches a stream subscriber may fall behind before it is closed.
    pub stream_buffer: usize,
    /// Longest a stream may wait for a slow subscriber to take one message, in seconds.
    pub stream_send_timeout_secs: u64,
    /// Largest WebSocket frame (and message) a subscriber may send, in bytes.
    pub stream_max_frame_bytes: usize,
    /// Kernel send buffer of a stream connection, in bytes: how much a silent subscriber can soak up.
    pub stream_send_buffer_bytes: usize,
    /// Open streams one delegation may hold at once (429 `too-many-streams` past it).
    pub stream_max_per_delegation: usize,
    /// Open streams in all (429 `too-many-streams` past it), well under the
    /// connections the workers take, so that HTTP requests are always admitted.
    pub stream_max_total: usize,
    /// Ping each subscriber this often, in seconds; one that has answered
    /// nothing (no pong) by the next ping is closed (1008).
    pub stream_ping_secs: u64,
    /// Witnesses the log asks to cosign each new checkpoint (C2SP
    /// tlog-witness), each `"<submission prefix URL> <witness vkey>"`.
    pub witnesses: Vec<String>,
    /// Ask each witness to cosign the latest checkpoint again once its last
    /// cosignature is this many seconds old, so that an idle log stays
    /// provably fresh; 0: only when the checkpoint changes.
    pub witness_interval_secs: u64,
    /// Folder to write the log's static tiles and checkpoint to (C2SP
    /// tlog-tiles), for a web server to serve; empty: none.
    pub tiles_dir: String,
    /// sled page cache, in MiB (sled's own default is 1 GiB).
    pub cache_capacity_mb: u64,
    /// Statements per second one delegation may submit, sustained (429 past it).
    pub rate_per_delegation: u32,
    /// Statements one delegation may submit at once before the rate applies.
    pub rate_burst: u32,
    /// Open connections per HTTP worker; further ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// Milliseconds a client has to send its request headers (then 408 and closed).
    pub header_timeout_ms: u64,
    /// Milliseconds a client has to send its whole body (then 408 timeout).
    pub body_timeout_ms: u64,
    /// Seconds a client has to take a whole streamed answer (a page of
    /// entries) once it began; then the connection is closed.
    pub response_deadline_secs: u64,
    /// zstd-compress the sled index's pages; fixed when the index is created.
    pub compress_store: bool,
    /// A segment file of the log grows to about this many MiB, then the
    /// next one starts.
    pub segment_mb: u64,
    /// Save the fold every this many entries (and when idle, and at stop),
    /// so start-up restores it instead of replaying the log; 0: never.
    pub fold_snapshot_every: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            bind: "127.0.0.1:8740".into(),
            data: PathBuf::from("./data"),
            origin: String::new(),
            workers: 0,
            max_clock_skew_secs: 300,
            max_future_skew_secs: 5,
            max_body_bytes: 256 * 1024,
            max_statement_bytes: 128 * 1024,
            max_batch: 1024,
            queue_depth: 16 * 1024,
            log_format: "text".into(),
            log_level: "info".into(),
            request_signature_window_secs: 300,
            replay_cache_entries: 50_000,
            public_url: String::new(),
            tls_cert: String::new(),
            tls_key: String::new(),
            insecure_bind: false,
            stream_buffer: 1024,
            stream_send_timeout_secs: 10,
            stream_max_frame_bytes: 4096,
            stream_send_buffer_bytes: 65536,
            stream_max_per_delegation: 16,
            stream_max_total: 512,
            stream_ping_secs: 30,
            witnesses: Vec::new(),
            witness_interval_secs: 60,
            tiles_dir: String::new(),
            cache_capacity_mb: 64,
            rate_per_delegation: 200,
            rate_burst: 400,
            max_connections: 1024,
            header_timeout_ms: 5000,
            body_timeout_ms: 10000,
            response_deadline_secs: 60,
            compress_store: false,
            segment_mb: 64,
            fold_snapshot_every: 100_000,
        }
    }
}

const FIELDS: &[&str] = &[
    "bind",
    "data",
    "origin",
    "workers",
    "max_clock_skew_secs",
    "max_future_skew_secs",
    "max_body_bytes",
    "max_statement_bytes",
    "max_batch",
    "queue_depth",
    "log_format",
    "log_level",
    "request_signature_window_secs",
    "replay_cache_entries",
    "public_url",
    "tls_cert",
    "tls_key",
    "insecure_bind",
    "stream_buffer",
    "stream_send_timeout_secs",
    "stream_max_frame_bytes",
    "stream_send_buffer_bytes",
    "stream_max_per_delegation",
    "stream_max_total",
    "stream_ping_secs",
    "witnesses",
    "witness_interval_secs",
    "tiles_dir",
    "cache_capacity_mb",
    "rate_per_delegation",
    "rate_burst",
    "max_connections",
    "header_timeout_ms",
    "body_timeout_ms",
    "response_deadline_secs",
    "compress_store",
    "segment_mb",
    "fold_snapshot_every",
];

impl Settings {
    /// Layers defaults, the config file and `ENTENTE_*` variables. A missing
    /// file is an error only when it was named explicitly.
    pub fn load(config: Option<&Path>) -> Result<Settings, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        match config {
            Some(path) => {
                if !path.exists() {
                    return Err(Box::new(figment::Error::from(format!(
                        "config file {} not found",
                        path.display()
                    ))));
                }
                fig = fig.merge(Toml::file(path));
            }
            None => fig = fig.merge(Toml::file(DEFAULT_CONFIG)),
        }
        // Only our own keys: ENTENTE_HOME and friends belong to the CLI.
        fig = fig.merge(Env::prefixed("ENTENTE_").only(FIELDS));
        let settings: Settings = fig.extract().map_err(Box::new)?;
        settings
            .validate()
            .map_err(|e| Box::new(figment::Error::from(e)))?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), String> {
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(format!(
                "log_format must be text or json, not {:?}",
                self.log_format
            ));
        }
        if self.max_batch == 0 || self.queue_depth == 0 {
            return Err("max_batch and queue_depth must be at least 1".into());
        }
        if self.request_signature_window_secs == 0 || self.replay_cache_entries == 0 {
            return Err(
                "request_signature_window_secs and replay_cache_entries must be at least 1".into(),
            );
        }
        if !self.public_url.is_empty() && split_public_url(&self.public_url).is_none() {
            return Err(format!(
                "public_url must be http(s)://host[:port] with no path, not {:?}",
                self.public_url
            ));
        }
        if self.stream_buffer == 0
            || self.stream_send_timeout_secs == 0
            || self.stream_ping_secs == 0
        {
            return Err(
                "stream_buffer, stream_send_timeout_secs and stream_ping_secs must be at least 1"
                    .into(),
            );
        }
        if !(1..=1024).contains(&self.segment_mb) {
            return Err(format!(
                "segment_mb must be between 1 and 1024, not {}",
                self.segment_mb
            ));
        }
        if self.tls_cert.is_empty() != self.tls_key.is_empty() {
            return Err("tls_cert and tls_key are set together (or both left empty)".into());
        }
        if self.rate_per_delegation == 0 || self.rate_burst == 0 || self.max_connections == 0 {
            return Err(
                "rate_per_delegation, rate_burst and max_connections must be at least 1".into(),
            );
        }
        if self.max_statement_bytes > self.max_body_bytes {
            return Err("max_statement_bytes must not exceed max_body_bytes".into());
        }
        self.witness_targets()?;
        Ok(())
    }

    /// The `witnesses` setting, each parsed as a submission prefix and a
    /// cosignature verifier key.
    pub fn witness_targets(&self) -> Result<Vec<WitnessTarget>, String> {
        self.witnesses
            .iter()
            .map(|w| WitnessTarget::parse(w))
            .collect()
    }
}

/// A witness the log asks to cosign (see [`Settings::witnesses`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessTarget {
    /// The submission prefix: `add-checkpoint` is posted to `<url>/add-checkpoint`.
    pub url: String,
    /// The witness's cosignature key (C2SP vkey, signature type 0x04).
    pub key: entente_shared::cosignature::WitnessKey,
}

impl WitnessTarget {
    fn parse(setting: &str) -> Result<WitnessTarget, String> {
        let bad = |why: String| format!("witnesses: {setting:?}: {why}");
        let (url, vkey) = setting
            .split_once(' ')
            .ok_or_else(|| bad("expected \"<URL> <vkey>\"".into()))?;
        let url = url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(bad("the URL must be http(s)://".into()));
        }
        let key = vkey
            .trim()
            .parse()
            .map_err(|e| bad(format!("not a cosignature verifier key: {e}")))?;
        Ok(WitnessTarget {
            url: url.to_owned(),
            key,
        })
    }
}

/// `(scheme, authority)` of a `public_url` setting, if it is one.
pub fn split_public_url(url: &str) -> Option<(&str, &str)> {
    let (scheme, authority) = url.trim_end_matches('/').split_once("://")?;
    let ok = matches!(scheme, "http" | "https")
        && !authority.is_empty()
        && !authority.contains(['/', '?', '#', '@', ' ']);
    ok.then_some((scheme, authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_matches_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/server.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let shipped: Settings = toml::from_str(&text).unwrap();
        assert_eq!(shipped, Settings::default());
    }

    #[test]
    fn public_url_shapes() {
        assert_eq!(
            split_public_url("https://e.example:8443/"),
            Some(("https", "e.example:8443"))
        );
        assert_eq!(split_public_url("https://e.example/base"), None);
        assert_eq!(split_public_url("ftp://e.example"), None);
        assert_eq!(split_public_url("e.example"), None);
    }

    #[test]
    fn segment_size_is_bounded() {
        for (mb, ok) in [
            (0, false),
            (1, true),
            (64, true),
            (1024, true),
            (1025, false),
        ] {
            let settings = Settings {
                segment_mb: mb,
                ..Settings::default()
            };
            assert_eq!(settings.validate().is_ok(), ok, "segment_mb = {mb}");
        }
    }

    #[test]
    fn witnesses_are_a_url_and_a_cosignature_vkey() {
        let (key, _) = entente_shared::keys::SigningKey::generate().unwrap();
        let vkey = entente_shared::cosignature::vkey("entente-witness/US", &key.public_key());
        let with = |w: &str| Settings {
            witnesses: vec![w.to_owned()],
            ..Settings::default()
        };
        let ok = with(&format!("http://127.0.0.1:9/w/ {vkey}"));
        let targets = ok.witness_targets().unwrap();
        assert_eq!(targets[0].url, "http://127.0.0.1:9/w");
        assert_eq!(targets[0].key.name, "entente-witness/US");
        for bad in [
            vkey.clone(),
            format!("ftp://x {vkey}"),
            "http://x entente-witness/US+00000000+AAAA".to_owned(),
            // A note vkey (type 0x01) is not a cosignature key.
            format!(
                "http://x {}",
                entente_shared::note::vkey("entente-witness/US", 1, &key.public_key())
            ),
        ] {
            assert!(with(&bad).validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(toml::from_str::<Settings>("bnid = \"x\"").is_err());
    }
}
