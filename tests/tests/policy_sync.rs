//! Sync and REST agree, role by role and entity by entity: what a device
//! receives through a bootstrap pull is exactly what the same person may read
//! through REST (both are derived from the one policy table). Findings carry
//! citizens' complaints: a representative receives their own, not their
//! station's.

use std::collections::{BTreeMap, BTreeSet};

use fieldvisit_tests::Server;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

type Seen = BTreeMap<String, BTreeSet<Uuid>>;

/// Every record a fresh device of the signed-in person ends up holding, by entity.
async fn pulled(server: &Server, token: &str) -> Seen {
    let client = Uuid::now_v7();
    let mut cursor: Option<String> = None;
    // The last operation per bucket: a record is held while any bucket holds it.
    let mut held: BTreeMap<(String, Uuid), BTreeMap<String, bool>> = BTreeMap::new();
    loop {
        let mut path = format!("/v1/sync/pull?client_id={client}&limit=1000&schema_version=1");
        if let Some(c) = &cursor {
            path.push_str("&cursor=");
            path.push_str(c);
        }
        let (status, page) = server.get(token, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for c in page["changes"].as_array().unwrap() {
            let key = (c["entity"].as_str().unwrap().to_owned(), c["id"].as_str().unwrap().parse().unwrap());
            held.entry(key).or_default().insert(c["bucket"].as_str().unwrap().to_owned(), c["op"] == "upsert");
        }
        cursor = Some(page["cursor"].as_str().unwrap().to_owned());
        if page["has_more"] == false {
            break;
        }
    }
    let mut seen = Seen::new();
    for ((entity, id), buckets) in held {
        if buckets.values().any(|upsert| *upsert) {
            seen.entry(entity).or_default().insert(id);
        }
    }
    seen
}

/// Every id a REST list answers, through all its pages.
async fn listed(server: &Server, token: &str, path: &str) -> BTreeSet<Uuid> {
    let mut ids = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}limit=500");
        if let Some(a) = &after {
            url.push_str("&after=");
            url.push_str(a);
        }
        let (status, page) = server.get(token, &url).await;
        assert_eq!(status, StatusCode::OK, "{url}: {page}");
        // Places come as a GeoJSON FeatureCollection, the rest as pages of items.
        let items = page.get("features").unwrap_or(&page["items"]);
        for item in items.as_array().unwrap() {
            ids.insert(item["id"].as_str().unwrap().parse().unwrap());
        }
        match page["next_after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => return ids,
        }
    }
}

/// A finding with a photo declared on it, filed by `username` at one of their places.
async fn finding_with_photo(server: &Server, pool: &PgPool, username: &str) -> (Uuid, Uuid) {
    let token = server.login(username).await;
    let place: Uuid = sqlx::query_scalar(
        "SELECT a.place_id FROM assignments a JOIN people p ON p.id = a.person_id WHERE p.username = $1 ORDER BY a.place_id LIMIT 1",
    )
    .bind(username)
    .fetch_one(pool)
    .await
    .unwrap();
    let (finding, photo) = (Uuid::now_v7(), Uuid::now_v7());
    let bytes = format!("photo of {username}");
    let body = json!({"client_id": Uuid::now_v7(), "schema_version": 1, "mutations": [
        {"id": 1, "name": "finding.create.v1", "args": {"id": finding, "place_id": place, "category": "water",
            "description": format!("{username}: 村里停水三天"), "severity": "medium"}},
        {"id": 2, "name": "photo.declare.v1", "args": {"id": photo, "sha256": hex::encode(Sha256::digest(bytes.as_bytes())),
            "size": bytes.len(), "mime": "image/jpeg", "attached_to": {"finding": finding}}}]});
    let (status, res) = server.call(Method::POST, Some(&token), "/v1/sync/push", Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert!(res["results"].as_array().unwrap().iter().all(|r| r["status"] == "applied"), "{res}");
    (finding, photo)
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn every_role_receives_through_sync_exactly_what_rest_shows_it(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    // Two representatives of one regional station, each with a finding and a photo.
    let (station, a, b): (Uuid, String, String) = sqlx::query_as(
        "SELECT p.station_id, min(p.username), max(p.username) FROM people p JOIN stations s ON s.id = p.station_id
         WHERE p.role = 'representative' AND s.level = 'regional' GROUP BY p.station_id ORDER BY p.station_id LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let (a_finding, a_photo) = finding_with_photo(&server, &pool, &a).await;
    let (b_finding, b_photo) = finding_with_photo(&server, &pool, &b).await;
    let own_staff: String =
        sqlx::query_scalar("SELECT username FROM people WHERE role = 'station_staff' AND station_id = $1")
            .bind(station)
            .fetch_one(&pool)
            .await
            .unwrap();
    let other_staff: String = sqlx::query_scalar(
        "SELECT p.username FROM people p JOIN stations s ON s.id = p.station_id
         WHERE p.role = 'station_staff' AND s.level = 'regional' AND s.id <> $1 ORDER BY p.username LIMIT 1",
    )
    .bind(station)
    .fetch_one(&pool)
    .await
    .unwrap();
    let all_photos: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM photos ORDER BY id").fetch_all(&pool).await.unwrap();
    // An issue raised from `a`'s finding: it travels to `a` and to the station's readers.
    let staff_token = server.login(&own_staff).await;
    let (status, created) =
        server.call(Method::POST, Some(&staff_token), "/v1/issues", Some(&json!({"finding_ids": [a_finding]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");

    fieldvisit_tests::wait_for_pull_horizon(&pool).await;
    let mut by_role: BTreeMap<String, Seen> = BTreeMap::new();
    for username in [a.as_str(), own_staff.as_str(), other_staff.as_str(), "staff01", "planner", "presidium", "admin"] {
        let token = server.login(username).await;
        let seen = pulled(&server, &token).await;
        let got = |entity: &str| seen.get(entity).cloned().unwrap_or_default();
        assert_eq!(got("place"), listed(&server, &token, "/v1/places?active=true").await, "{username}: places");
        assert_eq!(got("assignment"), listed(&server, &token, "/v1/assignments").await, "{username}: assignments");
        assert_eq!(got("check_in"), listed(&server, &token, "/v1/check-ins").await, "{username}: check-ins");
        assert_eq!(got("finding"), listed(&server, &token, "/v1/findings").await, "{username}: findings");
        assert_eq!(got("issue"), listed(&server, &token, "/v1/issues").await, "{username}: issues");
        assert!(!got("department").is_empty(), "{username}: the departments are reference data");
        // Photos have no list: each one is readable through REST exactly when it was received.
        for photo in &all_photos {
            let (status, _) = server.get(&token, &format!("/v1/photos/{photo}")).await;
            assert_eq!(
                status == StatusCode::OK,
                got("photo").contains(photo),
                "{username}: photo {photo} answered {status}"
            );
        }
        assert!(!got("place").is_empty() && !got("station").is_empty(), "{username} received nothing: {seen:?}");
        by_role.insert(username.to_owned(), seen);
    }

    // What that means for the people involved.
    let rep = &by_role[&a];
    assert!(
        rep["finding"].contains(&a_finding) && !rep["finding"].contains(&b_finding),
        "a representative receives only their own findings"
    );
    assert!(rep["photo"].contains(&a_photo) && !rep["photo"].contains(&b_photo));
    let rep_id: Uuid =
        sqlx::query_scalar("SELECT id FROM people WHERE username = $1").bind(&a).fetch_one(&pool).await.unwrap();
    let theirs: BTreeSet<Uuid> = sqlx::query_scalar("SELECT id FROM assignments WHERE person_id = $1")
        .bind(rep_id)
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(rep["assignment"], theirs, "and only their own assignments");
    let staff = &by_role[&own_staff];
    assert!(
        staff["finding"].contains(&a_finding) && staff["finding"].contains(&b_finding),
        "their station's staff receive both"
    );
    assert!(staff["photo"].contains(&a_photo) && staff["photo"].contains(&b_photo));
    let other = by_role[&other_staff].get("finding").cloned().unwrap_or_default();
    assert!(!other.contains(&a_finding) && !other.contains(&b_finding), "another station's staff receive neither");
    let presidium = &by_role["presidium"];
    assert!(presidium["finding"].contains(&a_finding) && presidium["photo"].contains(&b_photo));
}

/// The buckets themselves: a representative carries the reference data,
/// their own records and their station's places, and nothing station-wide
/// of anyone else's.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_representative_carries_their_stations_places_and_their_own_records_only(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let token = server.login("rep010").await;
    let (person, station): (Uuid, Uuid) =
        sqlx::query_as("SELECT id, station_id FROM people WHERE username = 'rep010'").fetch_one(&pool).await.unwrap();
    let client = Uuid::now_v7();
    let (status, first) =
        server.get(&token, &format!("/v1/sync/pull?client_id={client}&limit=5&schema_version=1")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let buckets: Vec<String> =
        first["buckets"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(buckets, ["ref".to_owned(), format!("rep:{person}"), format!("places:{station}")]);
}
