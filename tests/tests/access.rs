//! The access policy, role by role and resource by resource, including
//! records of another station, which must answer exactly like records that
//! do not exist.

use fieldvisit_tests::{Server, error_code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// The demo's cast for the matrix: a representative of a regional station, the
/// staff of that station and of another regional station, the central station's
/// staff (whose subtree is the whole tree), and the township roles.
struct Cast {
    own_station: Uuid,
    other_station: Uuid,
    own_place: Uuid,
    other_place: Uuid,
    own_rep: Uuid,
    other_rep: Uuid,
    own_assignment: Uuid,
    other_assignment: Uuid,
    tokens: Vec<(&'static str, String)>,
}

async fn cast(server: &Server, pool: &PgPool) -> Cast {
    let (own_rep, own_station, rep_username): (Uuid, Uuid, String) = sqlx::query_as(
        "SELECT p.id, p.station_id, p.username FROM people p JOIN stations s ON s.id = p.station_id
         WHERE p.role = 'representative' AND s.level = 'regional' ORDER BY p.username LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let (other_station, other_staff): (Uuid, String) = sqlx::query_as(
        "SELECT s.id, p.username FROM stations s JOIN people p ON p.station_id = s.id AND p.role = 'station_staff'
         WHERE s.level = 'regional' AND s.id <> $1 ORDER BY s.code LIMIT 1",
    )
    .bind(own_station)
    .fetch_one(pool)
    .await
    .unwrap();
    let own_staff: String =
        sqlx::query_scalar("SELECT username FROM people WHERE role = 'station_staff' AND station_id = $1")
            .bind(own_station)
            .fetch_one(pool)
            .await
            .unwrap();
    let central_staff: String = sqlx::query_scalar(
        "SELECT p.username FROM people p JOIN stations s ON s.id = p.station_id WHERE s.level = 'central' AND p.role = 'station_staff'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let place_in = |station: Uuid| {
        sqlx::query_scalar::<_, Uuid>("SELECT id FROM places WHERE station_id = $1 ORDER BY id LIMIT 1")
            .bind(station)
            .fetch_one(pool)
    };
    let own_place = place_in(own_station).await.unwrap();
    let other_place = place_in(other_station).await.unwrap();
    let (other_rep, other_assignment): (Uuid, Uuid) = sqlx::query_as(
        "SELECT a.person_id, a.id FROM assignments a JOIN people p ON p.id = a.person_id WHERE p.station_id = $1 ORDER BY a.id LIMIT 1",
    )
    .bind(other_station)
    .fetch_one(pool)
    .await
    .unwrap();
    let own_assignment: Uuid =
        sqlx::query_scalar("SELECT id FROM assignments WHERE person_id = $1 ORDER BY id LIMIT 1")
            .bind(own_rep)
            .fetch_one(pool)
            .await
            .unwrap();
    let mut tokens = Vec::new();
    for (label, username) in [
        ("rep", rep_username),
        ("own_staff", own_staff),
        ("other_staff", other_staff),
        ("central_staff", central_staff),
        ("planner", "planner".to_owned()),
        ("presidium", "presidium".to_owned()),
        ("admin", "admin".to_owned()),
    ] {
        tokens.push((label, server.login(&username).await));
    }
    Cast {
        own_station,
        other_station,
        own_place,
        other_place,
        own_rep,
        other_rep,
        own_assignment,
        other_assignment,
        tokens,
    }
}

/// Runs one request per role and compares the statuses with `expected`
/// (in the order rep, own_staff, other_staff, central_staff, planner, presidium, admin).
async fn check(server: &Server, cast: &Cast, method: Method, path: &str, body: Option<&Value>, expected: [u16; 7]) {
    let mut got = Vec::new();
    for ((label, token), want) in cast.tokens.iter().zip(expected) {
        let (status, answer) = server.call(method.clone(), Some(token), path, body).await;
        if status.as_u16() != want {
            got.push(format!("{label}: {status} (wanted {want}) {answer}"));
        }
        if status == StatusCode::NOT_FOUND {
            // Out of scope reads exactly like absent: same code, same message.
            let (_, absent) = server
                .call(Method::GET, Some(token), &path.replace(&last_id(path), &Uuid::nil().to_string()), None)
                .await;
            assert_eq!(answer, absent, "{label} {method} {path}: a 404 must not differ from a missing record");
        }
        if status == StatusCode::FORBIDDEN {
            assert_eq!(error_code(&answer), "forbidden");
        }
    }
    assert!(got.is_empty(), "{method} {path}:\n{}", got.join("\n"));
}

fn last_id(path: &str) -> String {
    path.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned()
}

const ALL: [u16; 7] = [200; 7];

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn reads_follow_the_station_tree(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&server, &pool).await;
    //                                                        rep  own  oth  cen  pla  pre  adm
    check(&server, &c, Method::GET, &format!("/v1/places/{}", c.own_place), None, [200, 200, 404, 200, 200, 200, 200])
        .await;
    check(
        &server,
        &c,
        Method::GET,
        &format!("/v1/places/{}", c.other_place),
        None,
        [404, 404, 200, 200, 200, 200, 200],
    )
    .await;
    check(&server, &c, Method::GET, &format!("/v1/people/{}", c.own_rep), None, [200, 200, 404, 200, 200, 200, 200])
        .await;
    check(&server, &c, Method::GET, &format!("/v1/people/{}", c.other_rep), None, [404, 404, 200, 200, 200, 200, 200])
        .await;
    check(
        &server,
        &c,
        Method::GET,
        &format!("/v1/assignments/{}", c.own_assignment),
        None,
        [200, 200, 404, 200, 200, 200, 200],
    )
    .await;
    check(
        &server,
        &c,
        Method::GET,
        &format!("/v1/assignments/{}", c.other_assignment),
        None,
        [404, 404, 200, 200, 200, 200, 200],
    )
    .await;
    // The station tree is reference data: everybody reads all of it.
    check(&server, &c, Method::GET, &format!("/v1/stations/{}", c.other_station), None, ALL).await;
    check(&server, &c, Method::GET, "/v1/stations", None, ALL).await;
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn lists_hold_nothing_outside_the_scope(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&server, &pool).await;
    let token = |label: &str| c.tokens.iter().find(|(l, _)| *l == label).unwrap().1.clone();

    // A representative sees exactly their station's places.
    let (_, places) = server.get(&token("rep"), "/v1/places?limit=500").await;
    let features = places["features"].as_array().unwrap();
    let in_station: i64 = sqlx::query_scalar("SELECT count(*) FROM places WHERE station_id = $1")
        .bind(c.own_station)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(i64::try_from(features.len()).unwrap(), in_station);
    assert!(features.iter().all(|f| f["properties"]["station_id"] == c.own_station.to_string()));
    // Filtering by another station finds nothing rather than leaking it.
    let (_, other) = server.get(&token("rep"), &format!("/v1/places?station_id={}", c.other_station)).await;
    assert_eq!(other["features"].as_array().unwrap().len(), 0);

    // A representative lists only themself and their own assignments.
    let (_, people) = server.get(&token("rep"), "/v1/people").await;
    let items = people["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], c.own_rep.to_string());
    let (_, assignments) = server.get(&token("rep"), "/v1/assignments?limit=500").await;
    assert!(!assignments["items"].as_array().unwrap().is_empty());
    assert!(assignments["items"].as_array().unwrap().iter().all(|a| a["person_id"] == c.own_rep.to_string()));

    // Station staff: their station only; the central station's staff: the whole tree.
    let (_, people) = server.get(&token("own_staff"), "/v1/people?limit=500").await;
    assert!(people["items"].as_array().unwrap().iter().all(|p| p["station_id"] == c.own_station.to_string()));
    let (_, all) = server.get(&token("central_staff"), "/v1/places?limit=500").await;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM places").fetch_one(&pool).await.unwrap();
    assert_eq!(i64::try_from(all["features"].as_array().unwrap().len()).unwrap(), total);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn only_planners_edit_stations_places_and_assignments(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&server, &pool).await;
    let new_place = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [112.13, 35.15]},
        "properties": {"kind": "enterprise", "name": "测试企业", "station_id": c.own_station}});
    //                                                 rep  own  oth  cen  pla  pre  adm
    check(&server, &c, Method::POST, "/v1/places", Some(&new_place), [403, 403, 403, 403, 201, 403, 403]).await;
    let patch = json!({"properties": {"name": "改名企业"}});
    check(
        &server,
        &c,
        Method::PATCH,
        &format!("/v1/places/{}", c.own_place),
        Some(&patch),
        [403, 403, 403, 403, 200, 403, 403],
    )
    .await;
    check(
        &server,
        &c,
        Method::PATCH,
        &format!("/v1/places/{}", c.other_place),
        Some(&patch),
        [403, 403, 403, 403, 200, 403, 403],
    )
    .await;

    let new_station = json!({"parent_id": c.own_station, "level": "point", "code": "test-point", "name": "测试联络点",
        "location": {"lon": 112.13, "lat": 35.15}});
    check(&server, &c, Method::POST, "/v1/stations", Some(&new_station), [403, 403, 403, 403, 201, 403, 403]).await;
    check(
        &server,
        &c,
        Method::PATCH,
        &format!("/v1/stations/{}", c.own_station),
        Some(&json!({"name": "新站名"})),
        [403, 403, 403, 403, 200, 403, 403],
    )
    .await;
    // A station still in use cannot be deactivated, even by a planner.
    check(
        &server,
        &c,
        Method::DELETE,
        &format!("/v1/stations/{}", c.other_station),
        None,
        [403, 403, 403, 403, 409, 403, 403],
    )
    .await;

    let new_assignment = json!({"person_id": c.own_rep, "place_id": c.other_place});
    check(&server, &c, Method::POST, "/v1/assignments", Some(&new_assignment), [403, 403, 403, 403, 201, 403, 403])
        .await;
    check(
        &server,
        &c,
        Method::PATCH,
        &format!("/v1/assignments/{}", c.other_assignment),
        Some(&json!({"locked": true})),
        [403, 403, 403, 403, 200, 403, 403],
    )
    .await;
    check(
        &server,
        &c,
        Method::DELETE,
        &format!("/v1/assignments/{}", c.other_assignment),
        None,
        [403, 403, 403, 403, 200, 403, 403],
    )
    .await;
    check(
        &server,
        &c,
        Method::DELETE,
        &format!("/v1/places/{}", c.other_place),
        None,
        [403, 403, 403, 403, 200, 403, 403],
    )
    .await;
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn only_admins_manage_people(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&server, &pool).await;
    let person = json!({"name": "新代表", "username": "rep-new", "password": "long-enough", "role": "representative",
        "station_id": c.own_station, "anchor": {"lon": 112.12, "lat": 35.14}});
    //                                                 rep  own  oth  cen  pla  pre  adm
    check(&server, &c, Method::POST, "/v1/people", Some(&person), [403, 403, 403, 403, 403, 403, 201]).await;
    check(
        &server,
        &c,
        Method::PATCH,
        &format!("/v1/people/{}", c.other_rep),
        Some(&json!({"visit_capacity": 3})),
        // Planners set capacities and anchors, which the nearby rule reads.
        [403, 403, 403, 403, 200, 403, 200],
    )
    .await;
    check(
        &server,
        &c,
        Method::PATCH,
        &format!("/v1/people/{}", c.other_rep),
        Some(&json!({"role": "station_staff"})),
        [403, 403, 403, 403, 403, 403, 200],
    )
    .await;
    check(
        &server,
        &c,
        Method::DELETE,
        &format!("/v1/people/{}", c.other_rep),
        None,
        [403, 403, 403, 403, 403, 403, 200],
    )
    .await;
    // The new person can sign in with the password the admin set.
    let (status, _) = server.login_full("rep-new", "long-enough").await;
    assert_eq!(status, StatusCode::OK);
}
