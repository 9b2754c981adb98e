//! The production basics end to end, against the real binary: compression
//! both ways (and the bytes it saves on the wire), the metrics listener,
//! the connection, request and statement timeouts, the headers that keep
//! private answers out of caches, and overload (a pool of 2 under 50
//! concurrent pushes).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use fieldvisit_tests::{Server, error_code};
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, X_CONTENT_TYPE_OPTIONS,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// A signed-in representative, one of their places and a point inside it.
struct Rep {
    token: String,
    place: Uuid,
    at: (f64, f64),
}

async fn rep(server: &Server, pool: &PgPool, username: &str) -> Rep {
    let (place, lon, lat): (Uuid, f64, f64) = sqlx::query_as(
        "SELECT pl.id, ST_X(ST_PointOnSurface(pl.geom)), ST_Y(ST_PointOnSurface(pl.geom))
         FROM people pe JOIN places pl ON pl.station_id = pe.station_id
         LEFT JOIN assignments a ON a.place_id = pl.id AND a.person_id = pe.id
         WHERE pe.username = $1 ORDER BY a.person_id IS NULL, pl.id LIMIT 1",
    )
    .bind(username)
    .fetch_one(pool)
    .await
    .unwrap();
    Rep { token: server.login(username).await, place, at: (lon, lat) }
}

fn now_device() -> String {
    chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).to_rfc3339()
}

/// `n` check-in mutations with ids `first..first+n` and their check-in ids.
fn check_ins(rep: &Rep, first: i64, n: i64) -> (Vec<Value>, Vec<Uuid>) {
    let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    let mutations = ids
        .iter()
        .zip(first..)
        .map(|(id, m)| {
            json!({"id": m, "name": "checkin.create.v1", "args": {"id": id, "place_id": rep.place,
                "position": {"lon": rep.at.0, "lat": rep.at.1, "crs": "wgs84"}, "accuracy_m": 12.0,
                "device_time": now_device(), "mock_location": false}})
        })
        .collect();
    (mutations, ids)
}

fn push_body(client: Uuid, mutations: &[Value]) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"client_id": client, "schema_version": 1, "client_time": now_device(), "mutations": mutations}),
    )
    .unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

/// A client that neither asks for compression nor decodes it: the test sees
/// exactly what the server sent.
fn raw_client() -> reqwest::Client {
    // The time limit turns a server that never answers into a failure, not a hang.
    reqwest::Client::builder().no_gzip().no_zstd().no_brotli().timeout(Duration::from_mins(1)).build().unwrap()
}

/// POSTs a push body with a `Content-Encoding`.
async fn push_encoded(server: &Server, token: &str, encoding: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let res = raw_client()
        .post(format!("{}/v1/sync/push", server.base))
        .bearer_auth(token)
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_ENCODING, encoding)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn count_present(pool: &PgPool, ids: &[Uuid]) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM check_ins WHERE id = ANY($1)").bind(ids).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_gzip_or_zstd_compressed_push_is_applied(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep001").await;
    let client = Uuid::now_v7();
    let (first, first_ids) = check_ins(&r, 1, 3);
    let (status, res) = push_encoded(&server, &r.token, "gzip", gzip(&push_body(client, &first))).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["last_mutation_id"], 3, "{res}");
    let (second, second_ids) = check_ins(&r, 4, 3);
    let (status, res) =
        push_encoded(&server, &r.token, "zstd", zstd::encode_all(&push_body(client, &second)[..], 3).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert!(res["results"].as_array().unwrap().iter().all(|m| m["status"] == "applied"), "{res}");
    assert_eq!(count_present(&pool, &[first_ids, second_ids].concat()).await, 6);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR")]
async fn a_compressed_body_is_limited_by_its_decompressed_size(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    // 8 MB of JSON whitespace, four times the body limit, in about 8 KB.
    let bomb = vec![b' '; 8 * 1024 * 1024];
    for (encoding, body) in [("gzip", gzip(&bomb)), ("zstd", zstd::encode_all(&bomb[..], 3).unwrap())] {
        assert!(body.len() < 64 * 1024, "{encoding}: {} bytes", body.len());
        let res = raw_client()
            .post(format!("{}/v1/auth/login", server.base))
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_ENCODING, encoding)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{encoding}");
        assert_eq!(error_code(&res.json().await.unwrap()), "payload_too_large");
    }
    // A body that is not what its encoding says is a 400, and an encoding the
    // server does not decode a 415, both in the JSON error shape.
    let res = raw_client()
        .post(format!("{}/v1/auth/login", server.base))
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_ENCODING, "gzip")
        .body(b"not gzip at all".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&res.json().await.unwrap()), "invalid_json");
    let res = raw_client()
        .post(format!("{}/v1/auth/login", server.base))
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_ENCODING, "br")
        .body(b"{}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_code(&res.json().await.unwrap()), "unsupported_media_type");
    // And the server is fine afterwards.
    let (status, _) = server.call(Method::GET, None, "/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_push_bomb_from_a_signed_in_device_is_a_413(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep002").await;
    let bomb = vec![b' '; 8 * 1024 * 1024];
    let (status, body) = push_encoded(&server, &r.token, "gzip", gzip(&bomb)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(error_code(&body), "payload_too_large");
    let (status, body) = push_encoded(&server, &r.token, "zstd", b"\x28\xb5\x2f\xfd garbage".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), "invalid_json");
}

/// Reads a pull answer as sent: its `Content-Encoding` and decoded JSON.
async fn pull_as(server: &Server, token: &str, client: Uuid, accept: Option<&str>) -> (Option<String>, usize, Value) {
    let mut req = raw_client()
        .get(format!("{}/v1/sync/pull?client_id={client}&schema_version=1", server.base))
        .bearer_auth(token);
    if let Some(a) = accept {
        req = req.header(ACCEPT_ENCODING, a);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let encoding = res.headers().get(CONTENT_ENCODING).map(|v| v.to_str().unwrap().to_owned());
    let bytes = res.bytes().await.unwrap().to_vec();
    let json = match encoding.as_deref() {
        None => bytes.clone(),
        Some("gzip") => gunzip(&bytes),
        Some("zstd") => zstd::decode_all(&bytes[..]).unwrap(),
        Some(other) => panic!("unexpected encoding {other}"),
    };
    (encoding, bytes.len(), serde_json::from_slice(&json).unwrap())
}

/// What a pull page delivers, without its cursor and horizon (which move
/// with every answer and with other transactions in the cluster).
fn page(mut v: Value) -> Value {
    let o = v.as_object_mut().unwrap();
    o.remove("cursor");
    o.remove("horizon");
    v
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn accept_encoding_gets_a_compressed_pull_that_decodes_to_the_same_json(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep001").await;
    let client = Uuid::now_v7();
    let (encoding, plain_len, plain) = pull_as(&server, &r.token, client, None).await;
    assert_eq!(encoding, None);
    assert!(!plain["changes"].as_array().unwrap().is_empty());
    let (encoding, gzip_len, gzipped) = pull_as(&server, &r.token, client, Some("gzip")).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(page(gzipped), page(plain.clone()));
    assert!(gzip_len * 3 < plain_len, "gzip {gzip_len} of {plain_len}");
    let (encoding, _, zstded) = pull_as(&server, &r.token, client, Some("zstd")).await;
    assert_eq!(encoding.as_deref(), Some("zstd"));
    assert_eq!(page(zstded), page(plain));
    // Tiny answers go as they are.
    let res = raw_client()
        .get(format!("{}/v1/me", server.base))
        .bearer_auth(&r.token)
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(CONTENT_ENCODING).is_none());
}

/// Uploads a small JPEG photo of a check-in through the local store and
/// answers the photo's id.
async fn upload_photo(server: &Server, r: &Rep, client: Uuid, first_mutation: i64) -> Uuid {
    let (visit, _) = check_ins(r, first_mutation, 1);
    let check_in = visit[0]["args"]["id"].clone();
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).naive_local();
    let bytes = fieldvisit::photos::media::jpeg_with_exif(640, 480, r.at.1, r.at.0, now);
    let id = Uuid::now_v7();
    let declare = json!({"id": first_mutation + 1, "name": "photo.declare.v1", "args": {"id": id, "sha256": hex::encode(Sha256::digest(&bytes)),
        "size": bytes.len(), "mime": "image/jpeg", "attached_to": {"check_in": check_in}}});
    let body: Value = serde_json::from_slice(&push_body(client, &[visit[0].clone(), declare])).unwrap();
    let (status, res) = server.call(Method::POST, Some(&r.token), "/v1/sync/push", Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert!(res["results"].as_array().unwrap().iter().all(|m| m["status"] == "applied"), "{res}");
    let (status, signed) =
        server.call(Method::POST, Some(&r.token), &format!("/v1/photos/{id}/upload-url"), None).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let mut put = raw_client().put(signed["url"].as_str().unwrap());
    for (k, v) in signed["headers"].as_object().unwrap() {
        if !k.eq_ignore_ascii_case("content-length") {
            put = put.header(k, v.as_str().unwrap());
        }
    }
    assert_eq!(put.body(bytes).send().await.unwrap().status(), StatusCode::OK);
    let (status, done) = server.call(Method::POST, Some(&r.token), &format!("/v1/photos/{id}/complete"), None).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    id
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn photo_bytes_are_never_compressed(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep003").await;
    let id = upload_photo(&server, &r, Uuid::now_v7(), 1).await;
    let (status, photo) = server.get(&r.token, &format!("/v1/photos/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{photo}");
    let url = photo["url"].as_str().unwrap();
    assert!(url.contains("/v1/blobs/"), "{url}");
    let res = raw_client().get(url).header(ACCEPT_ENCODING, "gzip, br, zstd").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(CONTENT_ENCODING).is_none(), "{:?}", res.headers());
    assert_eq!(res.headers().get(X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
}

/// One HTTP/1.1 exchange over a fresh connection (`Connection: close`):
/// the request's and the answer's bytes on the wire (headers included, TCP
/// framing not), and the answer's body with its chunking undone.
async fn on_the_wire(base: &str, head: &str, body: &[u8]) -> (usize, usize, Vec<u8>) {
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = [
        format!("{head}host: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes(),
        body.to_vec(),
    ]
    .concat();
    stream.write_all(&request).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let headers = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let mut payload = answer[split..].to_vec();
    if headers.contains("transfer-encoding: chunked") {
        let mut rest = &payload[..];
        let mut joined = Vec::new();
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            joined.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[line_end + 2 + size + 2..];
        }
        payload = joined;
    }
    let decoded = if headers.contains("content-encoding: gzip") {
        gunzip(&payload)
    } else if headers.contains("content-encoding: zstd") {
        zstd::decode_all(&payload[..]).unwrap()
    } else {
        payload
    };
    (request.len(), answer.len(), decoded)
}

/// The figures in the README: bytes on the wire for a representative's whole
/// bootstrap (every page) and for a push of 50 check-ins, uncompressed (as
/// before) and compressed. Run with `--no-capture` to see them.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn wire_bytes_of_a_bootstrap_and_a_push_of_50_check_ins(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let r = rep(&server, &pool, "rep001").await;
    let auth = format!("authorization: Bearer {}\r\n", r.token);
    let mut report = String::new();
    // The identity run walks the pages and keeps their cursors; the others
    // fetch the same pages (a cursor may be presented again) and must
    // decode to the same changes.
    let client = Uuid::now_v7();
    let mut queries = vec![String::new()];
    let mut pages_plain = Vec::new();
    let mut bootstrap = BTreeMap::new();
    for accept in ["identity", "gzip", "br", "zstd"] {
        let mut wire = 0;
        let mut i = 0;
        while i < queries.len() {
            let head = format!(
                "GET /v1/sync/pull?client_id={client}&schema_version=1{} HTTP/1.1\r\n{auth}accept-encoding: {accept}\r\n",
                queries[i]
            );
            let (sent, got, body) = on_the_wire(&server.base, &head, b"").await;
            wire += sent + got;
            if accept == "identity" {
                let page: Value = serde_json::from_slice(&body).unwrap();
                if page["has_more"] == true {
                    queries.push(format!("&cursor={}", page["cursor"].as_str().unwrap()));
                }
                pages_plain.push(page["changes"].clone());
            } else if accept != "br" {
                // (No brotli decoder here; its length is what counts.)
                let page: Value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{accept}: {e}"));
                assert_eq!(page["changes"], pages_plain[i], "{accept} page {i}");
            }
            i += 1;
        }
        let changes: usize = pages_plain.iter().map(|p| p.as_array().unwrap().len()).sum();
        writeln!(
            report,
            "bootstrap of rep001, Accept-Encoding {accept}: {} pages, {changes} changes, {wire} bytes on the wire",
            queries.len()
        )
        .unwrap();
        bootstrap.insert(accept, wire);
    }
    let identity = bootstrap["identity"];
    assert!(
        bootstrap["gzip"] * 3 < identity && bootstrap["zstd"] * 3 < identity && bootstrap["br"] * 3 < identity,
        "{report}"
    );

    let mut push = BTreeMap::new();
    for encoding in ["identity", "gzip", "zstd"] {
        let client = Uuid::now_v7();
        let (mutations, ids) = check_ins(&r, 1, 50);
        let json = push_body(client, &mutations);
        let body = match encoding {
            "gzip" => gzip(&json),
            "zstd" => zstd::encode_all(&json[..], zstd::DEFAULT_COMPRESSION_LEVEL).unwrap(),
            _ => json.clone(),
        };
        let head = format!(
            "POST /v1/sync/push HTTP/1.1\r\n{auth}content-type: application/json\r\ncontent-encoding: {encoding}\r\naccept-encoding: {encoding}\r\n"
        );
        let (sent, got, answer) = on_the_wire(&server.base, &head, &body).await;
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["last_mutation_id"], 50, "{answer}");
        assert_eq!(count_present(&pool, &ids).await, 50);
        writeln!(
            report,
            "push of 50 check-ins, {encoding}: request {sent} bytes (JSON {} bytes), answer {got} bytes",
            json.len()
        )
        .unwrap();
        push.insert(encoding, sent + got);
    }
    assert!(push["zstd"] * 3 < push["identity"] && push["gzip"] * 3 < push["identity"], "{report}");
    println!("{report}");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn private_answers_say_no_store_and_every_answer_nosniff(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let http = raw_client();
    let login = http
        .post(format!("{}/v1/auth/login", server.base))
        .json(&json!({"username": "rep001", "password": "fieldvisit"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    assert_eq!(login.headers().get(CACHE_CONTROL).unwrap(), "no-store", "tokens must not be cached");
    assert_eq!(login.headers().get(X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
    let token = login.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    for path in ["/v1/me", "/v1/people", "/v1/no-such-thing"] {
        let res = http.get(format!("{}{path}", server.base)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.headers().get(CACHE_CONTROL).unwrap(), "no-store", "{path}");
        assert_eq!(res.headers().get(X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff", "{path}");
    }
    let refused = http.get(format!("{}/v1/me", server.base)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.headers().get(CACHE_CONTROL).unwrap(), "no-store");
    // Outside /v1: nothing personal, but never sniffed either.
    for path in ["/healthz", "/openapi.json", "/nowhere"] {
        let res = http.get(format!("{}{path}", server.base)).send().await.unwrap();
        assert_eq!(res.headers().get(X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff", "{path}");
    }
}

/// Reads from `stream` until the server closes it (or `within` passes):
/// answers when it closed, after the bytes it sent.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<(Duration, Vec<u8>)> {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(within.saturating_sub(start.elapsed()), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some((start.elapsed(), got)),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[sqlx::test(migrations = false)]
async fn a_half_sent_request_head_is_closed_after_the_header_timeout(pool: PgPool) {
    let url = fieldvisit_tests::database_url(&pool);
    let server = Server::start(
        &["serve"],
        &[
            ("DATABASE_URL", url.as_str()),
            ("FIELDVISIT_HEADER_READ_TIMEOUT_S", "2"),
            ("FIELDVISIT_IDLE_TIMEOUT_S", "6"),
        ],
    )
    .await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    // Half a head, then silence: closed at the header timeout, long before
    // the idle timeout, with nothing answered.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"POST /v1/sync/push HTTP/1.1\r\nhost: fieldvisit\r\ncontent-type: application/json\r\n")
        .await
        .unwrap();
    let (after, got) =
        closed_within(&mut slow, Duration::from_secs(20)).await.expect("the server closed the half-sent request");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert!(after < Duration::from_secs(5), "closed after {after:?}");
    // A connection that sends nothing at all is closed the same way.
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (after, _) =
        closed_within(&mut silent, Duration::from_secs(20)).await.expect("the server closed the silent connection");
    assert!(after < Duration::from_secs(5), "closed after {after:?}");
    // The server serves on meanwhile.
    let (status, _) = server.call(Method::GET, None, "/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[sqlx::test(migrations = false)]
async fn a_keep_alive_connection_outlives_the_header_timeout_and_ends_at_the_idle_timeout(pool: PgPool) {
    let url = fieldvisit_tests::database_url(&pool);
    let server = Server::start(
        &["serve"],
        &[
            ("DATABASE_URL", url.as_str()),
            ("FIELDVISIT_HEADER_READ_TIMEOUT_S", "2"),
            ("FIELDVISIT_IDLE_TIMEOUT_S", "6"),
        ],
    )
    .await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = b"GET /healthz HTTP/1.1\r\nhost: fieldvisit\r\n\r\n";
    let mut buf = [0u8; 4096];
    conn.write_all(request).await.unwrap();
    let n = conn.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    // Past the header timeout, the idle connection still takes a request.
    tokio::time::sleep(Duration::from_secs(3)).await;
    conn.write_all(request).await.unwrap();
    let n = conn.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    // Then idle: closed at the idle timeout.
    let (after, _) = closed_within(&mut conn, Duration::from_secs(30)).await.expect("the idle connection was closed");
    assert!(after > Duration::from_secs(3) && after < Duration::from_secs(12), "closed after {after:?}");
}

/// Holds a lock that every push waits for (as a long migration or a stuck
/// transaction would). A table lock, not a row lock: it takes no
/// transaction id, so it does not hold back the cluster-wide pull horizon
/// of the tests running beside this one.
async fn block_pushes(pool: &PgPool) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE sync_clients IN EXCLUSIVE MODE").execute(&mut *tx).await.unwrap();
    tx
}

async fn last_mutation(pool: &PgPool, client: Uuid) -> i64 {
    sqlx::query_scalar("SELECT last_mutation_id FROM sync_clients WHERE id = $1")
        .bind(client)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_request_past_the_request_timeout_answers_503_and_commits_nothing(pool: PgPool) {
    let server = Server::in_process_with(&pool, &[("FIELDVISIT_REQUEST_TIMEOUT_S", "3")]).await;
    let r = rep(&server, &pool, "rep004").await;
    let client = Uuid::now_v7();
    let (first, _) = check_ins(&r, 1, 1);
    let (status, res) = push_encoded(&server, &r.token, "identity", push_body(client, &first)).await;
    assert_eq!(status, StatusCode::OK, "{res}");

    let lock = block_pushes(&pool).await;
    let (second, ids) = check_ins(&r, 2, 2);
    let res = raw_client()
        .post(format!("{}/v1/sync/push", server.base))
        .bearer_auth(&r.token)
        .header(CONTENT_TYPE, "application/json")
        .body(push_body(client, &second))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get(RETRY_AFTER).is_some(), "{:?}", res.headers());
    assert_eq!(error_code(&res.json().await.unwrap()), "timeout");
    lock.rollback().await.unwrap();

    // The cancelled push left nothing; sent again, it applies once.
    assert_eq!(count_present(&pool, &ids).await, 0);
    assert_eq!(last_mutation(&pool, client).await, 1);
    let (status, res) = push_encoded(&server, &r.token, "identity", push_body(client, &second)).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["last_mutation_id"], 3);
    assert_eq!(count_present(&pool, &ids).await, 2);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_statement_past_the_statement_timeout_is_cancelled(pool: PgPool) {
    let server = Server::in_process_with(&pool, &[("FIELDVISIT_STATEMENT_TIMEOUT_S", "1")]).await;
    let r = rep(&server, &pool, "rep005").await;
    let client = Uuid::now_v7();
    let (first, _) = check_ins(&r, 1, 1);
    let (status, res) = push_encoded(&server, &r.token, "identity", push_body(client, &first)).await;
    assert_eq!(status, StatusCode::OK, "{res}");

    // PostgreSQL itself gives up on the waiting statement after 1 s, long
    // before the 30 s request timeout: the connection is free again.
    let lock = block_pushes(&pool).await;
    let (second, ids) = check_ins(&r, 2, 2);
    let started = Instant::now();
    let (status, body) = push_encoded(&server, &r.token, "identity", push_body(client, &second)).await;
    let waited = started.elapsed();
    // A cancelled statement is a 503 `unavailable` (retry), not the request timeout's `timeout`.
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_code(&body), "unavailable", "{body}");
    assert!(waited < Duration::from_secs(20), "answered after {waited:?}");
    let cancelled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(cancelled, 0, "no statement of the server still waits on the lock");
    lock.rollback().await.unwrap();
    assert_eq!(count_present(&pool, &ids).await, 0);
    let (status, res) = push_encoded(&server, &r.token, "identity", push_body(client, &second)).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(count_present(&pool, &ids).await, 2);
}

/// One sample of Prometheus text: the series' name, its labels, its value.
type Sample = (String, BTreeMap<String, String>, f64);

fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            let (name, labels) =
                series.split_once('{').map_or((series, ""), |(n, rest)| (n, rest.trim_end_matches('}')));
            let labels = labels
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            (name.to_owned(), labels, value.parse().unwrap())
        })
        .collect()
}

/// The sum of the samples of `name` whose labels include `labels`; None when
/// there is no such series.
fn value(all: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = all
        .iter()
        .filter(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
        .map(|s| s.2)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

/// A counter's (or a count's) value as a whole number.
fn whole(v: f64) -> u64 {
    assert!(v >= 0.0 && v.fract() == 0.0 && v < 1e15, "not a count: {v}");
    format!("{v:.0}").parse().unwrap()
}

#[sqlx::test(migrations = false)]
async fn metrics_count_requests_mutations_pulls_the_pool_photos_and_logins(pool: PgPool) {
    let url = fieldvisit_tests::database_url(&pool);
    let server = Server::start(&["demo", "--metrics-listen", "127.0.0.1:0"], &[("DATABASE_URL", url.as_str())]).await;
    // The console's address comes first, then the API's.
    assert!(server.stdout[0].starts_with("console:   http://"), "{:?}", server.stdout);
    assert!(server.stdout[1].starts_with("fieldvisit listening on http://"), "{:?}", server.stdout);
    assert!(
        server.stdout[2].starts_with("field app: http://") && server.stdout[2].contains("/app "),
        "{:?}",
        server.stdout
    );
    let metrics_url = server
        .stdout
        .iter()
        .find_map(|l| l.strip_prefix("metrics on "))
        .unwrap_or_else(|| panic!("no metrics address in the banner: {:?}", server.stdout))
        .trim()
        .to_owned();
    // Not on the public port.
    let (status, _) = server.call(Method::GET, None, "/metrics", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let r = rep(&server, &pool, "rep006").await;
    let client = Uuid::now_v7();
    let (mutations, _) = check_ins(&r, 1, 2);
    let (status, res) = push_encoded(&server, &r.token, "identity", push_body(client, &mutations)).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let resent: Value = serde_json::from_slice(&push_body(client, &mutations)).unwrap();
    let (status, _) = server.call(Method::POST, Some(&r.token), "/v1/sync/push", Some(&resent)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, page) = server.get(&r.token, &format!("/v1/sync/pull?client_id={client}&schema_version=1")).await;
    assert_eq!(status, StatusCode::OK);
    let pulled = page["changes"].as_array().unwrap().len();
    upload_photo(&server, &r, client, 3).await;
    // Wrong passwords until the throttle steps in.
    let mut refused = 0u64;
    for _ in 0..8 {
        let (status, _) = server.login_full("rep007", "wrong").await;
        assert!(status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS, "{status}");
        refused += 1;
    }

    let text = reqwest::get(&metrics_url).await.unwrap().text().await.unwrap();
    let all = samples(&text);
    let v = |name: &str, labels: &[(&str, &str)]| {
        value(&all, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
    };
    let n = |name: &str, labels: &[(&str, &str)]| whole(v(name, labels));
    assert!(
        n("fieldvisit_http_requests_total", &[("method", "POST"), ("route", "/v1/auth/login"), ("status", "200")]) >= 1
    );
    assert_eq!(n("fieldvisit_http_requests_total", &[("route", "/v1/sync/push"), ("status", "200")]), 3);
    assert!(n("fieldvisit_http_request_duration_seconds_count", &[("route", "/v1/sync/pull"), ("status", "200")]) >= 1);
    assert!(v("fieldvisit_http_request_duration_seconds_sum", &[("route", "/v1/sync/pull")]) > 0.0);
    assert!(n("fieldvisit_http_request_duration_seconds_bucket", &[("route", "/v1/sync/pull"), ("le", "+Inf")]) >= 1);
    assert!(
        value(&all, "fieldvisit_http_requests_total", &[("route", "/metrics")]).is_none(),
        "the scrape is not a request of the API"
    );
    assert_eq!(n("fieldvisit_sync_mutations_total", &[("name", "checkin.create.v1"), ("status", "applied")]), 3);
    assert_eq!(n("fieldvisit_sync_mutations_total", &[("name", "checkin.create.v1"), ("status", "duplicate")]), 2);
    assert_eq!(n("fieldvisit_sync_mutations_total", &[("name", "photo.declare.v1"), ("status", "applied")]), 1);
    assert_eq!(n("fieldvisit_sync_pull_pages_total", &[("kind", "bootstrap")]), 1);
    assert_eq!(n("fieldvisit_sync_pull_changes_total", &[("kind", "bootstrap")]), pulled as u64);
    assert_eq!(n("fieldvisit_db_pool_max_connections", &[]), 16);
    let in_use = n("fieldvisit_db_pool_connections", &[("state", "in_use")]);
    let idle = n("fieldvisit_db_pool_connections", &[("state", "idle")]);
    assert!((1..=16).contains(&(in_use + idle)), "in use {in_use}, idle {idle}");
    assert_eq!(n("fieldvisit_photo_completes_total", &[("status", "200")]), 1);
    assert_eq!(n("fieldvisit_photo_uploads_total", &[("status", "200")]), 1);
    assert!(n("fieldvisit_thumbnail_queue", &[]) <= 1);
    let failures = n("fieldvisit_login_failures_total", &[]);
    let throttled = n("fieldvisit_login_throttled_total", &[]);
    assert!(failures >= 1 && throttled >= 1, "failures {failures}, throttled {throttled}");
    assert_eq!(failures + throttled, refused);
}

/// The overload test: this many devices push at once...
const DEVICES: usize = 50;
/// ...this many check-ins each.
const BATCH: i64 = 20;

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn under_overload_every_push_applies_whole_or_answers_503_and_the_devices_converge(pool: PgPool) {
    // The township served with 2 connections that a request waits at most 0.25 s for.
    let server =
        Server::in_process_with(&pool, &[("FIELDVISIT_DB_POOL", "2"), ("FIELDVISIT_DB_ACQUIRE_TIMEOUT_S", "0.25")])
            .await;
    let mut devices = Vec::new();
    for i in 1..=DEVICES {
        let r = rep(&server, &pool, &format!("rep{i:03}")).await;
        let (mutations, ids) = check_ins(&r, 1, BATCH);
        devices.push((r.token, Uuid::now_v7(), mutations, ids));
    }

    let send_all = |which: Vec<usize>| {
        let jobs: Vec<_> = which
            .into_iter()
            .map(|i| {
                let (token, client, mutations, _) = &devices[i];
                let req = raw_client()
                    .post(format!("{}/v1/sync/push", server.base))
                    .bearer_auth(token)
                    .header(CONTENT_TYPE, "application/json")
                    .body(push_body(*client, mutations));
                tokio::spawn(async move {
                    let res = req.send().await.unwrap();
                    let status = res.status();
                    let retry_after = res.headers().get(RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
                    (i, status, retry_after, res.json::<Value>().await.unwrap_or(Value::Null))
                })
            })
            .collect();
        async move {
            let mut out = Vec::new();
            for j in jobs {
                out.push(j.await.unwrap());
            }
            out
        }
    };

    // The burst comes while a lock elsewhere (a long transaction, a
    // migration) holds up every push for a second: the first pushes to
    // reach it hold both connections, and the rest wait for one in vain.
    // (Without the lock the outcome would hang on the machine's speed: on
    // an idle one, 50 pushes may all fit in the acquire timeout.)
    let lock = block_pushes(&pool).await;
    let burst = send_all((0..DEVICES).collect());
    tokio::time::sleep(Duration::from_secs(1)).await;
    lock.rollback().await.unwrap();
    let first = burst.await;
    let (mut applied, mut refused) = (0, Vec::new());
    for (i, status, retry_after, body) in &first {
        match *status {
            StatusCode::OK => {
                assert_eq!(body["last_mutation_id"], BATCH, "{body}");
                applied += 1;
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(error_code(body), "unavailable", "{body}");
                assert!(retry_after.as_deref().is_some_and(|s| s.parse::<u64>().is_ok()), "503 without Retry-After");
                refused.push(*i);
            }
            other => panic!("device {i}: {other} {body}"),
        }
    }
    println!(
        "pool of 2, {DEVICES} concurrent pushes of {BATCH} check-ins: {applied} applied, {} refused with 503",
        refused.len()
    );
    assert!(
        applied > 0 && !refused.is_empty(),
        "the pool of 2 should both serve and refuse: {applied} applied, {} refused",
        refused.len()
    );

    // Nothing half-applied: every device has all of its batch or none of it,
    // and its last_mutation_id says which.
    for (i, (_, client, _, ids)) in devices.iter().enumerate() {
        let last: Option<i64> = sqlx::query_scalar("SELECT last_mutation_id FROM sync_clients WHERE id = $1")
            .bind(client)
            .fetch_optional(&pool)
            .await
            .unwrap();
        let taken: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_mutations WHERE client_id = $1")
            .bind(client)
            .fetch_one(&pool)
            .await
            .unwrap();
        let present = count_present(&pool, ids).await;
        let last = last.unwrap_or(0);
        assert!(last == 0 || last == BATCH, "device {i}: last_mutation_id {last}");
        assert_eq!(taken, last, "device {i}");
        assert_eq!(present, last, "device {i}");
        if first.iter().any(|(j, s, _, _)| *j == i && *s == StatusCode::OK) {
            assert_eq!(present, BATCH, "device {i} was told applied");
        }
    }

    // The refused devices retry with the same mutation ids, as told, until
    // answered; then everything is there exactly once.
    let mut waiting = refused.clone();
    for _ in 0..30 {
        if waiting.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        waiting =
            send_all(waiting).await.into_iter().filter(|(_, s, _, _)| *s != StatusCode::OK).map(|r| r.0).collect();
    }
    assert!(waiting.is_empty(), "devices {waiting:?} never got through");
    let all_ids: Vec<Uuid> = devices.iter().flat_map(|d| d.3.clone()).collect();
    assert_eq!(count_present(&pool, &all_ids).await, i64::try_from(DEVICES).unwrap() * BATCH);
    for (i, (_, client, _, _)) in devices.iter().enumerate() {
        assert_eq!(last_mutation(&pool, *client).await, BATCH, "device {i}");
    }
    // One by one, nothing waits: every resend is a duplicate.
    for i in 0..DEVICES {
        let (_, status, _, body) = send_all(vec![i]).await.remove(0);
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["results"].as_array().unwrap().iter().all(|m| m["status"] == "duplicate"), "{body}");
    }
}
