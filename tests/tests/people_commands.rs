//! People's changes are domain commands, each leaving exactly one audit event
//! that names it; the secrets store keeps the values stored before it was renamed.

use std::borrow::Cow;

use fieldvisit_tests::Server;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn each_change_to_a_person_leaves_one_audit_event_naming_its_command(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let admin = server.login("admin").await;
    let station: Uuid = sqlx::query_scalar("SELECT id FROM stations WHERE level = 'regional' ORDER BY code LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let person = json!({"name": "赵六", "username": "ZhaoLiu", "password": "password1", "role": "representative", "station_id": station,
        "anchor": {"lon": 112.1, "lat": 35.1}});
    let (status, body) = server.call(Method::POST, Some(&admin), "/v1/people", Some(&person)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["username"], "zhaoliu");
    let id: Uuid = body["id"].as_str().unwrap().parse().unwrap();
    let (status, body) = server
        .call(
            Method::PATCH,
            Some(&admin),
            &format!("/v1/people/{id}"),
            Some(&json!({"visit_capacity": 3, "password": "password2"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["visit_capacity"], 3);
    let (status, body) = server.call(Method::DELETE, Some(&admin), &format!("/v1/people/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], false);

    let events: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT action, details->>'mutation' FROM audit_events WHERE entity = 'person' AND entity_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected =
        [("create", "person.create.v1"), ("update", "person.update.v1"), ("deactivate", "person.deactivate.v1")];
    let expected: Vec<(String, Option<String>)> =
        expected.iter().map(|(a, m)| ((*a).to_owned(), Some((*m).to_owned()))).collect();
    assert_eq!(events, expected);

    // A refused change writes no event.
    let me: Uuid = sqlx::query_scalar("SELECT id FROM people WHERE username = 'admin'").fetch_one(&pool).await.unwrap();
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(&pool).await.unwrap();
    let (status, _) = server.call(Method::DELETE, Some(&admin), &format!("/v1/people/{me}"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) =
        server.call(Method::PATCH, Some(&admin), &format!("/v1/people/{id}"), Some(&json!({"phone": "-1"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(&pool).await.unwrap();
    assert_eq!(after, before);
}

#[sqlx::test(migrations = false)]
async fn secrets_stored_before_the_store_was_renamed_are_kept(pool: PgPool) {
    // The database as it was before migration 7, with the secrets an older server made.
    let mut before_7 =
        sqlx::migrate::Migrator::new(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations")))
            .await
            .unwrap();
    let six: Vec<_> = before_7.migrations.iter().filter(|m| m.version < 7).cloned().collect();
    before_7.migrations = Cow::Owned(six);
    before_7.run(&pool).await.unwrap();
    for (id, value) in [
        ("jwt", "-----BEGIN PRIVATE KEY-----\nkept\n-----END PRIVATE KEY-----\n"),
        ("cursor", "Y3Vyc29yLWtleQ"),
        ("blobs", "YmxvYnMta2V5"),
    ] {
        sqlx::query("INSERT INTO signing_keys (id, private_pem) VALUES ($1, $2)")
            .bind(id)
            .bind(value)
            .execute(&pool)
            .await
            .unwrap();
    }

    fieldvisit::MIGRATOR.run(&pool).await.unwrap();
    let kept: Vec<(String, String)> =
        sqlx::query_as("SELECT name, value FROM secrets ORDER BY name").fetch_all(&pool).await.unwrap();
    assert_eq!(
        kept,
        vec![
            ("blobs".to_owned(), "YmxvYnMta2V5".to_owned()),
            ("cursor".to_owned(), "Y3Vyc29yLWtleQ".to_owned()),
            ("jwt".to_owned(), "-----BEGIN PRIVATE KEY-----\nkept\n-----END PRIVATE KEY-----\n".to_owned()),
        ]
    );
    let old: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('signing_keys')::text").fetch_one(&pool).await.unwrap();
    assert_eq!(old, None, "one table of secrets");
}
