//! Findings and photos end to end, the same suite against both stores: the
//! local folder (the default) and S3, served by an in-process s3s-fs that
//! checks signatures. A photo the phone says it sent must be on the server,
//! whole, exactly once.

use std::time::Duration;

use chrono::NaiveDate;
use fieldvisit::photos::media::{self, PhotoType};
use fieldvisit_tests::s3::S3Server;
use fieldvisit_tests::{Server, error_code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Clone, Copy, Debug)]
enum Store {
    Local,
    S3,
}

/// A running server with the chosen store, and a representative with a
/// check-in at one of their places.
struct Ctx {
    server: Server,
    s3: Option<S3Server>,
    dir: TempDir,
    rep: String,
    client: Uuid,
    next: std::sync::atomic::AtomicI64,
    check_in: Uuid,
    place: Uuid,
    position: (f64, f64),
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn ctx(pool: &PgPool, store: Store, username: &str) -> Ctx {
    ctx_with(pool, store, username, &[]).await
}

/// `ctx` with more settings for the server.
async fn ctx_with(pool: &PgPool, store: Store, username: &str, extra: &[(&str, &str)]) -> Ctx {
    let dir = std::env::temp_dir().join(format!("fieldvisit-photos-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir_s = dir.to_string_lossy().into_owned();
    let s3 = match store {
        Store::S3 => Some(S3Server::start().await),
        Store::Local => None,
    };
    let mut env: Vec<(&str, String)> = vec![("FIELDVISIT_PHOTO_DIR", dir_s)];
    if let Some(s) = &s3 {
        env.extend([
            ("FIELDVISIT_PHOTO_STORE", "s3".to_owned()),
            ("FIELDVISIT_S3_ENDPOINT", s.endpoint.clone()),
            ("FIELDVISIT_S3_BUCKET", s.bucket.clone()),
            ("FIELDVISIT_S3_ACCESS_KEY", s.access_key.clone()),
            ("FIELDVISIT_S3_SECRET_KEY", s.secret_key.clone()),
            ("FIELDVISIT_S3_REGION", "us-east-1".to_owned()),
        ]);
    }
    let mut env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env_refs.extend_from_slice(extra);
    let server = Server::in_process_with(pool, &env_refs).await;
    let rep = server.login(username).await;
    let (place, x, y): (Uuid, f64, f64) = sqlx::query_as(
        "SELECT pl.id, ST_X(ST_PointOnSurface(pl.geom)), ST_Y(ST_PointOnSurface(pl.geom)) FROM assignments a
         JOIN people pe ON pe.id = a.person_id JOIN places pl ON pl.id = a.place_id WHERE pe.username = $1 ORDER BY pl.id LIMIT 1",
    )
    .bind(username)
    .fetch_one(pool)
    .await
    .unwrap();
    let c = Ctx {
        server,
        s3,
        dir: TempDir(dir),
        rep,
        client: Uuid::now_v7(),
        next: std::sync::atomic::AtomicI64::new(1),
        check_in: Uuid::now_v7(),
        place,
        position: (x, y),
    };
    let device_time = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).to_rfc3339();
    let res = c
        .push(
            "checkin.create.v1",
            json!({"id": c.check_in, "place_id": place, "position": {"lon": x, "lat": y, "crs": "wgs84"},
            "accuracy_m": 10.0, "device_time": device_time}),
        )
        .await;
    assert_eq!(res["status"], "applied", "{res}");
    c
}

impl Ctx {
    /// Pushes one mutation and answers its result.
    async fn push(&self, name: &str, args: Value) -> Value {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let body = json!({"client_id": self.client, "schema_version": 1, "mutations": [{"id": id, "name": name, "args": args}]});
        let (status, res) = self.server.call(Method::POST, Some(&self.rep), "/v1/sync/push", Some(&body)).await;
        assert_eq!(status, StatusCode::OK, "{res}");
        res["results"][0].clone()
    }

    /// Declares a photo of `bytes` attached to the check-in.
    async fn declare(&self, bytes: &[u8], mime: &str) -> (Uuid, Value) {
        let id = Uuid::now_v7();
        let res = self
            .push(
                "photo.declare.v1",
                json!({"id": id, "sha256": hex::encode(Sha256::digest(bytes)), "size": bytes.len(),
                "mime": mime, "attached_to": {"check_in": self.check_in}}),
            )
            .await;
        (id, res)
    }

    async fn upload_url(&self, id: Uuid) -> (StatusCode, Value) {
        self.server.call(Method::POST, Some(&self.rep), &format!("/v1/photos/{id}/upload-url"), None).await
    }

    /// PUTs `bytes` as the signed request says, on a connection of its own:
    /// a refused upload is answered before its body is read and the
    /// connection closed, which a pooled connection would carry into the
    /// next request.
    async fn put(&self, req: &Value, bytes: Vec<u8>) -> StatusCode {
        let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        let mut put = http.put(req["url"].as_str().unwrap());
        for (k, v) in req["headers"].as_object().unwrap() {
            if !k.eq_ignore_ascii_case("content-length") {
                put = put.header(k, v.as_str().unwrap());
            }
        }
        put.body(bytes).send().await.map_or(StatusCode::BAD_GATEWAY, |r| r.status())
    }

    /// `put`, answering the body too.
    async fn put_answer(&self, req: &Value, bytes: Vec<u8>) -> (StatusCode, Value) {
        let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        let mut put = http.put(req["url"].as_str().unwrap());
        for (k, v) in req["headers"].as_object().unwrap() {
            if !k.eq_ignore_ascii_case("content-length") {
                put = put.header(k, v.as_str().unwrap());
            }
        }
        let res = put.body(bytes).send().await.expect("upload");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Downloads what `url` serves: its `Content-Type`, `Content-Disposition` and bytes.
    async fn download(&self, url: &Value) -> (String, String, Vec<u8>) {
        let res = self.server.http.get(url.as_str().expect("a download URL")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let (content_type, disposition) = (header("content-type"), header("content-disposition"));
        (content_type, disposition, res.bytes().await.unwrap().to_vec())
    }

    async fn complete(&self, id: Uuid) -> (StatusCode, Value) {
        self.server.call(Method::POST, Some(&self.rep), &format!("/v1/photos/{id}/complete"), None).await
    }

    /// Declares, uploads and completes a photo.
    async fn upload(&self, bytes: &[u8]) -> (Uuid, Value) {
        let (id, res) = self.declare(bytes, "image/jpeg").await;
        assert_eq!(res["status"], "applied", "{res}");
        let (status, req) = self.upload_url(id).await;
        assert_eq!(status, StatusCode::OK, "{req}");
        assert_eq!(self.put(&req, bytes.to_vec()).await, StatusCode::OK);
        let (status, done) = self.complete(id).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        (id, done)
    }
}

fn photo_here(c: &Ctx) -> Vec<u8> {
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).naive_local();
    media::jpeg_with_exif(1600, 1200, c.position.1, c.position.0, now)
}

macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
            async fn $name(pool: sqlx::PgPool) { super::$name(pool, super::Store::Local).await })*
        }
        mod s3 {
            $(#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
            async fn $name(pool: sqlx::PgPool) { super::$name(pool, super::Store::S3).await })*
        }
    };
}

both_stores!(
    the_whole_flow_stores_the_photo_once_with_a_thumbnail,
    a_hash_mismatch_is_refused_and_can_be_uploaded_again,
    a_wrong_length_and_an_interrupted_upload_leave_nothing,
    tampered_urls_are_refused,
    expired_upload_urls_are_refused_and_a_new_one_works,
    oversize_and_non_photos_are_refused,
    exif_far_away_or_days_earlier_is_flagged,
    another_stations_people_cannot_see_the_photo,
    findings_sync_and_lock_once_taken_into_an_issue,
    the_sweep_reports_and_removes_what_no_record_references,
    heic_photos_get_exif_evidence_and_a_thumbnail,
    a_replayed_upload_url_cannot_replace_a_completed_photo,
    downloads_carry_the_photo_type_and_a_file_name,
);

async fn the_whole_flow_stores_the_photo_once_with_a_thumbnail(pool: PgPool, store: Store) {
    let c = ctx(&pool, store, "rep050").await;
    let bytes = photo_here(&c);
    let (id, done) = c.upload(&bytes).await;
    assert_eq!(done["status"], "uploaded");
    assert_eq!(done["mime"], "image/jpeg");
    assert!(done["exif_flags"].as_array().unwrap().is_empty(), "{done}");
    // complete is idempotent.
    let (status, again) = c.complete(id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, done);
    // A second upload URL is refused: the photo is there.
    let (status, _) = c.upload_url(id).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The bytes come back whole through the signed download URL.
    let (status, photo) = c.server.get(&c.rep, &format!("/v1/photos/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{photo}");
    let got = c.server.http.get(photo["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(got.as_ref(), bytes.as_slice());
    // The thumbnail is made once, shortly after.
    let mut thumb = Value::Null;
    for _ in 0..100 {
        let (status, t) = c.server.get(&c.rep, &format!("/v1/photos/{id}/thumbnail")).await;
        if status == StatusCode::OK {
            thumb = t;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let jpeg = c
        .server
        .http
        .get(thumb["url"].as_str().expect("thumbnail ready within 10 s"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(media::sniff(&jpeg), Some(PhotoType::Jpeg));
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM photos WHERE id = $1 AND thumbnail_key IS NOT NULL")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(made, 1);
    // The record travels back through pull, once the pull horizon passes
    // it, which a transaction open elsewhere in the cluster (another
    // test's) may delay a little.
    let mut pulled = false;
    for _ in 0..100 {
        let (_, page) = c.server.get(&c.rep, &format!("/v1/sync/pull?client_id={}&limit=1000", c.client)).await;
        pulled =
            page["changes"].as_array().unwrap().iter().any(|ch| ch["entity"] == "photo" && ch["id"] == id.to_string());
        if pulled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(pulled, "the photo came back through pull");
}

async fn a_hash_mismatch_is_refused_and_can_be_uploaded_again(pool: PgPool, store: Store) {
    let c = ctx(&pool, store, "rep051").await;
    let bytes = photo_here(&c);
    let (id, _) = c.declare(&bytes, "image/jpeg").await;
    let (_, req) = c.upload_url(id).await;
    let mut other = bytes.clone();
    let last = other.len() - 3;
    other[last] ^= 0xff;
    let status = c.put(&req, other).await;
    match store {
        // S3 checks the declared checksum itself and refuses the bytes.
        Store::S3 => assert!(status.is_client_error(), "{status}"),
        Store::Local => assert_eq!(status, StatusCode::OK),
    }
    let (status, body) = c.complete(id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(["hash_mismatch", "not_uploaded"].contains(&error_code(&body)), "{body}");
    // The device uploads again, right this time.
    let (_, req) = c.upload_url(id).await;
    assert_eq!(c.put(&req, bytes.clone()).await, StatusCode::OK);
    let (status, done) = c.complete(id).await;
    assert_eq!(status, StatusCode::OK, "{done}");
}

async fn a_wrong_length_and_an_interrupted_upload_leave_nothing(pool: PgPool, store: Store) {
    let c = ctx(&pool, store, "rep052").await;
    let bytes = photo_here(&c);
    let (id, _) = c.declare(&bytes, "image/jpeg").await;
    let (_, req) = c.upload_url(id).await;
    // Fewer bytes than declared (a connection that dropped mid-upload).
    let status = c.put(&req, bytes[..bytes.len() / 2].to_vec()).await;
    assert!(status.is_client_error() || status.is_server_error() || status == StatusCode::BAD_GATEWAY, "{status}");
    let (status, body) = c.complete(id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // More bytes than declared.
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"trailing");
    let status = c.put(&req, longer).await;
    assert!(!status.is_success(), "{status}");
    // The repeated upload goes through, and exactly one photo is stored.
    assert_eq!(c.put(&req, bytes.clone()).await, StatusCode::OK);
    let (status, _) = c.complete(id).await;
    assert_eq!(status, StatusCode::OK);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM photos WHERE id = $1 AND status = 'uploaded'")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

async fn tampered_urls_are_refused(pool: PgPool, store: Store) {
    let c = ctx(&pool, store, "rep053").await;
    let bytes = photo_here(&c);
    let (id, _) = c.declare(&bytes, "image/jpeg").await;
    let (_, req) = c.upload_url(id).await;
    let url = req["url"].as_str().unwrap();
    // Another key under the same signature.
    let mut forged = req.clone();
    forged["url"] = json!(url.replace(&id.to_string(), &Uuid::now_v7().to_string()));
    assert_eq!(c.put(&forged, bytes.clone()).await, StatusCode::FORBIDDEN);
    // A later expiry under the same signature.
    let mut later = req.clone();
    let stretched = match store {
        Store::Local => url.replacen("expires=", "expires=9", 1),
        Store::S3 => url.replacen("X-Amz-Expires=", "X-Amz-Expires=9", 1),
    };
    later["url"] = json!(stretched);
    assert_eq!(c.put(&later, bytes.clone()).await, StatusCode::FORBIDDEN);
    let (status, _) = c.complete(id).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing was stored");
}

async fn expired_upload_urls_are_refused_and_a_new_one_works(pool: PgPool, store: Store) {
    let c = ctx_with(&pool, store, "rep057", &[("FIELDVISIT_UPLOAD_URL_TTL_S", "2")]).await;
    let bytes = photo_here(&c);
    let (id, _) = c.declare(&bytes, "image/jpeg").await;
    let (_, req) = c.upload_url(id).await;
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(c.put(&req, bytes.clone()).await, StatusCode::FORBIDDEN);
    let (status, body) = c.complete(id).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "not_uploaded"), "nothing was stored");
    // The device asks for a new URL and uploads at once.
    let (_, req) = c.upload_url(id).await;
    assert_eq!(c.put(&req, bytes).await, StatusCode::OK);
    let (status, done) = c.complete(id).await;
    assert_eq!(status, StatusCode::OK, "{done}");
}

async fn oversize_and_non_photos_are_refused(pool: PgPool, store: Store) {
    let c = ctx(&pool, store, "rep054").await;
    // A 30 MB photo is refused at declaration (acknowledged, with a reason)…
    let big = vec![0xffu8; 30 * 1024 * 1024];
    let (id, res) = c.declare(&big, "image/jpeg").await;
    assert_eq!(res["status"], "rejected");
    assert_eq!(res["code"], "too_large");
    let (status, _) = c.upload_url(id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // …and 30 MB sent to a URL signed for a small photo never lands.
    let small = photo_here(&c);
    let (sid, _) = c.declare(&small, "image/jpeg").await;
    let (_, req) = c.upload_url(sid).await;
    match store {
        Store::Local => {
            // The server refuses before reading the body: read its answer while still sending.
            let url = req["url"].as_str().unwrap();
            let path = &url[c.server.base.len()..];
            let (status, body) = c.server.call_oversize(&Method::PUT, None, path, big.len()).await;
            assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        }
        Store::S3 => assert!(!c.put(&req, big).await.is_success()),
    }
    // A text file named .jpg: accepted as bytes, refused as a photo (415), discarded.
    let text = b"this is not a photo, only a text file called photo.jpg".repeat(20);
    let (tid, _) = c.declare(&text, "image/jpeg").await;
    let (_, req) = c.upload_url(tid).await;
    assert_eq!(c.put(&req, text.clone()).await, StatusCode::OK);
    let (status, body) = c.complete(tid).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let (status, _) = c.complete(tid).await;
    assert_eq!(status, StatusCode::CONFLICT, "the bytes were discarded");
}

async fn exif_far_away_or_days_earlier_is_flagged(pool: PgPool, store: Store) {
    let c = ctx(&pool, store, "rep055").await;
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).naive_local();
    // 5 km north of where the check-in stood.
    let far = media::jpeg_with_exif(800, 600, c.position.1 + 0.045, c.position.0, now);
    let (_, done) = c.upload(&far).await;
    assert_eq!(done["exif_flags"], json!(["exif_far"]), "{done}");
    assert!(done["exif_distance_m"].as_f64().unwrap() > 4500.0);
    // Two days earlier, at the right place.
    let early = media::jpeg_with_exif(800, 600, c.position.1, c.position.0, now - chrono::Duration::days(2));
    let (_, done) = c.upload(&early).await;
    assert_eq!(done["exif_flags"], json!(["exif_time_apart"]), "{done}");
    // Without EXIF: kept, and said so.
    let plain = media::sample_image(PhotoType::Png, 640, 480);
    let (id, res) = c.declare(&plain, "image/png").await;
    assert_eq!(res["status"], "applied");
    let (_, req) = c.upload_url(id).await;
    c.put(&req, plain).await;
    let (_, done) = c.complete(id).await;
    assert_eq!(done["exif_flags"], json!(["no_exif"]));
    let _ = NaiveDate::MIN;
}

async fn another_stations_people_cannot_see_the_photo(pool: PgPool, store: Store) {
    let c = ctx(&pool, store, "rep056").await;
    let (id, _) = c.upload(&photo_here(&c)).await;
    let station: Uuid =
        sqlx::query_scalar("SELECT station_id FROM people WHERE username = 'rep056'").fetch_one(&pool).await.unwrap();
    let other_staff: String = sqlx::query_scalar(
        "SELECT p.username FROM people p JOIN stations s ON s.id = p.station_id WHERE p.role = 'station_staff' AND s.level = 'regional' AND s.id <> $1 LIMIT 1",
    )
    .bind(station)
    .fetch_one(&pool)
    .await
    .unwrap();
    let other_rep: String =
        sqlx::query_scalar("SELECT username FROM people WHERE role = 'representative' AND station_id <> $1 LIMIT 1")
            .bind(station)
            .fetch_one(&pool)
            .await
            .unwrap();
    for who in [other_staff, other_rep] {
        let token = c.server.login(&who).await;
        let (status, _) = c.server.get(&token, &format!("/v1/photos/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who}");
        let (status, _) = c.server.call(Method::POST, Some(&token), &format!("/v1/photos/{id}/complete"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who}");
    }
    let presidium = c.server.login("presidium").await;
    let (status, _) = c.server.get(&presidium, &format!("/v1/photos/{id}")).await;
    assert_eq!(status, StatusCode::OK);
}

async fn findings_sync_and_lock_once_taken_into_an_issue(pool: PgPool, store: Store) {
    let c = ctx(&pool, store, "rep057").await;
    let id = Uuid::now_v7();
    let res = c
        .push("finding.create.v1", json!({"id": id, "place_id": c.place, "check_in_id": c.check_in, "category": "fire_safety",
            "description": "消防通道被杂物堵塞", "severity": "high", "position": {"lon": c.position.0, "lat": c.position.1, "crs": "wgs84"}}))
        .await;
    assert_eq!(res["status"], "applied", "{res}");
    let bad = c.push("finding.create.v1", json!({"id": Uuid::now_v7(), "place_id": c.place, "category": "castles", "description": "x", "severity": "high"})).await;
    assert_eq!(bad["code"], "unknown_category");
    // A photo of the finding.
    let bytes = photo_here(&c);
    let pid = Uuid::now_v7();
    let res = c
        .push("photo.declare.v1", json!({"id": pid, "sha256": hex::encode(Sha256::digest(&bytes)), "size": bytes.len(), "mime": "image/jpeg", "attached_to": {"finding": id}}))
        .await;
    assert_eq!(res["status"], "applied", "{res}");
    let edit = c.push("finding.update.v1", json!({"id": id, "description": "消防通道被杂物堵塞，已提醒物业"})).await;
    assert_eq!(edit["status"], "applied");
    let (_, list) = c.server.get(&c.rep, &format!("/v1/findings?place_id={}", c.place)).await;
    let f = list["items"].as_array().unwrap().iter().find(|f| f["id"] == id.to_string()).expect("listed");
    assert_eq!(f["description"], "消防通道被杂物堵塞，已提醒物业");
    assert_eq!(f["category_zh"], "消防");
    assert_eq!(f["photos"], 1);
    // The category list is reference data on every device.
    let (_, page) = c.server.get(&c.rep, &format!("/v1/sync/pull?client_id={}&limit=1000", c.client)).await;
    assert_eq!(page["changes"].as_array().unwrap().iter().filter(|ch| ch["entity"] == "finding_category").count(), 13);
    // Once station staff take it into an issue, the author's edit is refused with a reason.
    let staff: String = sqlx::query_scalar(
        "SELECT p.username FROM people p JOIN places pl ON pl.station_id = p.station_id
         WHERE pl.id = $1 AND p.role = 'station_staff' ORDER BY p.username LIMIT 1",
    )
    .bind(c.place)
    .fetch_one(&pool)
    .await
    .unwrap();
    let token = c.server.login(&staff).await;
    let (status, created) =
        c.server.call(reqwest::Method::POST, Some(&token), "/v1/issues", Some(&json!({"finding_ids": [id]}))).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{created}");
    let late = c.push("finding.update.v1", json!({"id": id, "severity": "low"})).await;
    assert_eq!(late["status"], "rejected");
    assert_eq!(late["code"], "taken_into_issue");
    assert!(late["reason"].as_str().unwrap().contains("issue"));
}

async fn the_sweep_reports_and_removes_what_no_record_references(pool: PgPool, store: Store) {
    let c = ctx(&pool, store, "rep058").await;
    let (kept, _) = c.upload(&photo_here(&c)).await;
    // A declaration whose bytes never came, from long ago.
    let (never, _) = c.declare(b"never sent", "image/jpeg").await;
    sqlx::query("UPDATE photos SET declared_at = now() - interval '30 days' WHERE id = $1")
        .bind(never)
        .execute(&pool)
        .await
        .unwrap();
    // An object no record names (its record was removed by hand).
    let (gone, _) = c.upload(&media::sample_image(PhotoType::Png, 64, 64)).await;
    sqlx::query("DELETE FROM photos WHERE id = $1").bind(gone).execute(&pool).await.unwrap();

    let mut env: Vec<(String, String)> = vec![
        ("DATABASE_URL".to_owned(), fieldvisit_tests::database_url(&pool)),
        ("FIELDVISIT_PHOTO_DIR".to_owned(), c.dir.0.to_string_lossy().into_owned()),
    ];
    if let Some(s) = c.s3.as_ref() {
        env.extend([
            ("FIELDVISIT_PHOTO_STORE".to_owned(), "s3".to_owned()),
            ("FIELDVISIT_S3_ENDPOINT".to_owned(), s.endpoint.clone()),
            ("FIELDVISIT_S3_BUCKET".to_owned(), s.bucket.clone()),
            ("FIELDVISIT_S3_ACCESS_KEY".to_owned(), s.access_key.clone()),
            ("FIELDVISIT_S3_SECRET_KEY".to_owned(), s.secret_key.clone()),
        ]);
    }
    let run = move |apply: bool| {
        let mut cmd = std::process::Command::new(fieldvisit_tests::binary());
        cmd.args(["photos", "sweep", "--days", "7"]);
        if apply {
            cmd.arg("--apply");
        }
        cmd.env_remove("DATABASE_URL");
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let dry = tokio::task::spawn_blocking(move || (run(false), run(true), run(false))).await.unwrap();
    assert!(dry.0.contains(&never.to_string()), "{}", dry.0);
    assert!(dry.0.contains(&format!("photos/{gone}")), "{}", dry.0);
    assert!(dry.0.contains("dry run"));
    assert!(dry.1.contains("removed"), "{}", dry.1);
    assert!(!dry.2.contains(&format!("photos/{gone}")), "removed for good: {}", dry.2);
    // The photo with a record is untouched.
    let (status, _) = c.server.get(&c.rep, &format!("/v1/photos/{kept}")).await;
    assert_eq!(status, StatusCode::OK);
}

/// A real HEIC photo, as iPhones take them: libheif's `heif-enc` (installed
/// by `.ci/setup`) encodes a JPEG carrying EXIF GPS tags, which it keeps.
fn heic_of(jpeg: &[u8]) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("fieldvisit-heic-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let (input, output) = (dir.join("in.jpg"), dir.join("out.heic"));
    std::fs::write(&input, jpeg).unwrap();
    let done = std::process::Command::new("heif-enc")
        .args(["-q", "60", "-o"])
        .arg(&output)
        .arg(&input)
        .output()
        .expect("heif-enc (Debian package libheif-examples) is installed");
    assert!(done.status.success(), "heif-enc: {}", String::from_utf8_lossy(&done.stderr));
    let heic = std::fs::read(&output).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    heic
}

/// Waits for the thumbnail and answers its pixel size.
async fn thumbnail_size(c: &Ctx, id: Uuid) -> (u32, u32) {
    for _ in 0..150 {
        let (status, t) = c.server.get(&c.rep, &format!("/v1/photos/{id}/thumbnail")).await;
        if status == StatusCode::OK {
            let jpeg = c.server.http.get(t["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
            assert_eq!(media::sniff(&jpeg), Some(PhotoType::Jpeg));
            let img = image::load_from_memory(&jpeg).unwrap();
            return (img.width(), img.height());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no thumbnail within 15 s");
}

async fn heic_photos_get_exif_evidence_and_a_thumbnail(pool: PgPool, store: Store) {
    let c = ctx(&pool, store, "rep058").await;
    // Portrait, taken 5 km north of the place: flagged, not refused.
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).naive_local();
    let heic = heic_of(&media::jpeg_with_exif(900, 1200, c.position.1 + 0.045, c.position.0, now));
    assert_eq!(media::sniff(&heic), Some(PhotoType::Heif));
    let (id, res) = c.declare(&heic, "image/heic").await;
    assert_eq!(res["status"], "applied", "{res}");
    let (_, req) = c.upload_url(id).await;
    assert_eq!(c.put(&req, heic.clone()).await, StatusCode::OK);
    let (status, done) = c.complete(id).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["mime"], "image/heic");
    assert_eq!(done["exif_flags"], json!(["exif_far"]), "{done}");
    let distance = done["exif_distance_m"].as_f64().unwrap();
    assert!((4900.0..5100.0).contains(&distance), "{distance}");
    // The thumbnail keeps the portrait shape, 512 pixels high.
    assert_eq!(thumbnail_size(&c, id).await, (384, 512));
    // The original comes back byte for byte.
    let (_, photo) = c.server.get(&c.rep, &format!("/v1/photos/{id}")).await;
    let got = c.server.http.get(photo["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(got.as_ref(), heic.as_slice());
}

/// Without the HEIF converter the photo is kept, nothing is held against
/// it, and the JPEGs behind it still get their thumbnails.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn without_a_heif_converter_heic_waits_and_jpegs_go_on(pool: PgPool) {
    let c = ctx_with(&pool, Store::Local, "rep059", &[("FIELDVISIT_HEIF_CONVERT", "/nonexistent/heif-convert")]).await;
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).naive_local();
    let heic = heic_of(&media::jpeg_with_exif(640, 480, c.position.1, c.position.0, now));
    let (heic_id, _) = c.declare(&heic, "image/heic").await;
    let (_, req) = c.upload_url(heic_id).await;
    assert_eq!(c.put(&req, heic).await, StatusCode::OK);
    let (status, done) = c.complete(heic_id).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (jpeg_id, _) = c.upload(&photo_here(&c)).await;
    assert_eq!(thumbnail_size(&c, jpeg_id).await, (512, 384));
    let (tried, error): (bool, Option<String>) =
        sqlx::query_as("SELECT thumbnail_claimed_at IS NOT NULL, thumbnail_error FROM photos WHERE id = $1")
            .bind(heic_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(tried, "the worker took the HEIC photo before the JPEG");
    assert_eq!(error, None, "a missing converter is not the photo's fault");
    let (status, body) = c.server.get(&c.rep, &format!("/v1/photos/{heic_id}/thumbnail")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), "not_ready");
}

/// Evidence is immutable once verified. The upload URL is still valid after
/// `complete` (it lives for 30 minutes); replaying it, with other bytes or the
/// same, changes nothing: the local store answers 409 `already_uploaded`, and
/// on S3 the record names a copy the URL cannot reach. The photo still
/// downloads as the bytes whose SHA-256 was declared.
async fn a_replayed_upload_url_cannot_replace_a_completed_photo(pool: PgPool, store: Store) {
    let c = ctx(&pool, store, "rep060").await;
    let bytes = photo_here(&c);
    let (id, res) = c.declare(&bytes, "image/jpeg").await;
    assert_eq!(res["status"], "applied", "{res}");
    let (_, req) = c.upload_url(id).await;
    assert_eq!(c.put(&req, bytes.clone()).await, StatusCode::OK);
    let (status, done) = c.complete(id).await;
    assert_eq!(status, StatusCode::OK, "{done}");

    // Other bytes of the same length (the local URL binds the length only).
    let mut forged = bytes.clone();
    let at = forged.len() - 3;
    forged[at] ^= 0xff;
    let (status, body) = c.put_answer(&req, forged).await;
    match store {
        Store::Local => {
            assert_eq!(status, StatusCode::CONFLICT, "{body}");
            assert_eq!(error_code(&body), "already_uploaded");
        }
        // S3 refuses bytes that fail the checksum the URL signs.
        Store::S3 => assert!(status.is_client_error(), "{status} {body}"),
    }
    // The same bytes again: refused on the local store; on S3 they land on
    // the upload key, which the record no longer names.
    let (status, body) = c.put_answer(&req, bytes.clone()).await;
    if matches!(store, Store::Local) {
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
    }
    // Not every S3-compatible service checks the signed checksum: play one
    // that does not, and let the replay write other bytes to the upload key.
    if let Some(s3) = &c.s3 {
        let mut forged = bytes.clone();
        forged[at] ^= 0xff;
        std::fs::write(s3.object_path(&format!("photos/{id}")), forged).unwrap();
    }

    let (status, again) = c.complete(id).await;
    assert_eq!((status, &again), (StatusCode::OK, &done));
    let (status, photo) = c.server.get(&c.rep, &format!("/v1/photos/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{photo}");
    assert_eq!(photo["sha256"], hex::encode(Sha256::digest(&bytes)));
    let (_, _, got) = c.download(&photo["url"]).await;
    assert_eq!(hex::encode(Sha256::digest(&got)), photo["sha256"], "the bytes hash to the recorded SHA-256");
    assert_eq!(got, bytes);
}

/// A download carries the photo's real type, from the record (the type
/// `complete` sniffed, here a PNG declared as a JPEG), and a file name, not
/// an anonymous `application/octet-stream`; the thumbnail is a JPEG named
/// after the photo.
async fn downloads_carry_the_photo_type_and_a_file_name(pool: PgPool, store: Store) {
    let c = ctx(&pool, store, "rep061").await;
    let png = media::sample_image(PhotoType::Png, 64, 48);
    let (id, done) = c.upload(&png).await;
    assert_eq!(done["mime"], "image/png", "{done}");
    let (_, photo) = c.server.get(&c.rep, &format!("/v1/photos/{id}")).await;
    let (content_type, disposition, got) = c.download(&photo["url"]).await;
    assert_eq!(content_type, "image/png");
    assert_eq!(disposition, format!("inline; filename=\"{id}.png\""));
    assert_eq!(got, png);

    let (id, _) = c.upload(&photo_here(&c)).await;
    let (_, photo) = c.server.get(&c.rep, &format!("/v1/photos/{id}")).await;
    let (content_type, disposition, _) = c.download(&photo["url"]).await;
    assert_eq!((content_type.as_str(), disposition), ("image/jpeg", format!("inline; filename=\"{id}.jpg\"")));
    let mut thumb = Value::Null;
    for _ in 0..100 {
        let (status, t) = c.server.get(&c.rep, &format!("/v1/photos/{id}/thumbnail")).await;
        if status == StatusCode::OK {
            thumb = t;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (content_type, disposition, jpeg) = c.download(&thumb["url"]).await;
    assert_eq!(
        (content_type.as_str(), disposition),
        ("image/jpeg", format!("inline; filename=\"{id}-thumbnail.jpg\""))
    );
    assert_eq!(media::sniff(&jpeg), Some(PhotoType::Jpeg));
}
