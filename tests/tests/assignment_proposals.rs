//! The nearby-assignment rule (就近就便) as planners use it: a proposal gives
//! every place to the nearest representatives within their capacity, keeps
//! locked assignments, says why a place went to whom, and applies in one
//! transaction unless the assignments changed meanwhile; representatives
//! then see their new assignments through sync.

use std::collections::{HashMap, HashSet};

use fieldvisit_tests::{Server, error_code};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

async fn propose(server: &Server, token: &str, params: &Value) -> Value {
    let (status, p) = server.call(Method::POST, Some(token), "/v1/assignment-proposals", Some(params)).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    p
}

fn uuid(v: &Value) -> Uuid {
    v.as_str().unwrap().parse().unwrap()
}

/// Gives every representative room for ten places (the demo's own one to three are
/// shorter than its needs), so that the tests below see distance alone decide.
async fn ample_capacity(pool: &PgPool) {
    sqlx::query("UPDATE people SET visit_capacity = 10 WHERE role = 'representative'").execute(pool).await.unwrap();
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn every_place_goes_to_its_nearest_representatives_within_capacity(pool: PgPool) {
    ample_capacity(&pool).await;
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    let p = propose(&server, &planner, &json!({})).await;
    let places: i64 = sqlx::query_scalar("SELECT count(*) FROM places WHERE active").fetch_one(&pool).await.unwrap();
    let assignments = p["assignments"].as_array().unwrap();
    assert_eq!(i64::try_from(assignments.len()).unwrap(), places, "one representative per place");
    assert!(p["unserved"].as_array().unwrap().is_empty(), "{}", p["unserved"]);
    assert_eq!(p["figures"]["optimal"], true);
    assert_eq!(p["stale"], false);
    let total: u64 = assignments.iter().map(|a| a["distance_m"].as_u64().unwrap()).sum();
    assert_eq!(p["total_distance_m"].as_u64().unwrap(), total);
    for l in p["loads"].as_array().unwrap() {
        assert!(l["load"].as_u64() <= l["capacity"].as_u64(), "{l}");
    }
    // Capacity (10 each) is ample, so each place goes to a representative at the
    // least distance there is: checked against PostGIS's own geodesic distances.
    let nearest: HashMap<Uuid, f64> = sqlx::query_as::<_, (Uuid, f64)>(
        "SELECT pl.id, min(ST_Distance(pe.anchor::geography, pl.geom::geography)) FROM places pl
         CROSS JOIN people pe WHERE pl.active AND pe.role = 'representative' AND pe.active AND pe.anchor IS NOT NULL
         GROUP BY pl.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    for a in assignments {
        let best = nearest[&uuid(&a["place_id"])];
        let got = a["distance_m"].as_f64().unwrap();
        assert!((got - best).abs() <= 1.0, "{} got {got} m, the nearest is {best} m", a["place_name"]);
    }
    // The difference adds up with what is in force.
    let in_force: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assignments WHERE valid_from <= current_date AND (valid_to IS NULL OR valid_to > current_date)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let diff = &p["diff"];
    let (added, removed, kept) = (
        diff["added"].as_array().unwrap().len(),
        diff["removed"].as_array().unwrap().len(),
        diff["kept"].as_u64().unwrap(),
    );
    assert_eq!(added + usize::try_from(kept).unwrap(), assignments.len());
    assert_eq!(removed + usize::try_from(kept).unwrap(), usize::try_from(in_force).unwrap());
    // A place's explanation: who got it, who came next and why, farther first.
    let a = &assignments[0];
    let (status, e) = server
        .get(
            &planner,
            &format!(
                "/v1/assignment-proposals/{}/places/{}",
                p["id"].as_str().unwrap(),
                a["place_id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{e}");
    assert_eq!(e["served_by"][0]["person_id"], a["person_id"]);
    let next = e["next"].as_array().unwrap();
    assert!(!next.is_empty());
    for n in next {
        assert!(n["distance_m"].as_u64() >= a["distance_m"].as_u64(), "{n}");
        assert!(["farther", "at_capacity", "not_chosen"].contains(&n["reason"].as_str().unwrap()), "{n}");
    }
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn applying_opens_and_ends_assignments_once_and_never_on_stale_ground(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    // A lock the rule must keep, however far.
    let (locked_id, locked_person, locked_place): (Uuid, Uuid, Uuid) =
        sqlx::query_as("SELECT a.id, a.person_id, a.place_id FROM assignments a ORDER BY a.id LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    let (status, res) = server
        .call(Method::PATCH, Some(&planner), &format!("/v1/assignments/{locked_id}"), Some(&json!({"locked": true})))
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let p = propose(&server, &planner, &json!({})).await;
    let id = p["id"].as_str().unwrap().to_owned();
    let kept = p["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| uuid(&a["person_id"]) == locked_person && uuid(&a["place_id"]) == locked_place)
        .expect("the locked assignment is kept");
    assert_eq!(kept["locked"], true);
    assert!(!p["diff"]["removed"].as_array().unwrap().iter().any(|r| uuid(&r["assignment_id"]) == locked_id));

    // A representative's device, before: to see the change come through sync.
    let added = p["diff"]["added"].as_array().unwrap().clone();
    let removed = p["diff"]["removed"].as_array().unwrap().clone();
    assert!(!added.is_empty() && !removed.is_empty(), "the fixture's stand-in differs from the rule: {}", p["diff"]);

    let (status, diff) =
        server.call(Method::POST, Some(&planner), &format!("/v1/assignment-proposals/{id}/apply"), None).await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    // In force now: exactly the proposal, the new ones from the rule.
    let now: HashSet<(Uuid, Uuid)> = sqlx::query_as::<_, (Uuid, Uuid)>(
        "SELECT person_id, place_id FROM assignments
         WHERE valid_from <= (now() AT TIME ZONE 'Asia/Shanghai')::date
           AND (valid_to IS NULL OR valid_to > (now() AT TIME ZONE 'Asia/Shanghai')::date)",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let proposed: HashSet<(Uuid, Uuid)> =
        p["assignments"].as_array().unwrap().iter().map(|a| (uuid(&a["person_id"]), uuid(&a["place_id"]))).collect();
    assert_eq!(now, proposed);
    let rule: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM assignments a JOIN unnest($1::uuid[], $2::uuid[]) AS n(person_id, place_id)
           ON n.person_id = a.person_id AND n.place_id = a.place_id
         WHERE a.source = 'rule' AND a.valid_to IS NULL",
    )
    .bind(added.iter().map(|a| uuid(&a["person_id"])).collect::<Vec<_>>())
    .bind(added.iter().map(|a| uuid(&a["place_id"])).collect::<Vec<_>>())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(usize::try_from(rule).unwrap(), added.len());
    // The ended ones keep their history.
    let ended: i64 = sqlx::query_scalar("SELECT count(*) FROM assignments WHERE id = ANY($1) AND valid_to IS NOT NULL")
        .bind(removed.iter().map(|r| uuid(&r["assignment_id"])).collect::<Vec<_>>())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(usize::try_from(ended).unwrap(), removed.len());
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE entity = 'assignment_proposal' AND action = 'apply'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(events, 1, "one audit event for the whole application");

    // Once only.
    let (status, res) =
        server.call(Method::POST, Some(&planner), &format!("/v1/assignment-proposals/{id}/apply"), None).await;
    assert_eq!((status, error_code(&res)), (StatusCode::CONFLICT, "already_applied"));
    // A new proposal, then a planner's change by hand: it is stale.
    let second = propose(&server, &planner, &json!({})).await;
    let (status, res) = server
        .call(Method::PATCH, Some(&planner), &format!("/v1/assignments/{locked_id}"), Some(&json!({"locked": false})))
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let second_id = second["id"].as_str().unwrap();
    let (_, again) = server.get(&planner, &format!("/v1/assignment-proposals/{second_id}")).await;
    assert_eq!(again["stale"], true);
    let (status, res) =
        server.call(Method::POST, Some(&planner), &format!("/v1/assignment-proposals/{second_id}/apply"), None).await;
    assert_eq!((status, error_code(&res)), (StatusCode::CONFLICT, "stale_proposal"), "{res}");

    // A representative with a new assignment sees it through sync.
    fieldvisit_tests::wait_for_pull_horizon(&pool).await;
    let pair = &added[0];
    let username: String = sqlx::query_scalar("SELECT username FROM people WHERE id = $1")
        .bind(uuid(&pair["person_id"]))
        .fetch_one(&pool)
        .await
        .unwrap();
    let rep = server.login(&username).await;
    let (_, page) =
        server.get(&rep, &format!("/v1/sync/pull?client_id={}&limit=1000&schema_version=1", Uuid::now_v7())).await;
    assert!(
        page["changes"].as_array().unwrap().iter().any(|c| c["entity"] == "assignment"
            && c["op"] == "upsert"
            && c["data"]["place_id"] == pair["place_id"]
            && c["data"]["valid_to"].is_null()),
        "the new assignment reached {username}'s device"
    );
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn bounds_are_respected_and_bad_parameters_refused(pool: PgPool) {
    ample_capacity(&pool).await;
    let server = Server::in_process(&pool).await;
    let planner = server.login("planner").await;
    // A maximum distance of 300 m: nothing farther, the rest unserved with the reason.
    let p = propose(&server, &planner, &json!({"max_distance_m": 300.0})).await;
    assert!(p["assignments"].as_array().unwrap().iter().all(|a| a["distance_m"].as_u64().unwrap() <= 300));
    let unserved = p["unserved"].as_array().unwrap();
    assert!(!unserved.is_empty());
    assert!(unserved.iter().all(|u| u["reason"] == "no_one_in_range"), "{unserved:?}");
    // Within the station's subtree: every representative of the place's station or below.
    let p = propose(&server, &planner, &json!({"within_station": true})).await;
    let station_of_place: HashMap<Uuid, Uuid> = sqlx::query_as::<_, (Uuid, Uuid)>("SELECT id, station_id FROM places")
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let station_of_person: HashMap<Uuid, Uuid> =
        sqlx::query_as::<_, (Uuid, Uuid)>("SELECT id, station_id FROM people WHERE station_id IS NOT NULL")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    for a in p["assignments"].as_array().unwrap() {
        let place_station = station_of_place[&uuid(&a["place_id"])];
        let person_station = station_of_person[&uuid(&a["person_id"])];
        let subtree: Vec<Uuid> =
            sqlx::query_scalar("SELECT station_subtree($1)").bind(place_station).fetch_all(&pool).await.unwrap();
        assert!(subtree.contains(&person_station), "{a}");
    }
    // Two representatives per grid cell, one station only.
    let dongyang: Uuid =
        sqlx::query_scalar("SELECT id FROM stations WHERE code = 'dongyang'").fetch_one(&pool).await.unwrap();
    let p = propose(&server, &planner, &json!({"station_id": dongyang, "needs": {"grid_cell": 2}})).await;
    let mut per_place: HashMap<Uuid, usize> = HashMap::new();
    for a in p["assignments"].as_array().unwrap() {
        assert_eq!(station_of_place[&uuid(&a["place_id"])], dongyang);
        *per_place.entry(uuid(&a["place_id"])).or_default() += 1;
    }
    let cells: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM places WHERE station_id = $1 AND kind = 'grid_cell' AND active")
            .bind(dongyang)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(cells.iter().all(|c| per_place.get(c) == Some(&2)), "{per_place:?}");

    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM assignment_proposals").fetch_one(&pool).await.unwrap();
    for bad in [
        json!({"max_distance_m": -5}),
        json!({"max_distance_m": 0}),
        json!({"station_id": Uuid::now_v7()}),
        json!({"needs": {"grid_cell": 1000}}),
        json!({"surprise": true}),
        json!({"needs": {"volcano": 1}}),
    ] {
        let (status, res) = server.call(Method::POST, Some(&planner), "/v1/assignment-proposals", Some(&bad)).await;
        assert!(status.is_client_error(), "{bad}: {status} {res}");
    }
    let staff = server.login("staff02").await;
    let (status, _) = server.call(Method::POST, Some(&staff), "/v1/assignment-proposals", Some(&json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server.get(&planner, &format!("/v1/assignment-proposals/{}", Uuid::now_v7())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM assignment_proposals").fetch_one(&pool).await.unwrap();
    assert_eq!(after, before, "refused requests keep nothing");
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn the_command_line_proposes_and_applies(pool: PgPool) {
    let run = |args: &[&str]| {
        std::process::Command::new(fieldvisit_tests::binary())
            .arg("assign")
            .args(args)
            .env("DATABASE_URL", fieldvisit_tests::database_url(&pool))
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("assignments, total") && text.contains("not applied"), "{text}");
    let out = run(&["--apply"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("applied:"), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM assignment_proposals WHERE applied_at IS NOT NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied, 1);
}
