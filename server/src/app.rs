//! Start-up: open and verify the store, start the sequencer, serve HTTP.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use actix_web::middleware::ErrorHandlers;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use entente_shared::ledger::Ledger;
use entente_shared::note::NoteSigner;

use crate::fold_snapshots::FoldSnapshots;
use crate::recovery::{check_tree, spawn_fold_restore};
use crate::sequencer::{Core, Sequencer};
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::{Store, StoreOptions};
use crate::{log_key, routes, snapshot, tls};

/// Runs the server until SIGINT or SIGTERM, then lets the sequencer finish.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    private_files();
    std::fs::create_dir_all(&settings.data)
        .with_context(|| format!("creating data folder {}", settings.data.display()))?;
    // The key's mode is checked as found; then everything else is made private.
    let key = log_key::load_or_create(&settings.data)?;
    tighten(&settings.data)
        .with_context(|| format!("making {} private", settings.data.display()))?;
    let opened = std::time::Instant::now();
    let options = store_options(&settings);
    let store =
        Store::open_with(&settings.data.join("log"), &options).context("opening the store")?;
    tracing::info!(
        elapsed_ms = opened.elapsed().as_millis() as u64,
        "store opened"
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
    let report =
        check_tree(&store, &verifier).context("the store does not verify; refusing to serve it")?;
    tracing::info!(
        entries = report.tree.size(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "stored tree verified against the signed checkpoint"
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
    let core = Core {
        store: store.clone(),
        ledger: ledger.clone(),
        tree: report.tree,
        log_key: key,
        origin,
        max_batch: settings.max_batch,
        feed: Some(feed.clone()),
        checkpoint_interval: (settings.checkpoint_interval_secs > 0)
            .then(|| std::time::Duration::from_secs(settings.checkpoint_interval_secs)),
        snapshots: (settings.fold_snapshot_every > 0)
            .then(|| FoldSnapshots::new(snapshot_path, settings.fold_snapshot_every)),
    };
    let (sequencer, sequencer_thread) = Sequencer::start(core, settings.queue_depth)?;
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
        let options = store_options(&Settings::default());
        assert_eq!(options.cache_bytes, 64 * 1024 * 1024);
        assert!(!options.compression);
    }
}
