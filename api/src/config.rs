//! The one configuration struct, read from flags and environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on. Port 0 picks a free port (printed at start).
    #[arg(long, env = "FIELDVISIT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// PostgreSQL (with PostGIS) to use. When unset, a private cluster is
    /// started under `--data-dir` with the system's PostgreSQL binaries.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Folder for local state: the private database cluster and, later, photos.
    #[arg(long, env = "FIELDVISIT_DATA_DIR", default_value = ".fieldvisit")]
    pub data_dir: PathBuf,

    /// Ed25519 private key (PKCS#8 PEM) that signs access tokens. When unset,
    /// a key is created once and kept in the database, shared by all instances.
    #[arg(long, env = "FIELDVISIT_JWT_KEY_FILE")]
    pub jwt_key_file: Option<PathBuf>,

    /// The `iss` claim of access tokens.
    #[arg(long, env = "FIELDVISIT_JWT_ISSUER", default_value = "fieldvisit")]
    pub jwt_issuer: String,

    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "FIELDVISIT_ACCESS_TTL", default_value_t = 900)]
    pub access_ttl_s: i64,

    /// Lifetime of a refresh token, in days (a phone offline for weeks must
    /// still be able to sync without a new login).
    #[arg(long, env = "FIELDVISIT_REFRESH_TTL_DAYS", default_value_t = 60)]
    pub refresh_ttl_days: i64,

    /// Maximum database connections of this instance.
    #[arg(long, env = "FIELDVISIT_DB_POOL", default_value_t = 16)]
    pub db_pool: u32,

    /// How long a request waits for a free database connection before it
    /// answers 503 with `Retry-After` (seconds).
    #[arg(long, env = "FIELDVISIT_DB_ACQUIRE_TIMEOUT_S", default_value_t = 5.0, value_parser = positive_seconds)]
    pub db_acquire_timeout_s: f64,

    /// Longest a single SQL statement may run before PostgreSQL cancels it
    /// (seconds; the pool's `statement_timeout`). Migrations are exempt.
    #[arg(long, env = "FIELDVISIT_STATEMENT_TIMEOUT_S", default_value_t = 30.0, value_parser = positive_seconds)]
    pub statement_timeout_s: f64,

    /// A connection must deliver a whole request head within this many
    /// seconds of opening or of starting to send it; otherwise it is closed.
    #[arg(long, env = "FIELDVISIT_HEADER_READ_TIMEOUT_S", default_value_t = 10.0, value_parser = positive_seconds)]
    pub header_read_timeout_s: f64,

    /// A connection on which no byte moves for this many seconds is closed:
    /// an idle keep-alive connection, a stalled upload, a client that
    /// stopped reading. Keep it above the request timeout.
    #[arg(long, env = "FIELDVISIT_IDLE_TIMEOUT_S", default_value_t = 60.0, value_parser = positive_seconds)]
    pub idle_timeout_s: f64,

    /// A request not answered within this many seconds answers 503 `timeout`
    /// with `Retry-After` (the signed blob transfers, which stream, excepted).
    #[arg(long, env = "FIELDVISIT_REQUEST_TIMEOUT_S", default_value_t = 30.0, value_parser = positive_seconds)]
    pub request_timeout_s: f64,

    /// Address of a second listener serving Prometheus text at `/metrics`
    /// (e.g. `127.0.0.1:9464`; port 0 picks one, printed at start). Unset:
    /// no metrics are kept.
    #[arg(long, env = "FIELDVISIT_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Check-ins at an enterprise or project site count within this many metres.
    #[arg(long, env = "FIELDVISIT_SITE_RADIUS_M", default_value_t = 200.0)]
    pub site_radius_m: f64,

    /// A reported GPS accuracy worse than this (metres) cannot verify a visit.
    #[arg(long, env = "FIELDVISIT_MAX_ACCURACY_M", default_value_t = 100.0)]
    pub max_accuracy_m: f64,

    /// Faster than this between one person's check-ins is suspicious (km/h).
    #[arg(long, env = "FIELDVISIT_MAX_SPEED_KMH", default_value_t = 150.0)]
    pub max_speed_kmh: f64,

    /// A device clock this far ahead of the server's (seconds) is suspicious.
    #[arg(long, env = "FIELDVISIT_CLOCK_SKEW_ALLOWANCE_S", default_value_t = 300.0)]
    pub clock_skew_allowance_s: f64,

    /// A check-in that reaches the server more than this many hours after
    /// the visit is judged `suspicious` (reason `late`) and counts only once
    /// staff accept it: phones push late after days offline, but a month's
    /// coverage must not be rewritten weeks later on a device clock's word.
    #[arg(long, env = "FIELDVISIT_LATE_GRACE_HOURS", default_value_t = 72, value_parser = clap::value_parser!(u32).range(1..=24 * 366))]
    pub late_grace_hours: u32,

    /// A month closes this many days into the next one (Asia/Shanghai): a
    /// check-in that credits a closed month is `late` whatever its delay.
    #[arg(long, env = "FIELDVISIT_MONTH_GRACE_DAYS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=27))]
    pub month_grace_days: u32,

    /// A device that has not pulled for this many days bootstraps again.
    #[arg(long, env = "FIELDVISIT_CURSOR_MAX_AGE_DAYS", default_value_t = 90)]
    pub cursor_max_age_days: i64,

    /// Where photo bytes go: `local` (a folder, the default) or `s3`.
    #[arg(long, env = "FIELDVISIT_PHOTO_STORE", default_value = "local", value_parser = ["local", "s3"])]
    pub photo_store: String,

    /// The local store's folder (default: `<data-dir>/photos`).
    #[arg(long, env = "FIELDVISIT_PHOTO_DIR")]
    pub photo_dir: Option<PathBuf>,

    /// The server's address as devices reach it, for the local store's
    /// upload URLs (default: `http://<listen address>`).
    #[arg(long, env = "FIELDVISIT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// S3 endpoint (MinIO, Garage, Ceph, Chinese clouds); unset: AWS.
    #[arg(long, env = "FIELDVISIT_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    #[arg(long, env = "FIELDVISIT_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,

    #[arg(long, env = "FIELDVISIT_S3_BUCKET", default_value = "fieldvisit")]
    pub s3_bucket: String,

    #[arg(long, env = "FIELDVISIT_S3_ACCESS_KEY", hide_env_values = true, default_value = "")]
    pub s3_access_key: String,

    #[arg(long, env = "FIELDVISIT_S3_SECRET_KEY", hide_env_values = true, default_value = "")]
    pub s3_secret_key: String,

    /// Path-style addressing (`endpoint/bucket/key`), which most S3-compatible servers need.
    #[arg(long, env = "FIELDVISIT_S3_PATH_STYLE", default_value_t = true, action = clap::ArgAction::Set)]
    pub s3_path_style: bool,

    /// Largest photo accepted, in megabytes.
    #[arg(long, env = "FIELDVISIT_PHOTO_MAX_MB", default_value_t = fieldvisit_sync::photos::DEFAULT_MAX_MB)]
    pub photo_max_mb: u64,

    /// The field app downscales a photo whose longer side is above this many
    /// pixels before it hashes and uploads it (a 12-megapixel photo over a
    /// rural link costs minutes; 2,560 px still shows a document's text).
    #[arg(long, env = "FIELDVISIT_PHOTO_MAX_PX", default_value_t = 2560, value_parser = clap::value_parser!(u32).range(320..=16384))]
    pub photo_max_px: u32,

    /// How long a signed upload URL stays valid, in seconds: long enough for
    /// a 25 MB photo over a weak rural link; a device asks for a new one
    /// when it runs out.
    #[arg(long, env = "FIELDVISIT_UPLOAD_URL_TTL_S", default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..=7 * 24 * 3600))]
    pub upload_url_ttl_s: u64,

    /// The program that turns a HEIC/HEIF photo into a JPEG for its
    /// thumbnail (libheif's `heif-convert`, Debian package
    /// `libheif-examples`). Run as a separate process, so a C decoder fed a
    /// crafted file cannot take the server down.
    #[arg(long, env = "FIELDVISIT_HEIF_CONVERT", default_value = "heif-convert")]
    pub heif_convert: std::path::PathBuf,

    /// Behind a reverse proxy: take the client's address from the first entry
    /// of `X-Forwarded-For` (the login throttle counts failures per address).
    /// Only set it when the proxy overwrites that header.
    #[arg(long, env = "FIELDVISIT_TRUST_FORWARDED_FOR", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,

    /// The township's name as the exports title it (邵原镇 in
    /// 邵原镇人大主席团2026年11月问题清单). Unset: the root station's name.
    #[arg(long, env = "FIELDVISIT_TOWNSHIP_NAME")]
    pub township_name: Option<String>,

    /// `fieldvisit demo` only: `full` loads the township with a year of
    /// visits, findings and the issue ledger; `none` the township alone
    /// (stations, people, places, assignments), in a few seconds.
    #[arg(long, env = "FIELDVISIT_DEMO_HISTORY", default_value = "full", value_parser = ["full", "none"])]
    pub demo_history: String,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "FIELDVISIT_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

/// A duration in seconds: positive, finite, at most a day.
fn positive_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && v > 0.0 && v <= 86_400.0 {
        Ok(v)
    } else {
        Err("must be a number of seconds above 0 and at most 86400".into())
    }
}

impl Config {
    /// The check-in judgement rules this configuration sets.
    pub fn geofence_rules(&self) -> fieldvisit_geodata::geofence::GeofenceRules {
        fieldvisit_geodata::geofence::GeofenceRules {
            site_radius_m: self.site_radius_m,
            max_accuracy_m: self.max_accuracy_m,
            max_speed_kmh: self.max_speed_kmh,
            future_skew_allowance_s: self.clock_skew_allowance_s,
            late_grace_s: f64::from(self.late_grace_hours) * 3600.0,
            month_grace_days: self.month_grace_days,
            ..Default::default()
        }
    }
}
