//! The visit-coverage map's data as its users meet it: statuses at the month's
//! edges (Asia/Shanghai), assignments that start or end mid-month, review
//! decisions; the GeoJSON and its totals within each role's reach; the vector
//! tiles decoded, layer by layer and role by role, with their caching headers.

use std::collections::{HashMap, HashSet};

use fieldvisit_tests::{Server, error_code};
use mvt_reader::Reader;
use mvt_reader::feature::Value as MvtValue;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

fn now_device() -> String {
    chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).to_rfc3339()
}

/// A representative's check-in at a point well inside `place`, at `device_time`.
async fn check_in(server: &Server, pool: &PgPool, token: &str, place: Uuid, device_time: &str, far: bool) -> Value {
    let (lon, lat): (f64, f64) =
        sqlx::query_as("SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM places WHERE id = $1")
            .bind(place)
            .fetch_one(pool)
            .await
            .unwrap();
    // Far: some 5 km north, outside any geofence of the place.
    let lat = if far { lat + 0.05 } else { lat };
    let mutation = json!({"id": 1, "name": "checkin.create.v1", "args": {"id": Uuid::now_v7(), "place_id": place,
        "position": {"lon": lon, "lat": lat, "crs": "wgs84"}, "accuracy_m": 10.0, "device_time": device_time,
        "mock_location": false}});
    let body =
        json!({"client_id": Uuid::now_v7(), "schema_version": 1, "client_time": now_device(), "mutations": [mutation]});
    let (status, res) = server.call(Method::POST, Some(token), "/v1/sync/push", Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    res["results"][0]["data"].clone()
}

async fn review(server: &Server, staff: &str, check_in: &Value, decision: &str) {
    let id = check_in["id"].as_str().unwrap();
    let (status, body) = server
        .call(Method::POST, Some(staff), &format!("/v1/check-ins/{id}/review"), Some(&json!({"decision": decision})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Each place's status in `month`, as `/v1/coverage` says.
async fn statuses(server: &Server, token: &str, month: &str) -> HashMap<Uuid, String> {
    let (status, body) = server.get(token, &format!("/v1/coverage?month={month}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap().parse().unwrap(), f["properties"]["status"].as_str().unwrap().to_owned()))
        .collect()
}

/// The places assigned to `username`, in id order.
async fn places_of(pool: &PgPool, username: &str) -> Vec<Uuid> {
    sqlx::query_scalar(
        "SELECT a.place_id FROM assignments a JOIN people p ON p.id = a.person_id WHERE p.username = $1 ORDER BY a.place_id",
    )
    .bind(username)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn statuses_follow_the_months_edges_mid_month_assignments_and_reviews(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    sqlx::query("DELETE FROM findings").execute(&pool).await.unwrap();
    sqlx::query("DELETE FROM check_ins").execute(&pool).await.unwrap();
    // A representative of 东阳 with two places or more, and 东阳's staff.
    let username: String = sqlx::query_scalar(
        "SELECT p.username FROM people p JOIN stations s ON s.id = p.station_id JOIN assignments a ON a.person_id = p.id
         WHERE s.code = 'dongyang' GROUP BY p.username HAVING count(*) >= 2 ORDER BY p.username LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let rep = server.login(&username).await;
    let staff = server.login("staff02").await;
    let planner = server.login("planner").await;
    let mine = places_of(&pool, &username).await;
    let (a, b) = (mine[0], mine[1]);

    // 23:59 on 31 October in Shanghai is October; 00:01 on 1 November is November. Pushed a
    // month late, both wait for a review; the station's staff accept them.
    let late_october = check_in(&server, &pool, &rep, a, "2026-10-31T23:59:00+08:00", false).await;
    let early_november = check_in(&server, &pool, &rep, b, "2026-11-01T00:01:00+08:00", false).await;
    assert_eq!(late_october["month"], "2026-10");
    assert_eq!(early_november["month"], "2026-11");
    let october = statuses(&server, &planner, "2026-10").await;
    assert_eq!(october[&a], "overdue", "not counted before its review");
    review(&server, &staff, &late_october, "accepted").await;
    review(&server, &staff, &early_november, "accepted").await;
    let october = statuses(&server, &planner, "2026-10").await;
    let november = statuses(&server, &planner, "2026-11").await;
    assert_eq!((october[&a].as_str(), october[&b].as_str()), ("visited", "overdue"));
    assert_eq!((november[&a].as_str(), november[&b].as_str()), ("overdue", "visited"));
    // Every other place of the township: overdue in both closed months, nobody visited.
    assert!(october.iter().filter(|(p, _)| **p != a).all(|(_, s)| s == "overdue"));

    // A check-in outside the geofence does not count until a review accepts it.
    let outside = check_in(&server, &pool, &rep, b, "2026-10-15T10:00:00+08:00", true).await;
    assert_ne!(outside["verdict"], "verified", "{outside}");
    assert_eq!(statuses(&server, &planner, "2026-10").await[&b], "overdue");
    review(&server, &staff, &outside, "accepted").await;
    assert_eq!(statuses(&server, &planner, "2026-10").await[&b], "visited");

    // This month: a verified check-in covers the place, until a review rejects it.
    let now = check_in(&server, &pool, &rep, a, &now_device(), false).await;
    assert_eq!(now["verdict"], "verified", "{now}");
    let this_month = now["month"].as_str().unwrap().to_owned();
    let current = statuses(&server, &planner, &this_month).await;
    assert_eq!(current[&a], "visited");
    assert_eq!(current[&b], "due", "the month still runs");
    review(&server, &staff, &now, "rejected").await;
    assert_eq!(statuses(&server, &planner, &this_month).await[&a], "due");

    // A place whose assignments end on 15 October: assigned (overdue) in October,
    // unassigned in November; one that starts on 20 November makes it assigned again.
    let c: Uuid = sqlx::query_scalar(
        "SELECT place_id FROM assignments WHERE place_id <> ALL($1) GROUP BY place_id ORDER BY place_id LIMIT 1",
    )
    .bind(&mine)
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE assignments SET valid_to = '2026-10-15' WHERE place_id = $1")
        .bind(c)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(statuses(&server, &planner, "2026-10").await[&c], "overdue");
    assert_eq!(statuses(&server, &planner, "2026-11").await[&c], "unassigned");
    let person: Uuid =
        sqlx::query_scalar("SELECT id FROM people WHERE username = 'rep013'").fetch_one(&pool).await.unwrap();
    let (status, body) = server
        .call(
            Method::POST,
            Some(&planner),
            "/v1/assignments",
            Some(&json!({"person_id": person, "place_id": c, "valid_from": "2026-11-20"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(statuses(&server, &planner, "2026-11").await[&c], "overdue");

    // The per-assignment view reads the same rule: the representative's October.
    let (_, visits) = server.get(&rep, "/v1/visits/status?month=2026-10").await;
    let entry = visits["entries"].as_array().unwrap().iter().find(|e| e["place_id"] == a.to_string()).unwrap();
    assert_eq!(entry["status"], "visited");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_geojson_keeps_to_each_roles_reach_with_totals_and_trend(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let (status, all) = server.get(&planner, "/v1/coverage?month=2026-11").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["type"], "FeatureCollection");
    assert_eq!(all["closed"], true);
    let active: i64 = sqlx::query_scalar("SELECT count(*) FROM places WHERE active").fetch_one(&pool).await.unwrap();
    assert_eq!(all["features"].as_array().unwrap().len(), usize::try_from(active).unwrap());
    assert_eq!(all["totals"]["places"], active);
    let sum: u64 = all["stations"].as_array().unwrap().iter().map(|s| s["places"].as_u64().unwrap()).sum();
    assert_eq!(sum, u64::try_from(active).unwrap());
    let f = &all["features"][0]["properties"];
    for key in ["name", "kind", "station_name", "status", "visits", "last_visit_at", "assigned", "open_issues"] {
        assert!(f.get(key).is_some(), "{key} in {f}");
    }

    // Station staff of 东阳 see their station; a representative, theirs; another station is 404.
    let (dongyang, other): (Uuid, Uuid) = sqlx::query_as(
        "SELECT (SELECT id FROM stations WHERE code = 'dongyang'), (SELECT id FROM stations WHERE code = 'yangan')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    for who in ["staff02", "rep013"] {
        let token = server.login(who).await;
        let (status, mine) = server.get(&token, "/v1/coverage?month=2026-11").await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        let stations: HashSet<&str> = mine["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["station_id"].as_str().unwrap())
            .collect();
        assert_eq!(stations, HashSet::from([dongyang.to_string().as_str()]), "{who}");
        let (status, body) = server.get(&token, &format!("/v1/coverage?station_id={other}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{who}: {body}");
    }

    // Filters: a station and a kind; GCJ-02 for AMap-based clients.
    let (_, enterprises) = server.get(&planner, &format!("/v1/coverage?station_id={dongyang}&kind=enterprise")).await;
    assert!(
        enterprises["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["properties"]["kind"] == "enterprise" && f["properties"]["station_id"] == dongyang.to_string())
    );
    let point = |body: &Value| {
        let f = body["features"].as_array().unwrap().iter().find(|f| f["geometry"]["type"] == "Point").unwrap().clone();
        (f["id"].clone(), f["geometry"]["coordinates"][0].as_f64().unwrap())
    };
    let (_, gcj) = server.get(&planner, &format!("/v1/coverage?station_id={dongyang}&kind=enterprise&crs=gcj02")).await;
    let ((id, wgs_lon), (gcj_id, gcj_lon)) = (point(&enterprises), point(&gcj));
    assert_eq!(id, gcj_id);
    assert!((gcj_lon - wgs_lon).abs() > 0.003, "GCJ-02 lies some hundreds of metres east near Jiyuan");

    // The trend: three months per station, the last one agreeing with /v1/coverage.
    let (status, trend) = server.get(&planner, "/v1/coverage/trend?months=3&month=2026-11").await;
    assert_eq!(status, StatusCode::OK, "{trend}");
    for s in trend["stations"].as_array().unwrap() {
        let months: Vec<&str> = s["months"].as_array().unwrap().iter().map(|m| m["month"].as_str().unwrap()).collect();
        assert_eq!(months, ["2026-09", "2026-10", "2026-11"]);
        let same = all["stations"].as_array().unwrap().iter().find(|t| t["station_id"] == s["station_id"]).unwrap();
        assert_eq!(s["months"][2]["visited"], same["visited"]);
        assert_eq!(s["months"][2]["coverage_rate"], same["coverage_rate"]);
    }

    // Bad input: a clear 4xx, in JSON.
    for bad in [
        "/v1/coverage?month=2026-13",
        "/v1/coverage?kind=castle",
        "/v1/coverage?station_id=nope",
        "/v1/coverage?colour=red",
        "/v1/coverage/trend?months=0",
        "/v1/coverage/trend?months=37",
    ] {
        let (status, body) = server.get(&planner, bad).await;
        assert!(status.is_client_error(), "{bad}: {status}");
        assert!(!error_code(&body).is_empty(), "{bad}: {body}");
    }
}

/// The tile at zoom `z` holding (lon, lat), Web Mercator.
fn tile_of(z: u32, lon: f64, lat: f64) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n).floor();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (x as u32, y as u32)
}

/// The layers of a tile by name, each feature's properties as strings.
fn decode(bytes: Vec<u8>) -> HashMap<String, Vec<HashMap<String, String>>> {
    let reader = Reader::new(bytes).expect("a vector tile");
    let mut out = HashMap::new();
    for (i, name) in reader.get_layer_names().unwrap().into_iter().enumerate() {
        let features = reader
            .get_features(i)
            .unwrap()
            .into_iter()
            .map(|f| {
                f.properties
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            MvtValue::String(s) => s,
                            MvtValue::Int(n) | MvtValue::SInt(n) => n.to_string(),
                            MvtValue::UInt(n) => n.to_string(),
                            other => format!("{other:?}"),
                        };
                        (k, v)
                    })
                    .collect()
            })
            .collect();
        out.insert(name, features);
    }
    out
}

async fn tile(server: &Server, token: &str, path: &str, etag: Option<&str>) -> (StatusCode, Option<String>, Vec<u8>) {
    let mut req = server.http.get(format!("{}{path}", server.base)).bearer_auth(token);
    if let Some(e) = etag {
        req = req.header("if-none-match", e);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let etag = res.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
    if status == StatusCode::OK {
        assert_eq!(res.headers()["content-type"], "application/vnd.mapbox-vector-tile");
        assert!(res.headers()["cache-control"].to_str().unwrap().contains("private"));
    }
    (status, etag, res.bytes().await.unwrap().to_vec())
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn tiles_carry_the_layers_each_role_may_see(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    // The tile at zoom 11 around the town seat, where stations meet.
    let (lon, lat): (f64, f64) =
        sqlx::query_as("SELECT ST_X(location), ST_Y(location) FROM stations WHERE level = 'central'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let (x, y) = tile_of(11, lon, lat);
    let path = format!("/v1/tiles/coverage/11/{x}/{y}.mvt?month=2026-11");
    let planner = server.login("planner").await;
    let (status, etag, bytes) = tile(&server, &planner, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let layers = decode(bytes);
    for layer in ["places", "stations", "assignments"] {
        assert!(layers.get(layer).is_some_and(|f| !f.is_empty()), "{layer} in the planner's tile: {:?}", layers.keys());
    }
    let place = &layers["places"][0];
    for key in ["id", "name", "kind", "status", "visits", "open_issues", "station_id"] {
        assert!(place.contains_key(key), "{key} in {place:?}");
    }
    assert!(
        layers["places"].iter().all(|p| ["visited", "due", "overdue", "unassigned"].contains(&p["status"].as_str()))
    );
    assert!(layers["stations"].iter().any(|s| s["name"].contains("邵原")));
    // The statuses are /v1/coverage's.
    let (_, geojson) = server.get(&planner, "/v1/coverage?month=2026-11").await;
    let status_of: HashMap<&str, &str> = geojson["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["properties"]["status"].as_str().unwrap()))
        .collect();
    for p in &layers["places"] {
        assert_eq!(status_of[p["id"].as_str()], p["status"], "{}", p["name"]);
    }

    // The same tile again with its ETag: 304, no body. A tile of open sea: 204.
    let etag = etag.expect("a strong ETag");
    assert!(etag.starts_with('"') && !etag.starts_with("W/"));
    let (status, _, body) = tile(&server, &planner, &path, Some(&etag)).await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
    let (status, _, _) = tile(&server, &planner, "/v1/tiles/coverage/11/0/0.mvt", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // A representative of 东阳, in a tile of one of 东阳's places: their station's places and
    // area only, no assignment lines.
    assert!(
        layers["places"].iter().any(|p| p["station_id"] != layers["places"][0]["station_id"]),
        "stations meet here"
    );
    let rep = server.login("rep013").await;
    let (dongyang, lon, lat): (String, f64, f64) = sqlx::query_as(
        "SELECT s.id::text, ST_X(ST_PointOnSurface(p.geom)), ST_Y(ST_PointOnSurface(p.geom))
         FROM places p JOIN stations s ON s.id = p.station_id WHERE s.code = 'dongyang' ORDER BY p.id LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let (x, y) = tile_of(11, lon, lat);
    let theirs_path = format!("/v1/tiles/coverage/11/{x}/{y}.mvt?month=2026-11");
    let (status, _, bytes) = tile(&server, &rep, &theirs_path, None).await;
    assert_eq!(status, StatusCode::OK);
    let theirs = decode(bytes);
    assert!(!theirs.contains_key("assignments"), "no assignments layer for representatives");
    assert!(!theirs["places"].is_empty());
    assert!(theirs["places"].iter().all(|p| p["station_id"] == dongyang));
    assert!(theirs["stations"].iter().all(|s| s["id"] == dongyang));
    let (_, _, bytes) = tile(&server, &planner, &theirs_path, None).await;
    assert!(decode(bytes)["places"].len() >= theirs["places"].len());
    // Station staff do not get the lines either: they are the planners'.
    let staff = server.login("staff02").await;
    let (_, _, bytes) = tile(&server, &staff, &path, None).await;
    assert!(!decode(bytes).contains_key("assignments"));

    // Bad addresses and parameters: 400 in JSON.
    for bad in [
        "/v1/tiles/coverage/23/0/0.mvt",
        "/v1/tiles/coverage/3/8/0.mvt",
        "/v1/tiles/coverage/3/0/8.mvt",
        "/v1/tiles/coverage/3/0/0.png",
        "/v1/tiles/coverage/3/0/0.mvt?month=2026-00",
        "/v1/tiles/coverage/3/0/0.mvt?scope=all",
    ] {
        let (status, body) = server.get(&planner, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(!error_code(&body).is_empty(), "{bad}: {body}");
    }
    let (status, _) = server.call(Method::GET, None, &path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// The SQL function never widens a scope it was not given: no `stations`, no features.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_tile_function_answers_nothing_without_a_scope(pool: PgPool) {
    let (lon, lat): (f64, f64) =
        sqlx::query_as("SELECT ST_X(location), ST_Y(location) FROM stations WHERE level = 'central'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let (x, y) = tile_of(11, lon, lat);
    let size = |params: Value| {
        let pool = pool.clone();
        async move {
            let bytes: Vec<u8> = sqlx::query_scalar("SELECT coverage_tile(11, $1, $2, $3::json)")
                .bind(i32::try_from(x).unwrap())
                .bind(i32::try_from(y).unwrap())
                .bind(params)
                .fetch_one(&pool)
                .await
                .unwrap();
            bytes.len()
        }
    };
    assert_eq!(size(json!({})).await, 0);
    assert_eq!(size(json!({"stations": ""})).await, 0);
    assert!(size(json!({"stations": "all"})).await > 0);
}
