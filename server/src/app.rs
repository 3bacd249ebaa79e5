//! Start-up: open and verify the store, start the sequencer, serve HTTP.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use actix_web::middleware::ErrorHandlers;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use entente_shared::ledger::Ledger;
use entente_shared::note::NoteSigner;

use crate::fold_snapshots::FoldSnapshots;
use crate::head::Head;
use crate::recovery::{check_tree, spawn_fold_restore};
use crate::sequencer::{Core, Sequencer};
use crate::settings::Settings;
use crate::state::AppState;
use crate::static_tiles::StaticTiles;
use crate::store::{Opened, Store, StoreOptions, TornTail};
use crate::{log_key, routes, snapshot, tls, witness_push};

/// How often the sequencer hears that time passed (it saves an idle log's
/// fold snapshot).
const IDLE_TICK: std::time::Duration = std::time::Duration::from_secs(15);

/// What the server says when the store's contents do not verify.
const REFUSED: &str = "the store does not verify; refusing to serve it";

/// Runs the server until SIGINT or SIGTERM, then lets the sequencer finish.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    private_files();
    crate::fsync::create_dir_all(&settings.data)
        .with_context(|| format!("creating data folder {}", settings.data.display()))?;
    // The key's mode is checked as found; then everything else is made private.
    let key = log_key::load_or_create(&settings.data)?;
    tighten(&settings.data)
        .with_context(|| format!("making {} private", settings.data.display()))?;
    let opened = std::time::Instant::now();
    let options = store_options(&settings);
    let Opened {
        store,
        leaves,
        torn,
        migrated,
        index_reset,
    } = Store::open_with(&settings.data, &options).map_err(|e| {
        let context = if e.is_refusal() {
            REFUSED
        } else {
            "opening the store"
        };
        anyhow::Error::new(e).context(context)
    })?;
    report_opening(torn.as_ref(), migrated, index_reset.as_deref());
    tracing::info!(
        entries = leaves.len(),
        elapsed_ms = opened.elapsed().as_millis() as u64,
        "store opened: every segment read and its entries hashed"
    );
    let origin = match store.origin()? {
        Some(origin) => origin,
        None => {
            let origin = if settings.origin.is_empty() {
                format!("entente.local/log-{}", &key.key_id().as_str()[..8])
            } else {
                settings.origin.clone()
            };
            store.set_origin(&origin)?;
            origin
        }
    };
    if !settings.origin.is_empty() && settings.origin != origin {
        tracing::warn!(configured = %settings.origin, stored = %origin, "origin is fixed at first start; keeping the stored one");
    }
    let verifier = NoteSigner::new(&origin, &key)
        .with_context(|| format!("origin {origin:?} is not a valid key name"))?
        .verifier();
    // The snapshot is read and parsed on its own thread while the tree is checked.
    let snapshot_path = snapshot::path_in(&settings.data);
    let preload = (settings.fold_snapshot_every > 0)
        .then(|| {
            let path = snapshot_path.clone();
            std::thread::Builder::new()
                .name("fold-snapshot-load".into())
                .spawn(move || snapshot::load(&path))
                .map(|handle| (snapshot_path.clone(), handle))
        })
        .transpose()?;
    let started = std::time::Instant::now();
    let report = check_tree(&store, leaves, &verifier).context(REFUSED)?;
    if report.stale {
        // The log holds more than the index published (a crash between the
        // segment's sync and the index write, or a rebuilt index): the same
        // entries, now signed for.
        let (text, _) = log_key::sign_tree(&origin, &key, &report.tree)?;
        store.set_head(report.tree.size(), &text)?;
    }
    tracing::info!(
        entries = report.tree.size(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "tree verified against the published checkpoint"
    );
    crate::metrics::set_log_size(report.tree.size());

    // The fold is rebuilt while the server already serves entries and
    // proofs; submissions and the roster wait for it (`state::Fold`).
    let ledger = Arc::new(RwLock::new(Ledger::new()));
    let (ready_tx, ready_rx) = tokio::sync::watch::channel(false);
    spawn_fold_restore(
        store.clone(),
        report.tree.size(),
        preload,
        ledger.clone(),
        ready_tx,
    )?;
    let (feed, _) = tokio::sync::broadcast::channel(settings.stream_buffer);
    let head = Arc::new(Head::default());
    let core = Core {
        store: store.clone(),
        ledger: ledger.clone(),
        tree: report.tree,
        log_key: key,
        origin,
        max_batch: settings.max_batch,
        feed: Some(feed.clone()),
        tick: Some(IDLE_TICK),
        head: head.clone(),
        snapshots: (settings.fold_snapshot_every > 0)
            .then(|| FoldSnapshots::new(snapshot_path, settings.fold_snapshot_every)),
    };
    let (sequencer, sequencer_thread) = Sequencer::start(core, settings.queue_depth)?;
    if !settings.tiles_dir.is_empty() {
        StaticTiles::open(std::path::Path::new(&settings.tiles_dir), store.clone())?
            .spawn(head.clone())?;
    }
    let targets = settings.witness_targets().map_err(anyhow::Error::msg)?;
    let every = (settings.witness_interval_secs > 0)
        .then(|| std::time::Duration::from_secs(settings.witness_interval_secs));
    witness_push::spawn(targets, &store, &sequencer, head, every)?;
    let state = AppState::new(
        store,
        ledger,
        sequencer,
        settings.clone(),
        verifier,
        feed,
        ready_rx,
    );

    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(ErrorHandlers::new().default_handler(crate::error::problem_for_actix))
            .app_data(data.clone())
            .configure(routes::config)
    })
    .on_connect(crate::handlers::stream::on_connect)
    .shutdown_timeout(10)
    .max_connections(settings.max_connections)
    .client_request_timeout(std::time::Duration::from_millis(settings.header_timeout_ms));
    if settings.workers > 0 {
        server = server.workers(settings.workers);
    }
    let addr: SocketAddr = settings
        .bind
        .parse()
        .with_context(|| format!("bind address {:?} is not host:port", settings.bind))?;
    let (server, scheme) = match tls::server_config(&settings)? {
        Some(config) => (
            server
                .bind_rustls_0_23(addr, config)
                .with_context(|| format!("binding {addr}"))?,
            "https",
        ),
        None => {
            tls::check_plain_bind(addr, settings.insecure_bind)?;
            (
                server
                    .bind(addr)
                    .with_context(|| format!("binding {addr}"))?,
                "http",
            )
        }
    };
    for a in server.addrs() {
        // One line on stdout, for people and for test harnesses looking for the port.
        println!("entente-server listening on {scheme}://{a}");
    }
    server.run().await?;
    // The HTTP workers and their sequencer handles are gone: the thread drains and exits.
    let _ = tokio::task::spawn_blocking(move || sequencer_thread.join()).await;
    tracing::info!("stopped");
    Ok(())
}

/// Says what opening the store repaired, on stderr too: an operator should
/// know that a torn tail was cut or the index rebuilt.
fn report_opening(torn: Option<&TornTail>, migrated: Option<u64>, index_reset: Option<&str>) {
    if let Some(t) = torn {
        tracing::warn!(segment = %t.segment.display(), at = t.at, bytes = t.bytes,
            "cut a torn tail off the log (a write a crash interrupted; never acknowledged)");
        eprintln!(
            "entente-server: cut a torn tail of {} bytes off {} at byte {} (a write a crash interrupted; never acknowledged)",
            t.bytes,
            t.segment.display(),
            t.at
        );
    }
    if let Some(n) = migrated {
        eprintln!(
            "entente-server: moved {n} entries from the older store layout into segment files"
        );
    }
    if let Some(why) = index_reset {
        tracing::warn!(reason = %why, "the sled index did not open; rebuilding it from the segments");
        eprintln!(
            "entente-server: the sled index did not open; rebuilding it from the segments: {why}"
        );
    }
}

/// Files the process creates from here on are 0600 and folders 0700 (sled's
/// included): the data folder holds the log key, the fold snapshot and, until
/// bodies are sealed, restricted texts.
fn private_files() {
    // SAFETY: umask only sets the process's file mode creation mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// Removes group and other access from everything under `dir` (a data folder
/// made by an older release, or copied in by an operator).
fn tighten(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    if meta.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            tighten(&entry?.path())?;
        }
    }
    Ok(())
}

/// The store's options from the settings (`cache_capacity_mb`, `compress_store`).
fn store_options(settings: &Settings) -> StoreOptions {
    StoreOptions {
        cache_bytes: settings.cache_capacity_mb.saturating_mul(1 << 20),
        compression: settings.compress_store,
        segment_bytes: settings.segment_mb.saturating_mul(1 << 20),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_options_follow_the_settings() {
        let settings = Settings {
            cache_capacity_mb: 3,
            compress_store: true,
            ..Settings::default()
        };
        let options = store_options(&settings);
        assert_eq!(options.cache_bytes, 3 * 1024 * 1024);
        assert!(options.compression);
        assert_eq!(options.segment_bytes, 64 << 20);
        let options = store_options(&Settings::default());
        assert_eq!(options.cache_bytes, 64 * 1024 * 1024);
        assert!(!options.compression);
    }
}
