//! Places as GeoJSON: coordinate systems in and out, shapes per kind, paging,
//! filters, re-import keys, and deactivation.

use fieldvisit_geodata::crs;
use fieldvisit_tests::{Server, error_code};
use geo::Coord;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

async fn regional_station(pool: &PgPool) -> Uuid {
    sqlx::query_scalar("SELECT id FROM stations WHERE level = 'regional' ORDER BY code LIMIT 1")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn enterprise(station: Uuid, lon: f64, lat: f64, crs: &str) -> Value {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "crs": crs,
        "properties": {"kind": "enterprise", "name": "邵原测试建材厂", "address": "邵原镇", "station_id": station,
            "attributes": {"industry": "building_materials"}}})
}

async fn stored_point(pool: &PgPool, id: &str) -> (f64, f64) {
    sqlx::query_as("SELECT ST_X(geom), ST_Y(geom) FROM places WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn gcj02_and_bd09_input_is_stored_as_wgs84(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let station = regional_station(&pool).await;
    // A point as AMap (GCJ-02) shows it in 邵原镇.
    let (lon, lat) = (112.137_5, 35.152_1);
    let (status, created) =
        server.call(Method::POST, Some(&planner), "/v1/places", Some(&enterprise(station, lon, lat, "gcj02"))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let (x, y) = stored_point(&pool, id).await;
    let want = crs::gcj02_to_wgs84(Coord { x: lon, y: lat });
    assert!((x - want.x).abs() < 1e-9 && (y - want.y).abs() < 1e-9, "stored ({x}, {y}), want {want:?}");
    // GCJ-02 is offset from WGS84 by a few hundred metres here; the server did convert.
    assert!((x - lon).abs() > 1e-4);

    // Read back in GCJ-02, the coordinates are the ones sent (to about 1 cm).
    let (_, back) = server.get(&planner, &format!("/v1/places/{id}?crs=gcj02")).await;
    let c = &back["geometry"]["coordinates"];
    assert!((c[0].as_f64().unwrap() - lon).abs() < 2e-7 && (c[1].as_f64().unwrap() - lat).abs() < 2e-7, "{c}");

    // Baidu (BD-09) input too.
    let mut body = enterprise(station, lon, lat, "bd09");
    body["properties"]["name"] = json!("百度坐标企业");
    let (status, created) = server.call(Method::POST, Some(&planner), "/v1/places", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (x, y) = stored_point(&pool, created["id"].as_str().unwrap()).await;
    let want = crs::bd09_to_wgs84(Coord { x: lon, y: lat });
    assert!((x - want.x).abs() < 1e-9 && (y - want.y).abs() < 1e-9);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_polygon_round_trips_and_shapes_follow_the_kind(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let station = regional_station(&pool).await;
    let ring = json!([
        [[112.10, 35.10], [112.12, 35.10], [112.12, 35.12], [112.10, 35.12], [112.10, 35.10]],
        [[112.105, 35.105], [112.105, 35.11], [112.11, 35.11], [112.11, 35.105], [112.105, 35.105]]
    ]);
    let cell = json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": ring},
        "properties": {"kind": "grid_cell", "name": "测试网格", "station_id": station, "source": "survey-2026", "external_id": "G-17"}});
    let (status, created) = server.call(Method::POST, Some(&planner), "/v1/places", Some(&cell)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["geometry"]["coordinates"], ring, "the polygon with its hole comes back as sent");
    assert_eq!(created["properties"]["external_id"], "G-17");
    let area: f64 = sqlx::query_scalar("SELECT ST_Area(geom::geography) FROM places WHERE id = $1::uuid")
        .bind(created["id"].as_str().unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
    // 0.02° × 0.02° at 35.11°N is about 1,821 m × 2,219 m; the hole is a quarter of that each way.
    assert!((area - (4.042e6 - 0.2527e6)).abs() < 0.02e6, "area {area} m²");

    // The same source and external id again is a re-import conflict.
    let (status, body) = server.call(Method::POST, Some(&planner), "/v1/places", Some(&cell)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["details"]["field"], "external_id");

    // A grid cell cannot be a point.
    let mut point_cell = cell.clone();
    point_cell["geometry"] = json!({"type": "Point", "coordinates": [112.1, 35.1]});
    point_cell["properties"]["external_id"] = json!("G-18");
    let (status, body) = server.call(Method::POST, Some(&planner), "/v1/places", Some(&point_cell)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["details"]["field"], "geometry");

    // Nor can an existing point enterprise become a grid cell without a polygon.
    let enterprise_id: Uuid =
        sqlx::query_scalar("SELECT id FROM places WHERE kind = 'enterprise' LIMIT 1").fetch_one(&pool).await.unwrap();
    let (status, _) = server
        .call(
            Method::PATCH,
            Some(&planner),
            &format!("/v1/places/{enterprise_id}"),
            Some(&json!({"properties": {"kind": "grid_cell"}})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_patch_changes_only_what_it_sends(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let id: Uuid = sqlx::query_scalar("SELECT id FROM places WHERE kind = 'grid_cell' ORDER BY id LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (_, before) = server.get(&planner, &format!("/v1/places/{id}")).await;
    let (status, after) = server
        .call(
            Method::PATCH,
            Some(&planner),
            &format!("/v1/places/{id}"),
            Some(&json!({"properties": {"name": "新名字", "address": null}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["properties"]["name"], "新名字");
    assert_eq!(after["properties"]["address"], Value::Null, "null clears");
    assert_eq!(after["geometry"], before["geometry"], "absent keeps");
    assert_eq!(after["properties"]["attributes"], before["properties"]["attributes"]);
    assert_eq!(after["properties"]["version"].as_i64().unwrap(), before["properties"]["version"].as_i64().unwrap() + 1);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE entity = 'place' AND entity_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audited, 1, "each change leaves an audit event");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn paging_walks_every_place_once(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let mut seen = std::collections::HashSet::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/places?limit=7&after={a}"),
            None => "/v1/places?limit=7".to_owned(),
        };
        let (status, page) = server.get(&planner, &path).await;
        assert_eq!(status, StatusCode::OK);
        for f in page["features"].as_array().unwrap() {
            assert!(seen.insert(f["id"].as_str().unwrap().to_owned()), "a place appeared twice");
        }
        match page["next_after"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM places").fetch_one(&pool).await.unwrap();
    assert_eq!(i64::try_from(seen.len()).unwrap(), total);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn filters_by_kind_bbox_and_text(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let (_, cells) = server.get(&planner, "/v1/places?kind=grid_cell&limit=500").await;
    assert_eq!(cells["features"].as_array().unwrap().len(), 28);
    assert!(cells["features"].as_array().unwrap().iter().all(|f| f["properties"]["kind"] == "grid_cell"));

    let bbox = [112.0, 35.05, 112.2, 35.2];
    let (_, boxed) = server
        .get(&planner, &format!("/v1/places?limit=500&bbox={},{},{},{}", bbox[0], bbox[1], bbox[2], bbox[3]))
        .await;
    let want: i64 =
        sqlx::query_scalar("SELECT count(*) FROM places WHERE geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)")
            .bind(bbox[0])
            .bind(bbox[1])
            .bind(bbox[2])
            .bind(bbox[3])
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(want > 0);
    assert_eq!(i64::try_from(boxed["features"].as_array().unwrap().len()).unwrap(), want);

    let (_, named) = server.get(&planner, "/v1/places?q=%E9%A3%8E%E7%94%B5").await; // 风电
    assert!(!named["features"].as_array().unwrap().is_empty());
    assert!(
        named["features"].as_array().unwrap().iter().all(|f| f["properties"]["name"]
            .as_str()
            .unwrap()
            .contains("风电")
            || f["properties"]["address"].as_str().unwrap_or_default().contains("风电"))
    );
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn deactivating_a_place_ends_its_assignments(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let place: Uuid = sqlx::query_scalar("SELECT place_id FROM assignments WHERE valid_to IS NULL LIMIT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (status, body) = server.call(Method::DELETE, Some(&planner), &format!("/v1/places/{place}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["properties"]["active"], false);
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assignments WHERE place_id = $1 AND (valid_to IS NULL OR valid_to > (now() AT TIME ZONE 'Asia/Shanghai')::date)",
    )
    .bind(place)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(open, 0);
    let (_, current) = server.get(&planner, &format!("/v1/assignments?place_id={place}&current=true")).await;
    assert!(current["items"].as_array().unwrap().is_empty());
    // Active listings leave it out; the record itself stays.
    let (_, active) = server.get(&planner, "/v1/places?active=true&limit=500").await;
    assert!(active["features"].as_array().unwrap().iter().all(|f| f["id"] != place.to_string()));
    let (status, _) = server.get(&planner, &format!("/v1/places/{place}")).await;
    assert_eq!(status, StatusCode::OK);
    // A deactivated place takes no new assignment.
    let rep: Uuid =
        sqlx::query_scalar("SELECT id FROM people WHERE username = 'rep020'").fetch_one(&pool).await.unwrap();
    let (status, body) = server
        .call(Method::POST, Some(&planner), "/v1/assignments", Some(&json!({"person_id": rep, "place_id": place})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&body), "validation_failed");
}

/// A surveyed boundary of `n` vertices around 邵原镇, as GeoJSON polygon coordinates (7
/// decimals, as a GIS exports them): valid, the radius a function of the angle, wiggling so
/// that no two neighbouring edges are collinear.
fn surveyed_boundary(n: u32) -> Value {
    let mut ring: Vec<Value> = (0..n)
        .map(|i| {
            let angle = std::f64::consts::TAU * f64::from(i) / f64::from(n);
            let radius = 0.05 * (1.0 + 0.05 * (37.0 * angle).sin() + 0.01 * (501.0 * angle).cos());
            let round = |v: f64| (v * 1e7).round() / 1e7;
            json!([round(112.15 + radius * angle.cos()), round(35.15 + radius * angle.sin())])
        })
        .collect();
    ring.push(ring[0].clone());
    json!([ring])
}

fn grid_cell(station: Uuid, external_id: &str, coordinates: &Value) -> Value {
    json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": coordinates},
        "properties": {"kind": "grid_cell", "name": "测绘网格", "station_id": station, "source": "survey-2026", "external_id": external_id}})
}

/// Imports of real boundaries send polygons of tens of thousands of vertices every day. Their
/// validation must not hold up the server: while two 45,000-vertex polygons (1.1 MB each) are
/// checked, `/healthz` keeps answering within a second, and both are stored.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn large_boundaries_do_not_hold_up_other_requests(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let station = regional_station(&pool).await;
    let imports: Vec<_> = ["B-1", "B-2"]
        .into_iter()
        .map(|external_id| {
            let body = serde_json::to_vec(&grid_cell(station, external_id, &surveyed_boundary(45_000))).unwrap();
            assert!(body.len() < 2 * 1024 * 1024, "under the body limit: {} bytes", body.len());
            let request = server
                .http
                .post(format!("{}/v1/places", server.base))
                .bearer_auth(&planner)
                .header("content-type", "application/json")
                .body(body);
            tokio::spawn(async move {
                let res = request.send().await.expect("import");
                (res.status(), res.text().await.unwrap_or_default())
            })
        })
        .collect();
    let probe = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build().unwrap();
    let mut probes = 0;
    while imports.iter().any(|import| !import.is_finished()) {
        let started = std::time::Instant::now();
        let status = probe.get(format!("{}/healthz", server.base)).send().await.map(|r| r.status());
        let took = started.elapsed();
        assert!(matches!(status, Ok(StatusCode::OK)), "{status:?}");
        // Before, validation held a runtime thread for minutes (debug build) and
        // /healthz waited with it; a few seconds of slack absorb a loaded test machine.
        assert!(took < std::time::Duration::from_secs(3), "/healthz took {took:?} while boundaries were validated");
        probes += 1;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(probes > 0, "the probe ran while the imports did");
    for import in imports {
        let (status, body) = import.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let stored: i32 = sqlx::query_scalar("SELECT max(ST_NPoints(geom)) FROM places WHERE source = 'survey-2026'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 45_001);
}

/// More positions than the server validates is a clear 422 naming the limit, before any other
/// check, and nothing is stored.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_polygon_over_the_vertex_limit_is_refused(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let station = regional_station(&pool).await;
    let limit = fieldvisit_geodata::validate::MAX_VERTICES;
    // Short coordinates, so that 100,001 positions fit in the 2 MB body.
    let mut ring: Vec<Value> =
        (0..limit).map(|i| json!([112.1 + f64::from(u32::try_from(i % 9).unwrap()) / 10.0, 35.1])).collect();
    ring.push(ring[0].clone());
    let (status, body) =
        server.call(Method::POST, Some(&planner), "/v1/places", Some(&grid_cell(station, "B-3", &json!([ring])))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "too_many_vertices");
    assert_eq!(body["error"]["details"]["field"], "geometry");
    assert!(body["error"]["message"].as_str().unwrap().contains("100001 positions; at most 100000"), "{body}");
    // At the limit, the count is no reason to refuse: this ring is refused for what it is (it
    // runs back and forth along one line).
    ring.truncate(limit - 1);
    ring.push(ring[0].clone());
    let (status, body) =
        server.call(Method::POST, Some(&planner), "/v1/places", Some(&grid_cell(station, "B-4", &json!([ring])))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_code(&body), "validation_failed", "{body}");
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM places WHERE source = 'survey-2026'").fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 0);
}
