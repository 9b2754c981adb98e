//! Bad input, sent to every write endpoint: each answers a 4xx in the JSON
//! error shape, names the field where there is one, and writes nothing.

use fieldvisit_tests::{Server, error_code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// Row counts of every table a write endpoint touches.
async fn footprint(pool: &PgPool) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in ["stations", "people", "places", "assignments", "audit_events", "refresh_tokens"] {
        counts.push(
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(pool)
                .await
                .unwrap(),
        );
    }
    // Versions catch an update that slipped through.
    let versions: i64 = sqlx::query_scalar(
        "SELECT ((SELECT sum(version) FROM stations) + (SELECT sum(version) FROM people) + (SELECT sum(version) FROM places)
              + (SELECT sum(version) FROM assignments))::bigint",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    counts.push(versions);
    counts
}

/// Sets `pointer` (e.g. `/properties/name`) in a copy of `base`.
fn with(base: &Value, pointer: &str, v: Value) -> Value {
    let mut out = base.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = if parent.is_empty() { &mut out } else { out.pointer_mut(parent).unwrap() };
    target[key] = v;
    out
}

struct Endpoint {
    method: Method,
    path: String,
    token: String,
    valid: Value,
    /// A text field, an enum field, a position or geometry field, as JSON pointers.
    text: &'static str,
    enumeration: Option<&'static str>,
    coordinates: Option<(&'static str, CoordKind)>,
}

/// A bad-input case: name, body, content type, acceptable statuses, the field the error must name.
type Case<'a> = (String, Vec<u8>, &'a str, &'a [u16], Option<&'a str>);

#[derive(Clone, Copy)]
enum CoordKind {
    Position,
    Geometry,
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn every_write_endpoint_refuses_bad_input_and_writes_nothing(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let admin = server.login("admin").await;
    let station: Uuid = sqlx::query_scalar("SELECT id FROM stations WHERE level = 'regional' ORDER BY code LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let place: Uuid = sqlx::query_scalar(
        "SELECT id FROM places WHERE kind = 'grid_cell' AND id NOT IN
             (SELECT place_id FROM assignments a JOIN people p ON p.id = a.person_id WHERE p.username = 'rep010') ORDER BY id LIMIT 1",
    ).fetch_one(&pool).await.unwrap();
    let person: Uuid =
        sqlx::query_scalar("SELECT id FROM people WHERE username = 'rep010'").fetch_one(&pool).await.unwrap();
    let assignment: Uuid =
        sqlx::query_scalar("SELECT id FROM assignments ORDER BY id LIMIT 1").fetch_one(&pool).await.unwrap();
    let square = json!({"type": "Polygon", "coordinates": [[[112.10, 35.10], [112.11, 35.10], [112.11, 35.11], [112.10, 35.11], [112.10, 35.10]]]});

    let endpoints = vec![
        Endpoint {
            method: Method::POST,
            path: "/v1/auth/login".into(),
            token: String::new(),
            valid: json!({"username": "rep001", "password": "fieldvisit"}),
            text: "/username",
            enumeration: None,
            coordinates: None,
        },
        Endpoint {
            method: Method::POST,
            path: "/v1/auth/refresh".into(),
            token: String::new(),
            valid: json!({"refresh_token": "x"}),
            text: "/refresh_token",
            enumeration: None,
            coordinates: None,
        },
        Endpoint {
            method: Method::POST,
            path: "/v1/auth/logout".into(),
            token: String::new(),
            valid: json!({"refresh_token": "x"}),
            text: "/refresh_token",
            enumeration: None,
            coordinates: None,
        },
        Endpoint {
            method: Method::POST,
            path: "/v1/stations".into(),
            token: planner.clone(),
            valid: json!({"parent_id": station, "level": "point", "code": "p-1", "name": "联络点", "location": {"lon": 112.1, "lat": 35.1}}),
            text: "/name",
            enumeration: Some("/level"),
            coordinates: Some(("/location", CoordKind::Position)),
        },
        Endpoint {
            method: Method::PATCH,
            path: format!("/v1/stations/{station}"),
            token: planner.clone(),
            valid: json!({"name": "新名字", "service_area": square}),
            text: "/name",
            enumeration: Some("/level"),
            coordinates: Some(("/service_area", CoordKind::Geometry)),
        },
        Endpoint {
            method: Method::POST,
            path: "/v1/people".into(),
            token: admin.clone(),
            valid: json!({"name": "张三", "username": "zhangsan", "password": "password1", "role": "representative", "station_id": station,
                "anchor": {"lon": 112.1, "lat": 35.1}}),
            text: "/name",
            enumeration: Some("/role"),
            coordinates: Some(("/anchor", CoordKind::Position)),
        },
        Endpoint {
            method: Method::PATCH,
            path: format!("/v1/people/{person}"),
            token: admin.clone(),
            valid: json!({"name": "李四", "anchor": {"lon": 112.1, "lat": 35.1}}),
            text: "/name",
            enumeration: Some("/role"),
            coordinates: Some(("/anchor", CoordKind::Position)),
        },
        Endpoint {
            method: Method::POST,
            path: "/v1/places".into(),
            token: planner.clone(),
            valid: json!({"type": "Feature", "geometry": square, "properties": {"kind": "grid_cell", "name": "新网格", "station_id": station}}),
            text: "/properties/name",
            enumeration: Some("/properties/kind"),
            coordinates: Some(("/geometry", CoordKind::Geometry)),
        },
        Endpoint {
            method: Method::PATCH,
            path: format!("/v1/places/{place}"),
            token: planner.clone(),
            valid: json!({"geometry": square, "properties": {"name": "改名网格"}}),
            text: "/properties/name",
            enumeration: Some("/properties/kind"),
            coordinates: Some(("/geometry", CoordKind::Geometry)),
        },
        Endpoint {
            method: Method::POST,
            path: "/v1/assignments".into(),
            token: planner.clone(),
            valid: json!({"person_id": person, "place_id": place, "valid_from": "2026-12-01"}),
            text: "/valid_from",
            enumeration: None,
            coordinates: None,
        },
        Endpoint {
            method: Method::PATCH,
            path: format!("/v1/assignments/{assignment}"),
            token: planner.clone(),
            valid: json!({"valid_to": "2027-12-01"}),
            text: "/valid_to",
            enumeration: None,
            coordinates: None,
        },
    ];

    let before = footprint(&pool).await;
    let mut failures = Vec::new();
    for e in &endpoints {
        let token = (!e.token.is_empty()).then_some(e.token.as_str());
        let mut cases: Vec<Case> = vec![
            ("malformed JSON".into(), b"{,}".to_vec(), "application/json", &[400], None),
            (
                "truncated JSON".into(),
                e.valid.to_string().as_bytes()[..e.valid.to_string().len() / 2].to_vec(),
                "application/json",
                &[400],
                None,
            ),
            (
                "trailing garbage".into(),
                [e.valid.to_string().as_bytes(), b" x"].concat(),
                "application/json",
                &[400],
                None,
            ),
            ("not JSON at all".into(), b"name=x".to_vec(), "application/x-www-form-urlencoded", &[415], None),
            ("a JSON array".into(), b"[]".to_vec(), "application/json", &[422], None),
            (
                "wrong type".into(),
                with(&e.valid, e.text, json!(12345)).to_string().into_bytes(),
                "application/json",
                &[422],
                Some(e.text),
            ),
            (
                "unknown field".into(),
                with(&e.valid, "/surprise", json!(1)).to_string().into_bytes(),
                "application/json",
                &[422],
                Some("/surprise"),
            ),
            // PostgreSQL cannot store NUL; the edge says so, by field, in its own words.
            (
                "NUL character".into(),
                with(&e.valid, e.text, json!("x\u{0}y")).to_string().into_bytes(),
                "application/json",
                &[422],
                Some(e.text),
            ),
        ];
        if e.text.starts_with("/properties/") {
            cases.push((
                "unknown nested field".into(),
                with(&e.valid, "/properties/colour", json!("red")).to_string().into_bytes(),
                "application/json",
                &[422],
                Some("/properties/colour"),
            ));
        }
        if e.text == "/refresh_token" {
            // Any string is a well-formed token; only its shape can be wrong.
        } else if e.text != "/valid_from" && e.text != "/valid_to" && e.text != "/username" {
            cases.push((
                "empty name".into(),
                with(&e.valid, e.text, json!("   ")).to_string().into_bytes(),
                "application/json",
                &[422],
                Some(e.text),
            ));
            cases.push((
                "over-long name".into(),
                with(&e.valid, e.text, json!("长".repeat(5000))).to_string().into_bytes(),
                "application/json",
                &[422],
                Some(e.text),
            ));
        } else {
            cases.push((
                "unparseable value".into(),
                with(&e.valid, e.text, json!("not-a-date-or-name!")).to_string().into_bytes(),
                "application/json",
                &[401, 422],
                None,
            ));
            if e.text != "/username" {
                cases.push((
                    "date out of range".into(),
                    with(&e.valid, e.text, json!("-5000-01-01")).to_string().into_bytes(),
                    "application/json",
                    &[422],
                    Some(e.text),
                ));
            }
        }
        if let Some(en) = e.enumeration {
            cases.push((
                "unknown enum value".into(),
                with(&e.valid, en, json!("castle")).to_string().into_bytes(),
                "application/json",
                &[422],
                Some(en),
            ));
        }
        match e.coordinates {
            Some((ptr, CoordKind::Position)) => {
                cases.push((
                    "longitude out of range".into(),
                    with(&e.valid, ptr, json!({"lon": 200.0, "lat": 35.1})).to_string().into_bytes(),
                    "application/json",
                    &[422],
                    Some(ptr),
                ));
                cases.push((
                    "latitude out of range".into(),
                    with(&e.valid, ptr, json!({"lon": 112.1, "lat": -95.0})).to_string().into_bytes(),
                    "application/json",
                    &[422],
                    Some(ptr),
                ));
                cases.push((
                    "non-finite number".into(),
                    e.valid.to_string().replace("112.1", "1e999").into_bytes(),
                    "application/json",
                    &[422],
                    Some(ptr),
                ));
                cases.push((
                    "unknown crs".into(),
                    with(&e.valid, "/crs", json!("mars")).to_string().into_bytes(),
                    "application/json",
                    &[422],
                    Some("crs"),
                ));
            }
            Some((ptr, CoordKind::Geometry)) => {
                let bowtie = json!({"type": "Polygon", "coordinates": [[[112.10, 35.10], [112.11, 35.11], [112.11, 35.10], [112.10, 35.11], [112.10, 35.10]]]});
                cases.push((
                    "self-intersecting polygon".into(),
                    with(&e.valid, ptr, bowtie).to_string().into_bytes(),
                    "application/json",
                    &[422],
                    Some(ptr),
                ));
                let open_ring =
                    json!({"type": "Polygon", "coordinates": [[[112.10, 35.10], [112.11, 35.10], [112.11, 35.11]]]});
                cases.push((
                    "unclosed ring".into(),
                    with(&e.valid, ptr, open_ring).to_string().into_bytes(),
                    "application/json",
                    &[422],
                    Some(ptr),
                ));
                let far = json!({"type": "Polygon", "coordinates": [[[190.0, 35.10], [112.11, 35.10], [112.11, 35.11], [190.0, 35.10]]]});
                cases.push((
                    "coordinates out of range".into(),
                    with(&e.valid, ptr, far).to_string().into_bytes(),
                    "application/json",
                    &[422],
                    Some(ptr),
                ));
                cases.push((
                    "not a geometry".into(),
                    with(&e.valid, ptr, json!({"type": "Circle", "radius": 3})).to_string().into_bytes(),
                    "application/json",
                    &[422],
                    Some(ptr),
                ));
                cases.push((
                    "coordinates as strings".into(),
                    with(&e.valid, ptr, json!({"type": "Point", "coordinates": ["112", "35"]}))
                        .to_string()
                        .into_bytes(),
                    "application/json",
                    &[422],
                    Some(ptr),
                ));
            }
            None => {}
        }
        let (status, answer) = server.call_oversize(&e.method, token, &e.path, 3 * 1024 * 1024).await;
        if status != StatusCode::PAYLOAD_TOO_LARGE || answer["error"]["code"] != "payload_too_large" {
            failures.push(format!("{} {} — oversize body: {status} {answer}", e.method, e.path));
        }
        for (name, body, content_type, statuses, field) in cases {
            let (status, answer) = server.call_raw(e.method.clone(), token, &e.path, content_type, body).await;
            let shape_ok = answer["error"]["code"].is_string()
                && answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty());
            let field_ok = field.is_none_or(|f| {
                let want = f.trim_start_matches('/').replace('/', ".");
                answer["error"]["details"]["field"]
                    .as_str()
                    .is_some_and(|got| got.starts_with(&want) || want.starts_with(got))
            });
            // An unknown field is named once, not as `surprise.surprise`.
            let unknown_named_once = !name.starts_with("unknown")
                || field.is_some_and(|f| {
                    answer["error"]["details"]["field"] == f.trim_start_matches('/').replace('/', ".")
                });
            let own_words = !answer["error"]["message"].as_str().unwrap_or_default().contains("invalid byte sequence");
            if !statuses.contains(&status.as_u16()) || !shape_ok || !field_ok || !unknown_named_once || !own_words {
                failures.push(format!("{} {} — {name}: {status} {answer}", e.method, e.path));
            }
        }
    }
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(footprint(&pool).await, before, "bad input must write nothing");

    // The valid bodies do work, so the cases above failed for the reason tested.
    for e in &endpoints {
        let token = (!e.token.is_empty()).then_some(e.token.as_str());
        let (status, answer) = server.call(e.method.clone(), token, &e.path, Some(&e.valid)).await;
        // An unknown refresh token is well-formed input with a 401 answer.
        let ok = status.is_success() || (e.path == "/v1/auth/refresh" && status == StatusCode::UNAUTHORIZED);
        assert!(ok, "{} {} with a valid body: {status} {answer}", e.method, e.path);
    }
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn duplicates_and_stale_versions_are_conflicts(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let admin = server.login("admin").await;
    let planner = server.login("planner").await;
    let station: Uuid = sqlx::query_scalar("SELECT id FROM stations WHERE level = 'regional' ORDER BY code LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let person = json!({"name": "重名", "username": "rep001", "password": "password1", "role": "representative", "station_id": station});
    let (status, body) = server.call(Method::POST, Some(&admin), "/v1/people", Some(&person)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), "already_exists");
    assert_eq!(body["error"]["details"]["field"], "username");

    let (_, s) = server.get(&planner, &format!("/v1/stations/{station}")).await;
    let version = s["version"].as_i64().unwrap();
    let (status, _) = server
        .call(
            Method::PATCH,
            Some(&planner),
            &format!("/v1/stations/{station}"),
            Some(&json!({"version": version, "name": "一改"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server
        .call(
            Method::PATCH,
            Some(&planner),
            &format!("/v1/stations/{station}"),
            Some(&json!({"version": version, "name": "二改"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), "version_conflict");
    let (_, s) = server.get(&planner, &format!("/v1/stations/{station}")).await;
    assert_eq!(s["name"], "一改", "the stale edit changed nothing");

    // A station cannot move under its own subtree, nor have two roots.
    let central: Uuid =
        sqlx::query_scalar("SELECT id FROM stations WHERE level = 'central'").fetch_one(&pool).await.unwrap();
    let (status, body) = server
        .call(
            Method::PATCH,
            Some(&planner),
            &format!("/v1/stations/{central}"),
            Some(&json!({"parent_id": station, "level": "regional"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let second_root =
        json!({"level": "central", "code": "root2", "name": "第二中心", "location": {"lon": 112.1, "lat": 35.1}});
    let (status, _) = server.call(Method::POST, Some(&planner), "/v1/stations", Some(&second_root)).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn special_values_are_refused_not_crashed_on(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let admin = server.login("admin").await;
    let station: Uuid = sqlx::query_scalar("SELECT id FROM stations WHERE level = 'regional' ORDER BY code LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let central: Uuid =
        sqlx::query_scalar("SELECT id FROM stations WHERE level = 'central'").fetch_one(&pool).await.unwrap();
    let before = footprint(&pool).await;
    // A client-made id that is already taken.
    let (status, body) = server.call(Method::POST, Some(&planner), "/v1/stations",
        Some(&json!({"id": station, "parent_id": central, "level": "point", "code": "dup-id", "name": "重复", "location": {"lon": 112.1, "lat": 35.1}}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["details"]["field"], "id");
    // NUL characters, where PostgreSQL cannot store them.
    let (status, body) = server.login_full("rep\u{0}01", "fieldvisit").await;
    assert!(status.is_client_error(), "{status} {body}");
    let (status, body) = server.call(Method::POST, Some(&planner), "/v1/places", Some(&json!({"type": "Feature",
        "geometry": {"type": "Point", "coordinates": [112.1, 35.1]},
        "properties": {"kind": "enterprise", "name": "零字节", "station_id": station, "attributes": {"a": "x\u{0}y"}}}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = server.get(&planner, "/v1/places?q=%00").await;
    assert!(status.is_client_error() || status.is_success());
    // A phone the column would refuse is refused by name.
    let (status, body) = server.call(Method::POST, Some(&admin), "/v1/people",
        Some(&json!({"name": "王五", "username": "wangwu", "password": "password1", "role": "planner", "phone": "-12345"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"]["field"], "phone");
    // A missing field is named.
    let (status, body) = server
        .call(
            Method::POST,
            Some(&planner),
            "/v1/stations",
            Some(&json!({"level": "point", "code": "x1", "location": {"lon": 1, "lat": 1}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"]["field"], "name");
    assert_eq!(footprint(&pool).await, before);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn bad_query_parameters_are_400s(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    for path in [
        "/v1/places?limit=0",
        "/v1/places?limit=abc",
        "/v1/places?kind=castle",
        "/v1/places?bbox=1,2,3",
        "/v1/places?crs=mars",
        "/v1/people?role=king",
        "/v1/stations?after=not-a-uuid",
        "/v1/assignments?current=maybe",
        "/v1/places/not-a-uuid",
    ] {
        let (status, body) = server.get(&planner, path).await;
        assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND, "{path}: {status} {body}");
        if status == StatusCode::BAD_REQUEST {
            error_code(&body);
        }
    }
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn query_parameters_an_endpoint_does_not_take_are_refused(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let station: Uuid = sqlx::query_scalar("SELECT id FROM stations WHERE level = 'regional' ORDER BY code LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let place = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [112.30, 35.10]},
        "properties": {"kind": "enterprise", "name": "火星坐标厂", "station_id": station}});
    let before = footprint(&pool).await;
    // Written the way reads take `crs`: ignored, it stored GCJ-02 as WGS84, about 560 m off.
    let (status, body) = server.call(Method::POST, Some(&planner), "/v1/places?crs=gcj02", Some(&place)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), "invalid_parameter");
    assert_eq!(body["error"]["details"]["field"], "crs");
    assert!(body["error"]["message"].as_str().unwrap().contains("crs"), "{body}");
    assert_eq!(footprint(&pool).await, before, "the refused write wrote nothing");

    // On a list, next to parameters it does take: the unknown ones are named.
    let (status, body) = server.get(&planner, "/v1/places?limit=2&colour=red&crs=gcj02&size=9").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), "invalid_parameter");
    assert_eq!(body["error"]["details"]["field"], "colour");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("colour") && message.contains("size") && message.contains("takes: "), "{message}");
    let (status, body) = server.get(&planner, &format!("/v1/stations/{station}?verbose=1")).await;
    assert_eq!(
        (status, body["error"]["details"]["field"].clone()),
        (StatusCode::BAD_REQUEST, json!("verbose")),
        "{body}"
    );

    // The parameters each endpoint takes still work.
    let (status, body) = server.get(&planner, "/v1/places?crs=gcj02&limit=2&kind=enterprise").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["features"].as_array().unwrap().len(), 2);
    let (status, body) = server.get(&planner, &format!("/v1/stations/{station}?crs=bd09")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // And the body's own `crs` is how a write names its system.
    let mut gcj = place.clone();
    gcj["crs"] = json!("gcj02");
    let (status, body) = server.call(Method::POST, Some(&planner), "/v1/places", Some(&gcj)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn text_the_database_cannot_store_is_refused_at_the_edge_in_our_words(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let database_words = ["invalid byte sequence", "UTF8", "0x00", "unsupported Unicode", "cannot be converted"];
    let ours = |body: &Value| {
        let message = body["error"]["message"].as_str().unwrap_or_default();
        !message.is_empty() && !database_words.iter().any(|w| message.contains(w))
    };
    // Query and path: NUL, another control character, and bytes that are not UTF-8.
    for (path, field) in [
        ("/v1/people?q=%00x", "q"),
        ("/v1/people?q=a%07b", "q"),
        ("/v1/people?q=%FFx", "q"),
        ("/v1/places?q=%C3%28", "q"),
        ("/v1/places/%00", "id"),
        ("/v1/check-ins/%FF", "id"),
    ] {
        let (status, body) = server.get(&planner, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(error_code(&body), "invalid_parameter", "{path}");
        assert_eq!(body["error"]["details"]["field"], field, "{path}: {body}");
        assert!(ours(&body), "{path}: {body}");
    }
    // A NUL deep in a JSON body (attributes are stored as jsonb, which refuses it).
    let station: Uuid = sqlx::query_scalar("SELECT id FROM stations WHERE level = 'regional' ORDER BY code LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let before = footprint(&pool).await;
    let (status, body) = server.call(Method::POST, Some(&planner), "/v1/places", Some(&json!({"type": "Feature",
        "geometry": {"type": "Point", "coordinates": [112.1, 35.1]},
        "properties": {"kind": "enterprise", "name": "零字节", "station_id": station, "attributes": {"notes": ["fine", "x\u{0}y"]}}}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"]["field"], "properties.attributes.notes[1]");
    assert!(ours(&body), "{body}");
    // An escaped backslash before `u0000` is plain text, and stored.
    let (status, body) = server.call_raw(Method::POST, Some(&planner), "/v1/places", "application/json", format!(
        r#"{{"type": "Feature", "geometry": {{"type": "Point", "coordinates": [112.1, 35.1]}}, "properties": {{"kind": "enterprise", "name": "反斜杠\\u0000", "station_id": "{station}"}}}}"#
    ).into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["properties"]["name"], "反斜杠\\u0000");
    let mut after = footprint(&pool).await;
    // The one valid place: a row, its audit event, its version 1.
    for i in [2, 4, 6] {
        after[i] -= 1;
    }
    assert_eq!(after, before, "only the valid place was written");

    // In a push, a NUL in a mutation's args rejects that mutation alone, in our words; the batch goes on.
    let (rep, place): (String, Uuid) = sqlx::query_as(
        "SELECT p.username, a.place_id FROM people p JOIN assignments a ON a.person_id = p.id WHERE p.username = 'rep003' ORDER BY a.place_id LIMIT 1",
    ).fetch_one(&pool).await.unwrap();
    let (lon, lat): (f64, f64) =
        sqlx::query_as("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM places WHERE id = $1")
            .bind(place)
            .fetch_one(&pool)
            .await
            .unwrap();
    let token = server.login(&rep).await;
    let device_time = chrono::Utc::now().to_rfc3339();
    let checkin = |note: &str| {
        json!({"id": Uuid::now_v7(), "place_id": place, "position": {"lon": lon, "lat": lat, "crs": "wgs84"},
        "accuracy_m": 10.0, "device_time": device_time, "note": note})
    };
    let push = json!({"client_id": Uuid::now_v7(), "schema_version": 1, "mutations": [
        {"id": 1, "name": "checkin.create.v1", "args": checkin("门口\u{0}")},
        {"id": 2, "name": "checkin.create.v1", "args": checkin("门口")}]});
    let (status, body) = server.call(Method::POST, Some(&token), "/v1/sync/push", Some(&push)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0]["status"], "rejected", "{body}");
    let reason = body["results"][0]["reason"].as_str().unwrap();
    assert!(!database_words.iter().any(|w| reason.contains(w)) && reason.contains("NUL"), "{reason}");
    assert_eq!(body["results"][1]["status"], "applied", "{body}");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_bad_limit_is_the_same_400_everywhere(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let client = Uuid::now_v7();
    for path in [
        format!("/v1/sync/pull?client_id={client}&limit=0"),
        format!("/v1/sync/pull?client_id={client}&limit=1001"),
        "/v1/places?limit=0".into(),
        "/v1/people?limit=501".into(),
        "/v1/check-ins?limit=-1".into(),
        "/v1/findings?limit=0".into(),
    ] {
        let (status, body) = server.get(&planner, &path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(error_code(&body), "invalid_parameter", "{path}");
        assert_eq!(body["error"]["details"]["field"], "limit", "{path}");
    }
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn heads_too_large_for_the_server_get_the_json_error_body(pool: PgPool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::in_process(&pool).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let raw = |head: Vec<u8>| {
        let addr = addr.clone();
        async move {
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            stream.write_all(&head).await.unwrap();
            let mut answer = Vec::new();
            tokio::time::timeout(std::time::Duration::from_secs(30), stream.read_to_end(&mut answer))
                .await
                .expect("an answer")
                .unwrap();
            let answer = String::from_utf8(answer).unwrap();
            let (head, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head: {answer}"));
            (head.to_owned(), serde_json::from_str::<Value>(body).unwrap_or_else(|_| panic!("not JSON: {answer}")))
        }
    };
    // Over the 64 KB the `http` crate allows in a URI: hyper answers before any route.
    let long = format!("GET /v1/places?q={} HTTP/1.1\r\nhost: {addr}\r\n\r\n", "a".repeat(70_000));
    let (head, body) = raw(long.into_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 414 "), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(error_code(&body), "uri_too_long");
    // Headers beyond the read buffer, and a request line that is not HTTP.
    let (head, body) =
        raw(format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\nx-filler: {}\r\n\r\n", "a".repeat(500_000)).into_bytes())
            .await;
    assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
    assert_eq!(error_code(&body), "headers_too_large");
    let (head, body) = raw(b"GE T /healthz HTTP/1.1\r\n\r\n".to_vec()).await;
    assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
    assert_eq!(error_code(&body), "bad_request");
    // A long URL under the limit reaches the router as usual.
    let planner = server.login("planner").await;
    let (status, body) = server.get(&planner, &format!("/v1/places?q={}", "x".repeat(20_000))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[sqlx::test(migrations = false)]
async fn database_data_exceptions_are_told_in_our_words(pool: PgPool) {
    use fieldvisit::error::ApiError;
    // What still reaches the database's data checks: each is a 422 without the database's text.
    for (sql, database_text) in [
        ("SELECT 2147483647::int4 + 1", "integer out of range"),
        ("SELECT '294277-01-02'::date::timestamptz", "out of range"),
        ("SELECT convert_from('\\x00'::bytea, 'UTF8')", "invalid byte sequence"),
        ("SELECT 'abc'::int4", "invalid input syntax"),
        ("SELECT 1 / 0", "division by zero"),
    ] {
        let e = sqlx::query(sql).execute(&pool).await.expect_err(sql);
        assert!(e.to_string().contains(database_text), "{sql}: {e}");
        let answer = ApiError::from(e);
        assert_eq!(answer.status_code(), StatusCode::UNPROCESSABLE_ENTITY, "{sql}");
        let message = answer.to_string();
        assert!(!message.contains(database_text) && !message.is_empty(), "{sql}: {message}");
    }
}
