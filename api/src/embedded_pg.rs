//! The private PostgreSQL cluster used when no `DATABASE_URL` is given, so
//! that one command runs the demo: the system's `initdb` and `pg_ctl`, a unix
//! socket only (no TCP port to collide with), data under the project folder.
//!
//! PostgreSQL refuses to run as root, and our machines and CI run as root, so
//! there the cluster runs as the `postgres` system user.
//!
//! One fieldvisit process at a time owns the cluster (a lock file next to it,
//! released by the kernel however the process ends): the owner stops it on
//! exit and starts it again when it dies under the server. A cluster left
//! running by an owner that was killed is adopted by the next one.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::postgres::PgConnectOptions;
use tokio_util::sync::CancellationToken;

/// A running private cluster; stopped by [`EmbeddedPg::stop`] (and on drop)
/// when this process owns it.
#[derive(Debug)]
pub struct EmbeddedPg {
    cluster: Arc<Cluster>,
    /// Held while this process owns the cluster; `None` when another live
    /// fieldvisit process does (that one stops it).
    lock: Option<File>,
}

/// Where a cluster lives and how its programs are run.
#[derive(Debug)]
struct Cluster {
    bin_dir: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<(u32, u32)>,
}

const PORT: u16 = 5432;
const DATABASE: &str = "fieldvisit";

/// How often the owner looks whether its postmaster still runs.
const WATCH_EVERY: Duration = Duration::from_secs(1);

impl EmbeddedPg {
    /// Initialises (once) and starts the cluster under `root/pg`, or reuses
    /// the one running there.
    pub fn start(root: &Path) -> anyhow::Result<Self> {
        let bin_dir = if let Some(dir) = std::env::var_os("FIELDVISIT_PG_BIN") {
            PathBuf::from(dir)
        } else {
            let bin_dir = find_bin_dir(Path::new("/usr/lib/postgresql"))?;
            check_postgis(&bin_dir, Path::new("/usr/share/postgresql"))?;
            bin_dir
        };
        std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        let mut root = root.canonicalize()?;
        let run_as = if is_root()? { Some(postgres_user()?) } else { None };
        if let Some((uid, gid)) = run_as
            && !reachable_by(&root, uid, gid)
        {
            // A checkout under /root (mode 700) is closed to the postgres user;
            // keep the cluster where it can live, one per checkout.
            let elsewhere = PathBuf::from("/var/lib/fieldvisit").join(short_hash(root.as_os_str().as_encoded_bytes()));
            tracing::warn!(wanted = %root.display(), using = %elsewhere.display(), "the postgres user cannot reach the data folder");
            std::fs::create_dir_all(&elsewhere)?;
            root = elsewhere;
        }
        let data = root.join("pg");
        // A unix socket path must fit in 107 bytes; a deep project folder may not.
        let socket_dir = if root.as_os_str().len() < 80 {
            root.join("pg-socket")
        } else {
            std::env::temp_dir().join(format!("fieldvisit-{}", short_hash(root.as_os_str().as_encoded_bytes())))
        };
        std::fs::create_dir_all(&socket_dir)?;
        if let Some((uid, gid)) = run_as {
            chown(&socket_dir, uid, gid)?;
        }
        let lock = own(&root.join("pg.lock"))?;
        let cluster = Cluster { bin_dir, data, socket_dir, run_as };
        if !cluster.data.join("PG_VERSION").exists() {
            std::fs::create_dir_all(&cluster.data)?;
            if let Some((uid, gid)) = run_as {
                chown(&cluster.data, uid, gid)?;
            }
            tracing::info!(data = %cluster.data.display(), "initialising a private PostgreSQL cluster");
            cluster.run(
                "initdb",
                &[
                    "-D",
                    &cluster.data.to_string_lossy(),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
            )?;
        }
        if !cluster.is_running() {
            cluster.start_server()?;
        } else if lock.is_some() {
            // Its owner ended without stopping it (killed, or crashed): it is ours now.
            tracing::info!("adopting the private PostgreSQL cluster left running by a previous start");
        } else {
            tracing::info!("reusing the private PostgreSQL cluster of another running fieldvisit");
        }
        Ok(Self { cluster: Arc::new(cluster), lock })
    }

    /// Options for connecting to the maintenance database `postgres`.
    pub fn admin_options(&self) -> PgConnectOptions {
        PgConnectOptions::new().socket(&self.cluster.socket_dir).port(PORT).username("postgres").database("postgres")
    }

    /// Creates the application database with PostGIS if missing; returns its options.
    pub async fn prepare_database(&self) -> anyhow::Result<PgConnectOptions> {
        use sqlx::ConnectOptions;
        let mut admin = self.admin_options().connect().await.context("connecting to the private cluster")?;
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
            .bind(DATABASE)
            .fetch_one(&mut admin)
            .await?;
        if !exists {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {DATABASE}"))).execute(&mut admin).await?;
        }
        Ok(self.admin_options().database(DATABASE))
    }

    /// Watches the postmaster while the server runs and starts it again when
    /// it is gone (killed, crashed, stopped by hand): meanwhile `/readyz`
    /// answers 503, and the pool reconnects by itself once it is back. Only
    /// the owner watches; call [`Supervisor::stop`] before [`EmbeddedPg::stop`].
    pub fn supervise(&self) -> Option<Supervisor> {
        self.lock.as_ref()?;
        let cluster = self.cluster.clone();
        let cancel = CancellationToken::new();
        let stopped = cancel.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(WATCH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stopped.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let cluster = cluster.clone();
                // pg_ctl start waits for recovery; the stop waits for this attempt.
                let restarted = tokio::task::spawn_blocking(move || {
                    if cluster.is_running() {
                        return None;
                    }
                    tracing::warn!("the private PostgreSQL cluster is not running; starting it again");
                    Some(cluster.start_server())
                })
                .await;
                match restarted {
                    Ok(None) => {}
                    Ok(Some(Ok(()))) => tracing::info!("the private PostgreSQL cluster runs again"),
                    // After a kill -9 its old backends may hold the shared memory a moment longer.
                    Ok(Some(Err(e))) => {
                        tracing::warn!(error = %e, "could not start the private PostgreSQL cluster yet");
                    }
                    Err(e) => tracing::error!(error = %e, "the cluster watcher failed"),
                }
            }
        });
        Some(Supervisor { cancel, task })
    }

    /// Stops the cluster if this process owns it.
    pub fn stop(&mut self) {
        if let Some(lock) = self.lock.take() {
            match self.cluster.run("pg_ctl", &["-D", &self.cluster.data.to_string_lossy(), "-m", "fast", "-w", "stop"])
            {
                Ok(()) => tracing::info!("stopped the private PostgreSQL cluster"),
                Err(e) => tracing::warn!(error = %e, "could not stop the private PostgreSQL cluster"),
            }
            drop(lock);
        }
    }
}

impl Drop for EmbeddedPg {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The watcher of [`EmbeddedPg::supervise`].
#[derive(Debug)]
pub struct Supervisor {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Supervisor {
    /// Stops watching, after a start in progress has finished.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

/// Takes the lock file that makes this process the cluster's owner; `None`
/// when another live process holds it. The kernel releases it when the
/// process ends in any way, so a killed owner leaves no stale lock.
fn own(path: &Path) -> anyhow::Result<Option<File>> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

impl Cluster {
    fn start_server(&self) -> anyhow::Result<()> {
        let opts = format!("-c listen_addresses='' -k {} -p {PORT}", self.socket_dir.display());
        let log = self.data.join("server.log");
        self.run(
            "pg_ctl",
            &["-D", &self.data.to_string_lossy(), "-o", &opts, "-l", &log.to_string_lossy(), "-w", "-t", "60", "start"],
        )
    }

    /// Whether the postmaster of `postmaster.pid` is alive. Read from /proc
    /// rather than with `pg_ctl status`, which takes a zombie (a killed
    /// postmaster its parent has not reaped) for a running server.
    fn is_running(&self) -> bool {
        if !Path::new("/proc/self").exists() {
            return self
                .command("pg_ctl")
                .args(["-D", &self.data.to_string_lossy(), "status"])
                .output()
                .is_ok_and(|o| o.status.success());
        }
        let Ok(text) = std::fs::read_to_string(self.data.join("postmaster.pid")) else { return false };
        let Some(pid) = text.lines().next().and_then(|l| l.trim().parse::<u32>().ok()) else { return false };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state follows the command name, which may hold spaces: after the last ')'.
        let alive = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X");
        // A pid reused by another program after a crash is not our postmaster.
        alive && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.windows(8).any(|w| w == b"postgres"))
    }

    fn command(&self, program: &str) -> Command {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(self.bin_dir.join(program));
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
            // The server inherits the working directory; root's may be closed to postgres.
            cmd.current_dir("/");
        }
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let out = self.command(program).args(args).output().with_context(|| format!("running {program}"))?;
        if !out.status.success() {
            bail!("{program} failed: {}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
        }
        Ok(())
    }
}

/// The newest PostgreSQL (15 or later) under Debian's layout (`root/<version>/bin`).
fn find_bin_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (version >= 15 && bin.join("initdb").exists()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        anyhow::anyhow!(
            "PostgreSQL 15 or later is not installed. Install it with: \
             sudo apt-get install -y postgresql-15 postgresql-15-postgis-3 \
             (or set DATABASE_URL to a PostgreSQL server with PostGIS)"
        )
    })
}

/// PostGIS for the PostgreSQL of `bin_dir`, looked up in Debian's `share_root/<version>/extension`.
fn check_postgis(bin_dir: &Path, share_root: &Path) -> anyhow::Result<()> {
    let version = bin_dir.parent().and_then(Path::file_name).and_then(|v| v.to_str()).unwrap_or("15").to_owned();
    let control = share_root.join(&version).join("extension").join("postgis.control");
    if !control.exists() {
        bail!(
            "PostGIS is not installed for PostgreSQL {version}. Install it with: sudo apt-get install -y postgresql-{version}-postgis-3"
        );
    }
    Ok(())
}

/// Whether the postgres user can enter `dir` (every folder above it included).
fn reachable_by(dir: &Path, uid: u32, gid: u32) -> bool {
    use std::os::unix::process::CommandExt;
    Command::new("test").arg("-x").arg(dir).uid(uid).gid(gid).current_dir("/").status().is_ok_and(|s| s.success())
}

fn is_root() -> anyhow::Result<bool> {
    let out = Command::new("id").arg("-u").output().context("running id -u")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// The uid and gid of the `postgres` system user, which Debian's packages create.
fn postgres_user() -> anyhow::Result<(u32, u32)> {
    let id = |flag: &str| -> anyhow::Result<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output()?;
        if !out.status.success() {
            bail!(
                "running as root needs the `postgres` system user (install postgresql-15), because PostgreSQL refuses to run as root"
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
    };
    Ok((id("-u")?, id("-g")?))
}

fn chown(path: &Path, uid: u32, gid: u32) -> anyhow::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).with_context(|| format!("chown {}", path.display()))
}

fn short_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    u64::from_be_bytes(digest[..8].try_into().unwrap_or_default()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fieldvisit-pgtest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn missing_postgresql_names_the_package() {
        let root = scratch("nopg");
        let err = find_bin_dir(&root).unwrap_err().to_string();
        assert!(err.contains("apt-get install -y postgresql-15 postgresql-15-postgis-3"), "{err}");
    }

    #[test]
    fn missing_postgis_names_the_package_for_that_version() {
        let root = scratch("nopostgis");
        for version in ["14", "16"] {
            let bin = root.join("lib").join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(bin.join("initdb"), "").unwrap();
        }
        // 14 is too old; 16 is picked.
        let bin = find_bin_dir(&root.join("lib")).unwrap();
        assert!(bin.ends_with("16/bin"));
        let err = check_postgis(&bin, &root.join("share")).unwrap_err().to_string();
        assert!(err.contains("apt-get install -y postgresql-16-postgis-3"), "{err}");
        let ext = root.join("share/16/extension");
        std::fs::create_dir_all(&ext).unwrap();
        std::fs::write(ext.join("postgis.control"), "").unwrap();
        check_postgis(&bin, &root.join("share")).unwrap();
    }
}
