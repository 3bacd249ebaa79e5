//! `entente-server`: parse flags, load settings, set up logging, run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use entente_server::settings::Settings;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read by jemalloc itself at start-up (the
/// `_RJEM_MALLOC_CONF` variable still overrides them): two arenas for a
/// 2-core server rather than four per core, and freed pages handed back to
/// the system within a second by a background thread. At 1M entries this
/// took the RSS while serving proofs from 929 MB to 770-826 MB, faster
/// (BENCHMARKS.md).
#[export_name = "_rjem_malloc_conf"]
pub static MALLOC_CONF: &[u8] =
    b"narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

/// The Entente log server.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Settings file (default: config/server.toml, if present).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data folder (overrides the settings).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8740 (overrides the settings).
    #[arg(long)]
    bind: Option<String>,
    /// Serve plain HTTP on a non-loopback address (no TLS configured).
    #[arg(long)]
    insecure_bind: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut settings = match Settings::load(args.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("entente-server: settings: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(data) = args.data {
        settings.data = data;
    }
    if let Some(bind) = args.bind {
        settings.bind = bind;
    }
    if args.insecure_bind {
        settings.insecure_bind = true;
    }
    init_logging(&settings);
    // Which file the settings came from, so an operator knows what is in force.
    let config = args
        .config
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from(entente_server::settings::DEFAULT_CONFIG));
    if config.exists() {
        tracing::info!(config = %config.display(), "settings read from this file, then ENTENTE_* variables and flags");
    } else {
        tracing::info!(config = %config.display(), "no settings file: defaults, then ENTENTE_* variables and flags");
    }
    let result = actix_web::rt::System::new().block_on(entente_server::app::run(settings));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("entente-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in files and journals.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
