//! Start-up: open and verify the store, start the sequencer, serve HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;

use actix_web::{web, App, HttpServer};
use anyhow::Context;
use entente_shared::ledger::Ledger;
use entente_shared::note::NoteSigner;

use crate::fold_snapshots::FoldSnapshots;
use crate::rate_limit::DelegationLimiter;
use crate::replay_cache::ReplayCache;
use crate::sequencer::{Core, Sequencer};
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::{
    check_tree, replay_fold, restore_fold, snapshot, Restored, Store, StoreOptions,
};
use crate::{log_key, routes, tls};

/// Runs the server until SIGINT or SIGTERM, then lets the sequencer finish.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data)
        .with_context(|| format!("creating data folder {}", settings.data.display()))?;
    let key = log_key::load_or_create(&settings.data)?;
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
    // proofs; submissions and the roster wait for it (`AppState::fold_ready`).
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
    let state = AppState {
        store,
        ledger,
        sequencer,
        settings: Arc::new(settings.clone()),
        log: Arc::new(verifier),
        replay: Arc::new(ReplayCache::new(settings.replay_cache_entries)),
        feed,
        fold_ready: ready_rx,
        limiter: Arc::new(DelegationLimiter::new(
            settings.rate_per_delegation,
            settings.rate_burst,
        )),
    };

    let data = web::Data::new(state);
    let mut server =
        HttpServer::new(move || App::new().app_data(data.clone()).configure(routes::config))
            .on_connect(crate::stream::on_connect)
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

/// Rebuilds the fold of the first `size` entries on its own thread, from the
/// snapshot `preload` read (when there is a usable one) and by replay for the rest (see
/// `store::verify`), then publishes it. A store whose entries the fold
/// refuses is not served: the process stops, as a failed tree check would.
fn spawn_fold_restore(
    store: Store,
    size: u64,
    preload: Option<(PathBuf, JoinHandle<snapshot::Loaded>)>,
    ledger: Arc<RwLock<Ledger>>,
    ready: tokio::sync::watch::Sender<bool>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("fold-restore".into())
        .spawn(move || {
            let started = std::time::Instant::now();
            let path = preload.as_ref().map(|(path, _)| path.clone());
            let restored = match preload {
                Some((_, handle)) => {
                    let loaded = handle.join().unwrap_or_else(|_| {
                        Err(snapshot::SnapshotError::Unusable(
                            "reading it panicked".into(),
                        ))
                    });
                    restore_fold(&store, size, loaded)
                }
                None => replay_fold(&store, size).map(|ledger| Restored {
                    ledger,
                    from_snapshot: 0,
                    snapshot_refused: None,
                }),
            };
            match restored {
                Ok(restored) => {
                    if let (Some(why), Some(path)) = (&restored.snapshot_refused, &path) {
                        tracing::warn!(reason = %why, "fold snapshot not used; replaying the log");
                        if let Err(e) = snapshot::set_aside(path) {
                            tracing::warn!(error = %e, "could not move the refused fold snapshot aside");
                        }
                    }
                    *ledger.write().unwrap_or_else(|p| p.into_inner()) = restored.ledger;
                    let _ = ready.send(true);
                    tracing::info!(
                        entries = size,
                        from_snapshot = restored.from_snapshot,
                        replayed = size - restored.from_snapshot,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "fold restored"
                    );
                }
                Err(e) => {
                    tracing::error!(error = %e, "the store does not verify; refusing to serve it");
                    eprintln!(
                        "entente-server: the store does not verify; refusing to serve it: {e}"
                    );
                    std::process::exit(70);
                }
            }
        })
        .map(|_| ())
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
