//! Starting and stopping: logs, the database (given or private), migrations,
//! the signing key, the listener, graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::{AppState, SyncSettings, app};
use crate::auth::tokens::TokenKeys;
use crate::config::Config;
use crate::embedded_pg::EmbeddedPg;
use crate::listener::Timeouts;

/// Structured logs to stderr; `RUST_LOG` overrides `default_filter`.
pub fn init_logging(format: &str, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    // Logs go to stderr; stdout carries only what a person or script reads (the banner).
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if format == "json" { builder.json().try_init() } else { builder.try_init() };
}

/// The database the server uses, and the private cluster if one was started.
pub struct Database {
    pub pool: PgPool,
    pub embedded: Option<EmbeddedPg>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("embedded", &self.embedded.is_some()).finish_non_exhaustive()
    }
}

/// Connects (starting a private cluster when no URL is configured) and migrates.
pub async fn open_database(config: &Config) -> anyhow::Result<Database> {
    let (options, embedded) = if let Some(url) = &config.database_url {
        (url.parse::<PgConnectOptions>().context("DATABASE_URL is not a valid PostgreSQL URL")?, None)
    } else {
        let pg = tokio::task::block_in_place(|| EmbeddedPg::start(&config.data_dir))?;
        (pg.prepare_database().await?, Some(pg))
    };
    // Every connection of the pool cancels a statement running longer than
    // the timeout (a stuck query must not hold a connection for ever)...
    let statement_timeout_ms = Duration::from_secs_f64(config.statement_timeout_s).as_millis().max(1);
    let pool = PgPoolOptions::new()
        .max_connections(config.db_pool)
        .acquire_timeout(Duration::from_secs_f64(config.db_acquire_timeout_s))
        .connect_with(options.clone().options([("statement_timeout", statement_timeout_ms)]))
        .await
        .context("connecting to PostgreSQL")?;
    // ...but migrations run on a connection of their own without it: one
    // that rewrites a large table may rightly take longer.
    let mut migrating = options.connect().await.context("connecting to PostgreSQL")?;
    crate::MIGRATOR.run(&mut migrating).await.context(
        "running migrations (the database needs the PostGIS extension: apt-get install postgresql-15-postgis-3, \
         and a role allowed to CREATE EXTENSION)",
    )?;
    migrating.close().await?;
    Ok(Database { pool, embedded })
}

pub async fn token_keys(config: &Config, db: &PgPool) -> anyhow::Result<TokenKeys> {
    let pem = match &config.jwt_key_file {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        None => TokenKeys::private_pem_from_db(db).await?,
    };
    TokenKeys::from_private_pem(&pem, config.jwt_issuer.clone(), config.access_ttl_s, config.refresh_ttl_days)
}

/// The shared state the router needs, from the configuration and the
/// database; `public_url` is this server as devices reach it.
pub async fn app_state(config: &Config, db: &PgPool, public_url: &str) -> anyhow::Result<AppState> {
    let keys = Arc::new(token_keys(config, db).await?);
    let sync = Arc::new(SyncSettings {
        cursor_key: fieldvisit_sync::cursor::CursorKey::load(db).await?,
        rules: config.geofence_rules(),
        pull: fieldvisit_sync::pull::PullRules { cursor_max_age_days: config.cursor_max_age_days },
        photo_max_bytes: fieldvisit_sync::photos::max_bytes(config.photo_max_mb),
        photo_max_px: config.photo_max_px,
        max_accuracy_m: config.max_accuracy_m,
    });
    let photos = Arc::new(crate::photos::Photos::from_config(config, db, public_url).await?);
    Ok(AppState {
        db: db.clone(),
        keys,
        sync,
        photos,
        trust_forwarded_for: config.trust_forwarded_for,
        request_timeout: Duration::from_secs_f64(config.request_timeout_s),
        township_name: config.township_name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(Arc::from),
    })
}

/// Serves until SIGTERM or Ctrl-C, then stops the private cluster if this
/// process owns it (started it, or adopted one a killed start left running).
/// `banner` runs once the port is bound, with the address actually bound;
/// the metrics listener's address (when configured) is printed after it.
pub async fn serve(config: &Config, mut db: Database, banner: impl FnOnce(std::net::SocketAddr)) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let metrics = match config.metrics_listen {
        Some(at) => {
            let metrics_listener = TcpListener::bind(at).await.with_context(|| format!("binding {at} for metrics"))?;
            Some((metrics_listener, crate::metrics::install()?))
        }
        None => None,
    };
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let state = app_state(config, &db.pool, &public_url).await?;
    crate::photos::processing::spawn_thumbnailer(state.db.clone(), state.photos.clone());
    // A private cluster that dies under the server is started again.
    let supervisor = db.embedded.as_ref().and_then(EmbeddedPg::supervise);
    // The handlers are in place before the banner says the server is up: a
    // SIGTERM right after it must shut down cleanly, not kill the process.
    let shutdown = shutdown_signal()?;
    let timeouts = Timeouts {
        header_read: Duration::from_secs_f64(config.header_read_timeout_s),
        idle: Duration::from_secs_f64(config.idle_timeout_s),
    };
    let stop = CancellationToken::new();
    banner(addr);
    tracing::info!(%addr, "listening");
    let metrics_server = match metrics {
        Some((metrics_listener, handle)) => {
            let metrics_addr = metrics_listener.local_addr()?;
            println!("metrics on http://{metrics_addr}/metrics");
            tracing::info!(%metrics_addr, "metrics listening");
            let router = crate::metrics::router(handle, db.pool.clone());
            Some(tokio::spawn(crate::listener::serve(metrics_listener, router, timeouts, stop.clone())))
        }
        None => None,
    };
    let signalled = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        signalled.cancel();
    });
    // The listener hands handlers the peer address as ConnectInfo (the
    // login throttle counts by it), and gives hyper's own answers to heads
    // it cannot parse the JSON error body too (head_errors).
    crate::listener::serve(listener, app(state), timeouts, stop).await;
    if let Some(task) = metrics_server {
        let _ = task.await;
    }
    tracing::info!("shutting down");
    if let Some(supervisor) = supervisor {
        supervisor.stop().await;
    }
    db.pool.close().await;
    if let Some(pg) = db.embedded.as_mut() {
        tokio::task::block_in_place(|| pg.stop());
    }
    Ok(())
}

/// Registers the SIGTERM and SIGINT (Ctrl-C) handlers now and answers a
/// future that completes on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! { _ = term.recv() => {}, _ = interrupt.recv() => {} }
    })
}
