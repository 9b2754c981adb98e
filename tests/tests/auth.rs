//! Signing in, token rotation and reuse detection, sign-out, throttling.

use fieldvisit_tests::{Server, error_code};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn representative_signs_in_and_sees_themself(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let (status, body) = server.login_full("rep001", "fieldvisit").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0 && body["expires_in"].as_i64().unwrap() <= 900);
    assert_eq!(body["user"]["username"], "rep001");
    assert_eq!(body["user"]["role"], "representative");
    assert!(body["user"]["station_id"].is_string());
    let token = body["access_token"].as_str().unwrap();
    // The access token is an EdDSA JWT.
    let header = token.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(&base64_url(header)).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    let (status, me) = server.get(token, "/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["username"], "rep001");
    assert!(me["station_name"].is_string());
}

fn base64_url(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).expect("base64url")
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn wrong_password_and_unknown_user_look_the_same(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let (s1, b1) = server.login_full("rep001", "not-the-password").await;
    let (s2, b2) = server.login_full("nobody-here", "fieldvisit").await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!(s2, StatusCode::UNAUTHORIZED);
    assert_eq!(b1["error"]["message"], b2["error"]["message"]);
    assert_eq!(error_code(&b1), "unauthorized");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn requests_without_a_valid_token_are_refused(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let (status, body) = server.call(Method::GET, None, "/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "unauthorized");
    let (status, _) = server.get("not.a.jwt", "/v1/places").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A token signed by someone else's key is refused too.
    let token = server.login("rep001").await;
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged_sig = "A".repeat(parts[2].len());
    parts[2] = &forged_sig;
    let (status, _) = server.get(&parts.join("."), "/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn refresh_rotates_and_reuse_revokes_the_family(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let (_, first) = server.login_full("rep002", "fieldvisit").await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();

    let (status, second) =
        server.call(Method::POST, None, "/v1/auth/refresh", Some(&json!({"refresh_token": r1}))).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2, "refresh tokens rotate");
    let (status, _) = server.get(second["access_token"].as_str().unwrap(), "/v1/me").await;
    assert_eq!(status, StatusCode::OK);

    // Someone replays the first token: the whole sign-in ends, r2 included.
    let (status, body) = server.call(Method::POST, None, "/v1/auth/refresh", Some(&json!({"refresh_token": r1}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"]["message"].as_str().unwrap().contains("already used"));
    let (status, _) = server.call(Method::POST, None, "/v1/auth/refresh", Some(&json!({"refresh_token": r2}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the family is revoked");

    // Other sign-ins of the same person are untouched.
    let (_, other) = server.login_full("rep002", "fieldvisit").await;
    let (status, _) = server
        .call(Method::POST, None, "/v1/auth/refresh", Some(&json!({"refresh_token": other["refresh_token"]})))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn refresh_tokens_are_stored_hashed(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let (_, body) = server.login_full("rep003", "fieldvisit").await;
    let token = body["refresh_token"].as_str().unwrap();
    let stored: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT token_hash FROM refresh_tokens").fetch_all(&pool).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token.as_bytes(), "the token itself is never stored");
    assert_eq!(stored[0].len(), 32);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn logout_ends_the_sign_in(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let (_, body) = server.login_full("rep004", "fieldvisit").await;
    let refresh = body["refresh_token"].clone();
    let access = body["access_token"].as_str().unwrap().to_owned();
    let (_, other) = server.login_full("rep004", "fieldvisit").await;
    let (status, _) =
        server.call(Method::POST, None, "/v1/auth/logout", Some(&json!({"refresh_token": refresh}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) =
        server.call(Method::POST, None, "/v1/auth/refresh", Some(&json!({"refresh_token": refresh}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The access token of that sign-in stops at once, not when it expires…
    let (status, body) = server.get(&access, "/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // …while the person's other sign-in goes on.
    let (status, _) = server.get(other["access_token"].as_str().unwrap(), "/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    // A repeated sign-out is harmless.
    let (status, _) =
        server.call(Method::POST, None, "/v1/auth/logout", Some(&json!({"refresh_token": refresh}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_password_change_or_a_reused_refresh_token_ends_access_at_once(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let (_, rep) = server.login_full("rep008", "fieldvisit").await;
    let admin = server.login("admin").await;
    let id = rep["user"]["id"].as_str().unwrap();
    let (status, body) = server
        .call(Method::PATCH, Some(&admin), &format!("/v1/people/{id}"), Some(&json!({"password": "a-new-secret-2026"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = server.get(rep["access_token"].as_str().unwrap(), "/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old password's sign-in is over");

    // A stolen refresh token replayed: the whole family ends, its access tokens too.
    let (_, first) = server.login_full("rep009", "fieldvisit").await;
    let r1 = first["refresh_token"].clone();
    let (_, second) = server.call(Method::POST, None, "/v1/auth/refresh", Some(&json!({"refresh_token": r1}))).await;
    let (status, _) = server.get(second["access_token"].as_str().unwrap(), "/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.call(Method::POST, None, "/v1/auth/refresh", Some(&json!({"refresh_token": r1}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server.get(second["access_token"].as_str().unwrap(), "/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A client whose connections come from `address` (any 127.x address reaches
/// a server bound to 127.0.0.1), as another device on the network would.
fn from_address(address: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(address.parse::<std::net::IpAddr>().unwrap()).build().unwrap()
}

async fn login_from(server: &Server, client: &reqwest::Client, username: &str, password: &str) -> reqwest::Response {
    client
        .post(format!("{}/v1/auth/login", server.base))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn repeated_failures_slow_a_username_down(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    for attempt in 1..=5 {
        let (status, _) = server.login_full("rep005", "wrong-password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt}");
    }
    // Five failures block the username at this address: a sixth password is
    // not even checked, the right one included, and the client is told how
    // long to wait.
    let res = login_from(&server, &server.http, "rep005", "fieldvisit").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "retry after {wait}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(error_code(&body), "too_many_attempts");
    // Other usernames are not affected.
    let (status, _) = server.login_full("rep006", "fieldvisit").await;
    assert_eq!(status, StatusCode::OK);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_stranger_guessing_cannot_lock_the_owner_out(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let stranger = from_address("127.0.0.2");
    for _ in 0..5 {
        assert_eq!(login_from(&server, &stranger, "admin", "guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(login_from(&server, &stranger, "admin", "guess").await.status(), StatusCode::TOO_MANY_REQUESTS);
    // The admin, at their own address, signs in as usual.
    let owner = from_address("127.0.0.3");
    let res = login_from(&server, &owner, "admin", "fieldvisit").await;
    assert_eq!(res.status(), StatusCode::OK);
    // And the stranger is still waiting.
    assert_eq!(login_from(&server, &stranger, "admin", "fieldvisit").await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_guess_spread_over_many_addresses_meets_the_username_ceiling(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    // 25 addresses × 4 failures = 100, the per-username ceiling in 15 minutes.
    for i in 0..25 {
        let client = from_address(&format!("127.0.1.{}", i + 1));
        for _ in 0..4 {
            assert_eq!(login_from(&server, &client, "rep007", "guess").await.status(), StatusCode::UNAUTHORIZED);
        }
    }
    let fresh = from_address("127.0.2.1");
    let res = login_from(&server, &fresh, "rep007", "fieldvisit").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "the ceiling holds for every address");
    assert!(res.headers().contains_key("retry-after"));
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn an_expired_access_token_is_refused_and_refresh_recovers(pool: PgPool) {
    let server = Server::in_process_with(&pool, &[("FIELDVISIT_ACCESS_TTL", "1")]).await;
    let (_, body) = server.login_full("rep007", "fieldvisit").await;
    let access = body["access_token"].as_str().unwrap();
    // Past the lifetime and the 5 s leeway.
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let (status, err) = server.get(access, "/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(err["error"]["message"].as_str().unwrap().contains("expired"));
    let (status, fresh) = server
        .call(Method::POST, None, "/v1/auth/refresh", Some(&json!({"refresh_token": body["refresh_token"]})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.get(fresh["access_token"].as_str().unwrap(), "/v1/me").await;
    assert_eq!(status, StatusCode::OK);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_deactivated_person_is_locked_out_at_once(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let (_, rep) = server.login_full("rep008", "fieldvisit").await;
    let rep_token = rep["access_token"].as_str().unwrap();
    let id = rep["user"]["id"].as_str().unwrap();
    let admin = server.login("admin").await;
    let (status, body) = server.call(Method::DELETE, Some(&admin), &format!("/v1/people/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], false);
    // The unexpired access token stops working, and so does the refresh token.
    let (status, _) = server.get(rep_token, "/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server
        .call(Method::POST, None, "/v1/auth/refresh", Some(&json!({"refresh_token": rep["refresh_token"]})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server.login_full("rep008", "fieldvisit").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_signing_key_is_shared_through_the_database(pool: PgPool) {
    // Two instances on one database accept each other's tokens (the API is stateless).
    let a = Server::in_process(&pool).await;
    let b = Server::start(&["serve"], &[("DATABASE_URL", fieldvisit_tests::database_url(&pool).as_str())]).await;
    let token = a.login("presidium").await;
    let (status, _) = b.get(&token, "/v1/me").await;
    assert_eq!(status, StatusCode::OK);
}
