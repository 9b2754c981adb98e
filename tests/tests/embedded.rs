//! Without `DATABASE_URL` the binary runs its own PostgreSQL cluster, and
//! stops it again on shutdown: also one that a killed start left running,
//! and it starts the cluster again when the cluster dies under it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fieldvisit_tests::Server;
use fieldvisit_tests::pg_cluster::{postmaster_pid, processes_of};
use reqwest::StatusCode;

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fieldvisit-embedded-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// After a clean shutdown nothing of the cluster may run, however it was started.
async fn assert_nothing_runs(data: &Path) {
    // pg_ctl stop -w returns when the postmaster is gone; its children go first.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_of(data).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(processes_of(data), Vec::<u32>::new(), "PostgreSQL processes of {} still run", data.display());
    assert!(postmaster_pid(data).is_none(), "a postmaster of {} still runs", data.display());
}

async fn ready(server: &Server) -> StatusCode {
    server.http.get(format!("{}/readyz", server.base)).send().await.unwrap().status()
}

#[tokio::test]
async fn without_database_url_a_private_cluster_runs_and_stops() {
    let dir = std::env::temp_dir().join(format!("fieldvisit-embedded-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let data_dir = dir.to_string_lossy().into_owned();
    let server =
        Server::start(&["demo", "--demo-history", "none"], &[("FIELDVISIT_DATA_DIR", data_dir.as_str())]).await;
    let ready = server.http.get(format!("{}/readyz", server.base)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let token = server.login("rep001").await;
    let (status, places) = server.get(&token, "/v1/places").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!places["features"].as_array().unwrap().is_empty());
    assert!(dir.join("pg/postmaster.pid").exists(), "the cluster runs under the data dir");

    let status = server.terminate().await;
    assert!(status.success());
    assert!(!dir.join("pg/postmaster.pid").exists(), "the cluster is stopped on shutdown");

    // A second start reuses the cluster and the loaded demo.
    let again = Server::start(&["serve"], &[("FIELDVISIT_DATA_DIR", data_dir.as_str())]).await;
    let token = again.login("planner").await;
    let (status, _) = again.get(&token, "/v1/stations").await;
    assert_eq!(status, StatusCode::OK);
    assert!(again.terminate().await.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_cluster_left_by_a_killed_demo_is_adopted_and_stopped_on_exit() {
    let dir = scratch_dir();
    let data_dir = dir.to_string_lossy().into_owned();
    let env = [("FIELDVISIT_DATA_DIR", data_dir.as_str())];
    let pg = dir.join("pg");
    let server = Server::start(&["demo", "--demo-history", "none"], &env).await;
    let first = postmaster_pid(&pg).expect("the private cluster runs");
    server.kill().await;
    assert_eq!(postmaster_pid(&pg), Some(first), "a killed server cannot stop its cluster");

    // The next start reuses the running cluster, and owns it from then on.
    let again = Server::start(&["demo", "--demo-history", "none"], &env).await;
    assert_eq!(ready(&again).await, StatusCode::OK);
    let token = again.login("rep001").await;
    assert_eq!(again.get(&token, "/v1/me").await.0, StatusCode::OK);
    assert_eq!(postmaster_pid(&pg), Some(first), "the running cluster was reused, not restarted");
    assert!(again.terminate().await.success());
    assert_nothing_runs(&pg).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_private_cluster_killed_under_the_demo_is_started_again() {
    let dir = scratch_dir();
    let data_dir = dir.to_string_lossy().into_owned();
    let pg = dir.join("pg");
    let server =
        Server::start(&["demo", "--demo-history", "none"], &[("FIELDVISIT_DATA_DIR", data_dir.as_str())]).await;
    let token = server.login("planner").await;
    let killed = postmaster_pid(&pg).expect("the private cluster runs");
    let status = std::process::Command::new("kill").args(["-KILL", &killed.to_string()]).status().unwrap();
    assert!(status.success());
    // Until it is really gone, its backends may still answer.
    let gone = Instant::now() + Duration::from_secs(10);
    while postmaster_pid(&pg) == Some(killed) {
        assert!(Instant::now() < gone, "the killed postmaster did not go away");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Ready again within seconds, with nobody restarting fieldvisit.
    let deadline = Instant::now() + Duration::from_secs(20);
    while ready(&server).await != StatusCode::OK {
        assert!(Instant::now() < deadline, "/readyz did not answer 200 within 20 s of the postmaster being killed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let restarted = postmaster_pid(&pg).expect("a postmaster runs again");
    assert_ne!(restarted, killed);
    let (status, stations) = server.get(&token, "/v1/stations").await;
    assert_eq!(status, StatusCode::OK, "{stations}");
    assert!(server.terminate().await.success());
    assert_nothing_runs(&pg).await;
    let _ = std::fs::remove_dir_all(&dir);
}
