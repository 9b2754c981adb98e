//! The server's outer surface: probes, the OpenAPI document, the docs page,
//! request ids, unknown routes, and a clean shutdown.

use fieldvisit_tests::{Server, error_code};
use reqwest::StatusCode;
use sqlx::PgPool;

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn probes_answer_once_migrated(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let health = server.http.get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = server.http.get(format!("{}/readyz", server.base)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    // Every response carries a request id for the logs.
    assert!(ready.headers().get("x-request-id").is_some());
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn openapi_lists_every_endpoint_and_docs_render_offline(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let spec: serde_json::Value =
        server.http.get(format!("{}/openapi.json", server.base)).send().await.unwrap().json().await.unwrap();
    let paths = spec["paths"].as_object().expect("paths");
    for p in [
        "/healthz",
        "/readyz",
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/auth/logout",
        "/v1/me",
        "/v1/stations",
        "/v1/stations/{id}",
        "/v1/people",
        "/v1/people/{id}",
        "/v1/places",
        "/v1/places/{id}",
        "/v1/assignments",
        "/v1/assignments/{id}",
        "/v1/sync/push",
        "/v1/sync/pull",
        "/v1/check-ins",
        "/v1/check-ins/{id}",
        "/v1/visits/status",
        "/v1/findings",
        "/v1/photos/{id}",
        "/v1/photos/{id}/upload-url",
        "/v1/photos/{id}/complete",
        "/v1/photos/{id}/thumbnail",
        "/v1/blobs/{key}",
    ] {
        assert!(paths.contains_key(p), "{p} missing from /openapi.json");
    }
    // The local store's signed URLs: both methods, with their signature parameters.
    let blobs = &paths["/v1/blobs/{key}"];
    for method in ["put", "get"] {
        let names: Vec<&str> = blobs[method]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for name in ["key", "expires", "sig"] {
            assert!(names.contains(&name), "{method} /v1/blobs/{{key}} lacks {name}: {names:?}");
        }
    }
    assert_eq!(blobs["put"]["responses"]["403"]["description"], "tampered or expired URL");
    let docs = server.http.get(format!("{}/docs/", server.base)).send().await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger"), "docs page is Swagger UI");
    assert!(!html.contains("https://"), "the docs page must not load anything from the internet");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn unknown_route_is_a_json_404(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let token = server.login("planner").await;
    let (status, body) = server.get(&token, "/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
}

#[sqlx::test(migrations = false)]
async fn sigterm_shuts_down_cleanly(pool: PgPool) {
    let server = Server::demo(&pool).await;
    let status = server.terminate().await;
    assert!(status.success(), "exit status {status}");
}
