//! A throwaway PostgreSQL cluster of a test's own, for tests that stop, kill
//! and restart the database under a running server (the shared test cluster
//! must never be stopped). Its own port and socket folder under /tmp; run as
//! the `postgres` user when the tests run as root, since PostgreSQL refuses
//! to run as root. Stopped and removed when dropped.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    run_as: Option<(u32, u32)>,
    pub port: u16,
}

/// How a test takes the database away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// `pg_ctl stop -m fast`: sessions are ended with 57P01.
    Fast,
    /// `pg_ctl stop -m immediate`: every process quits at once, recovery at the next start.
    Immediate,
    /// `kill -9` of the postmaster: its backends notice and exit.
    KillPostmaster,
}

impl PgCluster {
    /// Initialises and starts a new cluster on a free port.
    pub fn start() -> Self {
        let bin = std::env::var_os("FIELDVISIT_PG_BIN").map_or_else(newest_bin_dir, PathBuf::from);
        let dir = std::env::temp_dir().join(format!("fieldvisit-pgloss-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("cluster folder");
        let run_as = running_as_root().then(postgres_user);
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the cluster folder");
        }
        let port = free_port();
        let cluster = Self { dir, bin, run_as, port };
        cluster.run(
            "initdb",
            &["-D", &cluster.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
        );
        cluster.pg_ctl_start().expect("starting the test's own cluster");
        cluster
    }

    /// The URL of its `postgres` database (migrations create PostGIS in it).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    /// Takes the database away as `outage` says and returns once it is gone.
    pub fn take_down(&self, outage: Outage) {
        match outage {
            Outage::Fast => self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]),
            Outage::Immediate => self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]),
            Outage::KillPostmaster => {
                let pid = postmaster_pid(Path::new(&self.data())).expect("the postmaster runs");
                let status = Command::new("kill").args(["-KILL", &pid.to_string()]).status().expect("kill");
                assert!(status.success(), "kill -9 {pid}");
                let deadline = Instant::now() + Duration::from_secs(10);
                while Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    /// Starts the cluster again. After a kill -9 the old backends may hold
    /// the shared memory for a moment, so a refused start is retried.
    pub fn bring_back(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.pg_ctl_start() {
                Ok(()) => return,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("pg_ctl start refused, retrying: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("the cluster did not start again: {e}"),
            }
        }
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=100 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        self.try_run("pg_ctl", &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "-t", "60", "start"])
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        // initdb and pg_ctl look for their binaries relative to the working
        // directory, which the postgres user may not be allowed to enter.
        cmd.current_dir("/");
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    fn try_run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = self.command(program).args(args).output().map_err(|e| format!("running {program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {args:?}: {}{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            ))
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        self.try_run(program, args).unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.command("pg_ctl").args(["-D", &self.data(), "-m", "immediate", "-w", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The pid in a data folder's `postmaster.pid`, when that process still lives.
pub fn postmaster_pid(data: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    let pid: u32 = text.lines().next()?.trim().parse().ok()?;
    (Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid)).then_some(pid)
}

/// Processes whose command line names `data` (a postmaster runs as `postgres -D <data>`).
pub fn processes_of(data: &Path) -> Vec<u32> {
    let needle = data.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| !is_zombie(*pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).replace('\0', " ").contains(&needle))
        })
        .collect()
}

fn is_zombie(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name, which may hold spaces: after the last ')'.
    stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()).is_none_or(|s| s == "Z" || s == "X")
}

fn newest_bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql")
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .collect();
    found.sort();
    found.pop().expect("a PostgreSQL version").1
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn postgres_user() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, "postgres"]).output().expect("id");
        String::from_utf8_lossy(&out.stdout).trim().parse().expect("the postgres system user exists")
    };
    (id("-u"), id("-g"))
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}
