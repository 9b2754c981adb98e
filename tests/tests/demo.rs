//! The demo township as a user meets it: its stations, people and places,
//! where they lie, and what rep001 sees after signing in.

use fieldvisit_tests::Server;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

/// The township without its year of history: enough for what these tests read.
const TOWNSHIP_ONLY: &[(&str, &str)] = &[("FIELDVISIT_DEMO_HISTORY", "none")];

/// The twelve months before this one (`YYYY-MM`): the demo's history, as a
/// demo created now has it.
fn history_months() -> Vec<String> {
    let mut m = fieldvisit_sync::month::Month::of(chrono::Utc::now());
    let mut out = Vec::new();
    for _ in 0..12 {
        m = m.previous();
        out.push(m.to_string());
    }
    out.reverse();
    out
}

#[sqlx::test(migrations = false)]
async fn the_demo_township_is_shaoyuan(pool: PgPool) {
    let server = Server::demo_with(&pool, TOWNSHIP_ONLY).await;
    let banner = server.stdout.join("\n");
    for expected in ["/docs", "admin", "planner", "presidium", "staff01", "rep001", "fieldvisit"] {
        assert!(banner.contains(expected), "the banner mentions {expected}: {banner}");
    }
    let planner = server.login("planner").await;
    let (_, stations) = server.get(&planner, "/v1/stations").await;
    let stations = stations["items"].as_array().unwrap();
    let names: Vec<&str> = stations.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(stations.len(), 6);
    assert_eq!(stations.iter().filter(|s| s["level"] == "central").count(), 1);
    assert!(names.iter().any(|n| n.contains("邵原")), "{names:?}");
    for region in ["东阳", "碌碡", "牛庄", "段凹", "阳安"] {
        assert!(names.iter().any(|n| n.contains(region)), "{region} station missing: {names:?}");
    }
    let pool = &pool;
    let count = |sql: &'static str| async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.unwrap() };
    assert_eq!(count("SELECT count(*) FROM people WHERE role = 'representative'").await, 87);
    assert_eq!(count("SELECT count(DISTINCT station_id) FROM people WHERE role = 'station_staff'").await, 6);
    assert_eq!(count("SELECT count(*) FROM places WHERE kind = 'grid_cell'").await, 28);
    assert_eq!(count("SELECT count(*) FROM places WHERE kind = 'enterprise'").await, 49);
    assert!(count("SELECT count(*) FROM places WHERE kind = 'project_site'").await >= 3);
    // The nearby rule leaves a representative idle only where their station's places have
    // all they need; in the demo that is two of 87.
    let idle =
        count("SELECT count(*) FROM people p WHERE role = 'representative' AND NOT EXISTS (SELECT FROM assignments a WHERE a.person_id = p.id)").await;
    assert!(idle <= 3, "{idle} representatives without a place");
    assert_eq!(
        count("SELECT count(*) FROM places p WHERE NOT EXISTS (SELECT FROM assignments a WHERE a.place_id = p.id)")
            .await,
        0
    );
    for n in 1..=87 {
        let (status, _) = server.login_full(&format!("rep{n:03}"), "fieldvisit").await;
        if n % 29 == 1 {
            assert_eq!(status, StatusCode::OK, "rep{n:03} signs in");
        }
    }
}

/// The demo's assignments are the nearby rule's (就近就便): the proposal the demo's planner
/// finds waiting, and a new one with the same parameters, keep every assignment and change
/// none; once a planner moves one by hand, the rule proposes to move it back.
#[sqlx::test(migrations = false)]
async fn the_demo_assignments_are_the_nearby_rules(pool: PgPool) {
    let server = Server::demo_with(&pool, TOWNSHIP_ONLY).await;
    let banner = server.stdout.join("\n");
    let id = banner
        .split("/v1/assignment-proposals/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the banner names the rule's proposal: {banner}"))
        .to_owned();
    let planner = server.login("planner").await;
    let (status, waiting) = server.get(&planner, &format!("/v1/assignment-proposals/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{waiting}");
    let in_force: i64 =
        sqlx::query_scalar("SELECT count(*) FROM assignments WHERE valid_to IS NULL").fetch_one(&pool).await.unwrap();
    assert_eq!(in_force, 148);
    let params = waiting["params"].clone();
    assert_eq!(params["needs"], serde_json::json!({"grid_cell": 3, "enterprise": 1, "project_site": 3}));
    assert_eq!(params["within_station"], true);
    let (status, fresh) = server.call(Method::POST, Some(&planner), "/v1/assignment-proposals", Some(&params)).await;
    assert_eq!(status, StatusCode::CREATED, "{fresh}");
    for proposal in [&waiting, &fresh] {
        assert_eq!(proposal["stale"], false);
        assert_eq!(proposal["diff"]["kept"], in_force, "{}", proposal["diff"]);
        assert_eq!(proposal["diff"]["added"].as_array().unwrap().len(), 0);
        assert_eq!(proposal["diff"]["removed"].as_array().unwrap().len(), 0);
        assert_eq!(proposal["unserved"].as_array().unwrap().len(), 0, "every place has all it needs");
        assert_eq!(proposal["figures"]["optimal"], true);
    }
    assert_eq!(waiting["total_distance_m"], fresh["total_distance_m"]);

    // A planner ends one of rep001's assignments by hand: the rule proposes it again.
    let (ended, place): (String, String) = sqlx::query_as(
        "SELECT a.id::text, a.place_id::text FROM assignments a JOIN people p ON p.id = a.person_id
         WHERE p.username = 'rep001' ORDER BY a.id LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let (_, current) = server.get(&planner, &format!("/v1/assignments/{ended}")).await;
    let today: String =
        sqlx::query_scalar("SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date::text").fetch_one(&pool).await.unwrap();
    let patch = serde_json::json!({"valid_to": today, "version": current["version"]});
    let (status, body) =
        server.call(Method::PATCH, Some(&planner), &format!("/v1/assignments/{ended}"), Some(&patch)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, again) = server.get(&planner, &format!("/v1/assignment-proposals/{id}")).await;
    assert_eq!(again["stale"], true, "the waiting proposal predates the change");
    let (status, after) = server.call(Method::POST, Some(&planner), "/v1/assignment-proposals", Some(&params)).await;
    assert_eq!(status, StatusCode::CREATED, "{after}");
    let added = after["diff"]["added"].as_array().unwrap();
    assert_eq!(added.len(), 1, "{}", after["diff"]);
    assert_eq!(added[0]["place_id"], place.as_str());
    assert_eq!(after["diff"]["removed"].as_array().unwrap().len(), 0);
    assert_eq!(after["total_distance_m"], waiting["total_distance_m"]);
}

#[sqlx::test(migrations = false)]
async fn every_demo_place_lies_in_western_jiyuan(pool: PgPool) {
    let _server = Server::demo_with(&pool, TOWNSHIP_ONLY).await;
    // The real boundary of 济源市, converted from GCJ-02, and its western part.
    let boundary = fieldvisit::demo::township::township().boundary;
    let wkb = fieldvisit_geodata::wkb::to_wkb(&geo::Geometry::MultiPolygon(boundary));
    let outside: i64 =
        sqlx::query_scalar("SELECT count(*) FROM places WHERE NOT ST_Within(geom, ST_GeomFromWKB($1, 4326))")
            .bind(&wkb)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(outside, 0);
    let (min_x, max_x): (f64, f64) =
        sqlx::query_as("SELECT ST_XMin(ST_Extent(geom)), ST_XMax(ST_Extent(geom)) FROM places")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(min_x > 111.9 && max_x < 112.36, "western Jiyuan: {min_x}..{max_x}");
    // Each place sits in its own station's service area.
    let misplaced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM places p JOIN stations s ON s.id = p.station_id WHERE NOT ST_Covers(s.service_area, p.geom)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(misplaced, 0);
}

#[sqlx::test(migrations = false)]
async fn rep001_sees_their_stations_places_and_nothing_else(pool: PgPool) {
    let server = Server::demo_with(&pool, TOWNSHIP_ONLY).await;
    let token = server.login("rep001").await;
    let (_, me) = server.get(&token, "/v1/me").await;
    let station = me["station_id"].as_str().unwrap().to_owned();
    let (status, places) = server.get(&token, "/v1/places?limit=500").await;
    assert_eq!(status, StatusCode::OK);
    let features = places["features"].as_array().unwrap();
    assert!(!features.is_empty());
    assert!(features.iter().all(|f| f["properties"]["station_id"] == station.as_str()));
    let theirs: i64 = sqlx::query_scalar("SELECT count(*) FROM places WHERE station_id = $1::uuid")
        .bind(&station)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(i64::try_from(features.len()).unwrap(), theirs);
    let elsewhere: Vec<String> = sqlx::query_scalar("SELECT id::text FROM places WHERE station_id <> $1::uuid")
        .bind(&station)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(!elsewhere.is_empty());
    for id in elsewhere.iter().take(10) {
        let (status, _) = server.get(&token, &format!("/v1/places/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[sqlx::test(migrations = false)]
async fn loading_the_demo_twice_changes_nothing(pool: PgPool) {
    let first = Server::demo(&pool).await;
    drop(first);
    let snapshot = |pool: PgPool| async move {
        sqlx::query_scalar::<_, String>(
            "SELECT md5(string_agg(t, ',' ORDER BY t)) FROM (
                 SELECT id::text || version AS t FROM stations UNION ALL SELECT id::text || version FROM people
                 UNION ALL SELECT id::text || version FROM places UNION ALL SELECT id::text || version FROM assignments
                 UNION ALL SELECT id::text FROM check_ins UNION ALL SELECT id::text || version FROM findings
                 UNION ALL SELECT id::text || version FROM issues UNION ALL SELECT id::text FROM issue_events
                 UNION ALL SELECT id::text || version FROM issue_lists) x",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let before = snapshot(pool.clone()).await;
    let _second = Server::demo(&pool).await;
    assert_eq!(snapshot(pool.clone()).await, before);
}

#[sqlx::test(migrations = false)]
async fn the_demo_has_findings_from_its_visits(pool: PgPool) {
    let server = Server::demo(&pool).await;
    // Each comes from one of its author's check-ins at the same place, filed
    // the evening of the visit, within the twelve months of history.
    let (total, consistent, months): (i64, i64, Vec<String>) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE c.person_id = f.person_id AND c.place_id = f.place_id
                                            AND f.created_at >= c.visited_at AND f.created_at < c.visited_at + interval '1 day'),
                array_agg(DISTINCT to_char(f.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'))
         FROM findings f JOIN check_ins c ON c.id = f.check_in_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(total > 30, "{total} demo findings");
    assert_eq!(consistent, total);
    assert_eq!(months, history_months());
    let unlinked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM findings WHERE check_in_id IS NULL").fetch_one(&pool).await.unwrap();
    assert_eq!(unlinked, 0);
    // Station staff see their station's findings of a month, and only those.
    let token = server.login("staff02").await;
    let september = &history_months()[9];
    let (status, page) = server.get(&token, &format!("/v1/findings?month={september}&limit=500")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    let station: uuid::Uuid =
        sqlx::query_scalar("SELECT station_id FROM people WHERE username = 'staff02'").fetch_one(&pool).await.unwrap();
    let theirs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM findings f JOIN places p ON p.id = f.place_id
         WHERE p.station_id = $1 AND to_char(f.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM') = $2",
    )
    .bind(station)
    .bind(september)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(theirs > 0, "the station has findings in {september}");
    assert_eq!(i64::try_from(items.len()).unwrap(), theirs);
}

/// The demo's year reads like 邵原镇's report: 26 issues raised, 24 closed out,
/// a list issued for each past month and the last month's still a draft;
/// this month shows the side exits.
#[sqlx::test(migrations = false)]
async fn the_demo_ledger_reads_like_the_townships_year(pool: PgPool) {
    let server = Server::demo(&pool).await;
    let months = history_months();
    let presidium = server.login("presidium").await;
    let (status, page) = server.get(&presidium, "/v1/issues?limit=500").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let issues = page["items"].as_array().unwrap();
    let in_year: Vec<&serde_json::Value> = issues
        .iter()
        .filter(|i| {
            let raised = chrono::DateTime::parse_from_rfc3339(i["raised_at"].as_str().unwrap()).unwrap();
            months.contains(&fieldvisit_sync::month::Month::of(raised.to_utc()).to_string())
        })
        .collect();
    assert_eq!(in_year.len(), 26, "26 issues raised over the year");
    assert_eq!(in_year.iter().filter(|i| i["state"] == "closed_out").count(), 24, "24 closed out");
    let states: std::collections::BTreeSet<&str> = issues.iter().map(|i| i["state"].as_str().unwrap()).collect();
    for state in
        ["new", "accepted", "forwarded", "in_progress", "answered", "closed_out", "returned", "rejected", "merged"]
    {
        assert!(states.contains(state), "an issue in state {state}: {states:?}");
    }
    // Every closed-out issue went the whole way, its raiser confirming from the phone.
    for i in in_year.iter().filter(|i| i["state"] == "closed_out") {
        let (_, detail) = server.get(&presidium, &format!("/v1/issues/{}", i["id"].as_str().unwrap())).await;
        let steps: Vec<&str> =
            detail["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(steps, ["create", "accept", "forward", "acknowledge", "answer", "confirm"], "{}", i["number"]);
        assert!((1..=5).contains(&detail["satisfaction"].as_i64().unwrap()));
        assert_eq!(detail["linked_findings"].as_array().unwrap().len(), 1);
    }
    let (_, lists) = server.get(&presidium, "/v1/issue-lists").await;
    let lists = lists["items"].as_array().unwrap();
    // The presidium's: one per month of the year, the last a draft; and this month one station's own.
    let township: Vec<&Value> = lists.iter().filter(|l| l["station_id"].is_null()).collect();
    assert_eq!(township.len(), 12);
    for l in township {
        let last = l["month"] == months[11].as_str();
        assert_eq!(l["state"], if last { "draft" } else { "issued" }, "{l}");
    }
    assert_eq!(lists.iter().filter(|l| !l["station_id"].is_null() && l["state"] == "issued").count(), 1);
    // The raiser sees their issue; the station's staff see their station's.
    let raiser = in_year[0]["raisers"][0]["id"].as_str().unwrap();
    let username: String = sqlx::query_scalar("SELECT username FROM people WHERE id = $1::uuid")
        .bind(raiser)
        .fetch_one(&pool)
        .await
        .unwrap();
    let token = server.login(&username).await;
    let (_, mine) = server.get(&token, "/v1/issues").await;
    assert!(mine["items"].as_array().unwrap().iter().any(|i| i["id"] == in_year[0]["id"]));
}
