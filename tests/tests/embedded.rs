//! Without `DATABASE_URL` the binary runs its own PostgreSQL cluster, and
//! stops it again on shutdown.

use fieldvisit_tests::Server;
use reqwest::StatusCode;

#[tokio::test]
async fn without_database_url_a_private_cluster_runs_and_stops() {
    let dir = std::env::temp_dir().join(format!("fieldvisit-embedded-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let data_dir = dir.to_string_lossy().into_owned();
    let server = Server::start(&["demo"], &[("FIELDVISIT_DATA_DIR", data_dir.as_str())]).await;
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
