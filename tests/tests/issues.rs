//! The issue ledger as its users meet it: issues from findings, the workflow
//! (every state × every step × every standing, against the table in the
//! README), duplicates by real distance, merging, the monthly list and its
//! freezing, a phone's steps racing the desk's, scope and bad input.

use std::collections::{BTreeMap, BTreeSet};

use fieldvisit_tests::{Server, error_code};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

/// A finding filed through push by `username` at one of their assigned places
/// (or at `place`), optionally at a position (WGS84).
async fn finding(server: &Server, username: &str, place: Uuid, category: &str, at: Option<(f64, f64)>) -> Uuid {
    let token = server.login(username).await;
    let id = Uuid::now_v7();
    let mut args = json!({"id": id, "place_id": place, "category": category,
        "description": format!("{username}: 村口道路破损，雨天积水，群众出行不便"), "severity": "medium"});
    if let Some((lon, lat)) = at {
        args["position"] = json!({"lon": lon, "lat": lat, "crs": "wgs84"});
    }
    let body = json!({"client_id": Uuid::now_v7(), "schema_version": 1,
        "mutations": [{"id": 1, "name": "finding.create.v1", "args": args}]});
    let (status, res) = server.call(Method::POST, Some(&token), "/v1/sync/push", Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["results"][0]["status"], "applied", "{res}");
    id
}

/// A representative of a regional station with an assigned place, that station's staff.
struct Cast {
    rep: String,
    rep_id: Uuid,
    other_rep: String,
    place: Uuid,
    station: Uuid,
    staff: String,
    other_staff: String,
}

async fn cast(pool: &PgPool) -> Cast {
    let (rep, rep_id, place, station): (String, Uuid, Uuid, Uuid) = sqlx::query_as(
        "SELECT p.username, p.id, a.place_id, p.station_id FROM people p JOIN assignments a ON a.person_id = p.id
         JOIN stations s ON s.id = p.station_id JOIN places pl ON pl.id = a.place_id AND pl.station_id = p.station_id
         WHERE p.role = 'representative' AND s.code = 'dongyang' ORDER BY p.username, a.place_id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let other_rep: String = sqlx::query_scalar(
        "SELECT username FROM people WHERE role = 'representative' AND station_id = $1 AND username <> $2 ORDER BY username LIMIT 1",
    )
    .bind(station)
    .bind(&rep)
    .fetch_one(pool)
    .await
    .unwrap();
    Cast { rep, rep_id, other_rep, place, station, staff: "staff02".into(), other_staff: "staff03".into() }
}

async fn create_issue(server: &Server, token: &str, body: &Value) -> Value {
    let (status, res) = server.call(Method::POST, Some(token), "/v1/issues", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    res["issue"].clone()
}

async fn step(server: &Server, token: &str, issue: &str, body: &Value) -> (StatusCode, Value) {
    server.call(Method::POST, Some(token), &format!("/v1/issues/{issue}/actions"), Some(body)).await
}

async fn must_step(server: &Server, token: &str, issue: &str, body: &Value) -> Value {
    let (status, res) = step(server, token, issue, body).await;
    assert_eq!(status, StatusCode::OK, "{body} on {issue}: {res}");
    res
}

/// A note good for every step that needs one.
fn with_args(action: &str, into: Option<&str>) -> Value {
    let mut b = json!({"action": action, "note": "请补充现场照片和具体位置", "rating": 5});
    if let Some(i) = into {
        b["into"] = json!(i);
    }
    b
}

/// The README's workflow table: action → (from states, to, standings).
/// A documented step: the states it is taken from, where it leads (`None`: stays), who takes it.
type Documented = (BTreeSet<String>, Option<String>, BTreeSet<String>);

fn documented_table() -> BTreeMap<String, Documented> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let mut table = BTreeMap::new();
    let rows = readme
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "| action | from | to | who |")
        .take_while(|l| l.starts_with('|'))
        .filter(|l| l.starts_with("| `"));
    for line in rows {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let list = |c: &str| c.split(',').map(|s| s.trim().to_owned()).collect::<BTreeSet<_>>();
        let to = (cells[2] != "(stays)").then(|| cells[2].to_owned());
        table.insert(cells[0].trim_matches('`').to_owned(), (list(cells[1]), to, list(cells[3])));
    }
    assert_eq!(table.len(), 10, "the README documents ten steps");
    table
}

const STATES: [&str; 9] =
    ["new", "accepted", "forwarded", "in_progress", "answered", "closed_out", "returned", "rejected", "merged"];
const ACTIONS: [&str; 10] =
    ["accept", "return", "resubmit", "reject", "acknowledge", "answer", "confirm", "dispute", "merge", "comment"];

/// Every state × every action × every standing, through the API, against the
/// README's table: an allowed step leads where the table says; a refused one is
/// a 409 `illegal_transition` listing exactly the allowed steps, and changes nothing.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn every_state_action_and_role_follows_the_documented_table(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&pool).await;
    let table = documented_table();
    let staff = server.login(&c.staff).await;
    let presidium = server.login("presidium").await;
    let standings: [(&str, String); 5] = [
        ("raiser", server.login(&c.rep).await),
        ("staff", staff.clone()),
        ("presidium", presidium.clone()),
        ("onlooker", server.login("planner").await),
        ("onlooker", server.login("admin").await),
    ];
    let expected = |state: &str, standing: &str| -> Vec<&str> {
        ACTIONS.iter().copied().filter(|a| table[*a].0.contains(state) && table[*a].2.contains(standing)).collect()
    };
    // An open issue to merge into.
    let target = create_issue(
        &server,
        &staff,
        &json!({"place_id": c.place, "category": "water",
        "description": "合并目标", "raiser_ids": [c.rep_id]}),
    )
    .await;
    let target_id = target["id"].as_str().unwrap().to_owned();

    // Issues brought into `state`: one per (state, standing) to try refusals on, and one per allowed step.
    let mut needed: Vec<(&str, usize)> = Vec::new();
    for state in STATES {
        let allowed: usize = standings.iter().map(|(s, _)| expected(state, s).len()).sum();
        needed.push((state, standings.len() + allowed));
    }
    // Made concurrently: each issue's way to its state is independent of the others'.
    let made = join_all(needed.iter().flat_map(|(state, n)| std::iter::repeat_n(*state, *n)).map(|state| {
        let (server, staff, target_id, c) = (&server, &staff, &target_id, &c);
        async move {
            let body = json!({"place_id": c.place, "category": "traffic_safety",
                "description": format!("矩阵 {state}"), "raiser_ids": [c.rep_id]});
            let id = create_issue(server, staff, &body).await["id"].as_str().unwrap().to_owned();
            let first = match state {
                "new" => None,
                "returned" => Some("return"),
                "rejected" => Some("reject"),
                "merged" => Some("merge"),
                _ => Some("accept"),
            };
            if let Some(action) = first {
                must_step(server, staff, &id, &with_args(action, Some(target_id))).await;
            }
            (state, id)
        }
    }))
    .await;
    let forwarded = ["forwarded", "in_progress", "answered", "closed_out"];
    let to_forward: Vec<(&str, String)> = made.iter().filter(|(s, _)| forwarded.contains(s)).cloned().collect();
    let mut pool_of: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (state, id) in made.into_iter().filter(|(s, _)| !forwarded.contains(s)) {
        pool_of.entry(state).or_default().push(id);
    }
    // One list forwards them all; then each goes on to its state.
    let (status, list) = server
        .call(
            Method::POST,
            Some(&staff),
            "/v1/issue-lists",
            Some(&json!({"month": "2099-12", "station_id": c.station})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{list}");
    let list_id = list["id"].as_str().unwrap();
    // Only those: the issues kept `accepted` stay off it.
    let only: Vec<&str> = to_forward.iter().map(|(_, id)| id.as_str()).collect();
    let (status, res) = server
        .call(Method::PATCH, Some(&staff), &format!("/v1/issue-lists/{list_id}"), Some(&json!({"issue_ids": only})))
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let (status, res) =
        server.call(Method::POST, Some(&staff), &format!("/v1/issue-lists/{list_id}/issue"), None).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    join_all(to_forward.iter().map(|(state, id)| {
        let (server, staff, presidium) = (&server, &staff, &presidium);
        async move {
            if matches!(*state, "in_progress" | "answered" | "closed_out") {
                must_step(server, staff, id, &with_args("acknowledge", None)).await;
            }
            if matches!(*state, "answered" | "closed_out") {
                must_step(server, staff, id, &with_args("answer", None)).await;
            }
            if *state == "closed_out" {
                must_step(server, presidium, id, &with_args("confirm", None)).await;
            }
        }
    }))
    .await;
    for (state, id) in to_forward {
        pool_of.entry(state).or_default().push(id);
    }

    // Each (state, standing) on issues of its own, all at once.
    let mut cases = Vec::new();
    for state in STATES {
        let issues = pool_of.get_mut(state).unwrap();
        for (standing, token) in &standings {
            let allowed = expected(state, standing);
            let probe = issues.pop().unwrap();
            let fresh: Vec<String> = allowed.iter().map(|_| issues.pop().unwrap()).collect();
            cases.push((state, *standing, token, allowed, probe, fresh));
        }
    }
    let tried: usize = join_all(cases.into_iter().map(|(state, standing, token, allowed, probe, fresh)| {
        let (server, staff, target_id, table) = (&server, &staff, &target_id, &table);
        async move {
            let mut tried = 0;
            for action in ACTIONS.iter().filter(|a| !allowed.contains(a)) {
                let (status, res) = step(server, token, &probe, &with_args(action, Some(target_id))).await;
                assert_eq!(status, StatusCode::CONFLICT, "{state} × {action} by {standing} must be refused: {res}");
                assert_eq!(error_code(&res), "illegal_transition", "{res}");
                let listed: Vec<&str> = res["error"]["details"]["allowed"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap())
                    .collect();
                assert_eq!(listed, allowed, "{state} by {standing}: the allowed steps");
                tried += 1;
            }
            let (_, now) = server.get(staff, &format!("/v1/issues/{probe}")).await;
            assert_eq!(now["state"], state, "refused steps change nothing");
            for (action, id) in allowed.iter().zip(&fresh) {
                let res = must_step(server, token, id, &with_args(action, Some(target_id))).await;
                let to = table[*action].1.clone().unwrap_or_else(|| state.to_owned());
                assert_eq!(res["state"], to.as_str(), "{state} × {action} by {standing}");
                let last = res["history"].as_array().unwrap().last().unwrap().clone();
                assert_eq!(last["action"], *action, "{res}");
                assert_eq!((last["from_state"].as_str(), last["to_state"].as_str()), (Some(state), Some(to.as_str())));
                tried += 1;
            }
            tried
        }
    }))
    .await
    .into_iter()
    .sum();
    assert_eq!(tried, STATES.len() * ACTIONS.len() * standings.len());
}

/// Numbers run per township and year, and a refused create gives its number back.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn numbers_run_per_year_and_are_never_reused(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&pool).await;
    let staff = server.login(&c.staff).await;
    let year = chrono::Utc::now().with_timezone(&fieldvisit_sync::month::shanghai()).format("%Y").to_string();
    let f = finding(&server, &c.rep, c.place, "water", None).await;
    let first = create_issue(&server, &staff, &json!({"finding_ids": [f]})).await;
    assert_eq!(first["number"], format!("{year}-0001"));
    assert_eq!(first["raisers"][0]["id"], c.rep_id.to_string(), "the finding's author raised it");
    assert_eq!(first["category"], "water");
    assert_eq!(first["linked_findings"][0]["id"], f.to_string());
    // The finding is now the ledger's: its author's edit is rejected.
    let token = server.login(&c.rep).await;
    let body = json!({"client_id": Uuid::now_v7(), "schema_version": 1, "mutations": [
        {"id": 1, "name": "finding.update.v1", "args": {"id": f, "description": "改一下"}}]});
    let (_, res) = server.call(Method::POST, Some(&token), "/v1/sync/push", Some(&body)).await;
    assert_eq!(res["results"][0]["code"], "taken_into_issue", "{res}");
    // Taken twice: refused, and the number is not spent.
    let (status, res) = server.call(Method::POST, Some(&staff), "/v1/issues", Some(&json!({"finding_ids": [f]}))).await;
    assert_eq!((status, error_code(&res)), (StatusCode::CONFLICT, "finding_taken"), "{res}");
    let second =
        create_issue(&server, &staff, &json!({"place_id": c.place, "category": "power", "description": "停电"})).await;
    assert_eq!(second["number"], format!("{year}-0002"));
}

/// Similar issues by geodesic distance: inside 500 m they are offered, nearest
/// first; outside, of another category, or closed, they are not.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn similar_issues_are_found_by_real_distance(pool: PgPool) {
    use fieldvisit_geodata::distance::geodesic_m;
    use geo::Point;
    let server = Server::in_process(&pool).await;
    let c = cast(&pool).await;
    let staff = server.login(&c.staff).await;
    // A place of the same station other than the finding's, so only distance can match.
    let other_place: Uuid =
        sqlx::query_scalar("SELECT id FROM places WHERE station_id = $1 AND id <> $2 AND active ORDER BY id LIMIT 1")
            .bind(c.station)
            .bind(c.place)
            .fetch_one(&pool)
            .await
            .unwrap();
    let (lon, lat) = (112.2650, 35.1400);
    let at = |dlat: f64| json!({"lon": lon, "lat": lat + dlat});
    let mk = |dlat: f64, category: &str| json!({"position": at(dlat), "station_id": c.station, "category": category, "description": format!("{dlat}")});
    let near = create_issue(&server, &staff, &mk(0.0036, "water")).await; // ≈ 400 m north
    let nearer = create_issue(&server, &staff, &mk(0.0018, "water")).await; // ≈ 200 m
    let far = create_issue(&server, &staff, &mk(0.0054, "water")).await; // ≈ 600 m
    let other_kind = create_issue(&server, &staff, &mk(0.0009, "power")).await;
    let closed = create_issue(&server, &staff, &mk(0.0010, "water")).await;
    must_step(&server, &staff, closed["id"].as_str().unwrap(), &with_args("reject", None)).await;
    let f = finding(&server, &c.rep, other_place, "water", Some((lon, lat))).await;

    let (status, res) = server.get(&staff, &format!("/v1/issues/similar?finding_id={f}")).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    let items = res["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [nearer["id"].as_str().unwrap(), near["id"].as_str().unwrap()], "{res}");
    for (item, dlat) in items.iter().zip([0.0018, 0.0036]) {
        let truth = geodesic_m(Point::new(lon, lat), Point::new(lon, lat + dlat));
        let got = item["distance_m"].as_f64().unwrap();
        assert!((got - truth).abs() < 1.0, "distance {got} against {truth}");
    }
    let truth_far = geodesic_m(Point::new(lon, lat), Point::new(lon, lat + 0.0054));
    assert!(truth_far > 500.0, "the far one is really outside: {truth_far}");
    assert!(!ids.contains(&far["id"].as_str().unwrap()) && !ids.contains(&other_kind["id"].as_str().unwrap()));

    // At the same place, however far apart the points: a candidate too.
    let same_place = create_issue(
        &server,
        &staff,
        &json!({"place_id": other_place, "category": "water",
        "description": "同一地点", "position": {"lon": 112.5, "lat": 35.3}}),
    )
    .await;
    let (_, res) = server.get(&staff, &format!("/v1/issues/similar?finding_id={f}")).await;
    let same =
        res["items"].as_array().unwrap().iter().find(|i| i["id"] == same_place["id"]).expect("same place offered");
    assert_eq!(same["same_place"], true);

    // A create answers the similar ones with it.
    let (status, created) =
        server.call(Method::POST, Some(&staff), "/v1/issues", Some(&json!({"finding_ids": [f]}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let offered: Vec<&str> = created["similar"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert!(offered.contains(&nearer["id"].as_str().unwrap()) && offered.contains(&near["id"].as_str().unwrap()));
    assert!(!offered.contains(&created["issue"]["id"].as_str().unwrap()), "not itself");

    // Bad input.
    for q in ["", "?finding_id=nope", &format!("?finding_id={f}&issue_id={f}")] {
        let (status, res) = server.get(&staff, &format!("/v1/issues/similar{q}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {res}");
    }
    let (status, _) = server.get(&staff, &format!("/v1/issues/similar?finding_id={}", Uuid::now_v7())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A merge keeps both histories; the merged issue points to the survivor,
/// which takes its raisers and findings.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn merging_keeps_both_histories(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&pool).await;
    let staff = server.login(&c.staff).await;
    let other_rep_id: Uuid = sqlx::query_scalar("SELECT id FROM people WHERE username = $1")
        .bind(&c.other_rep)
        .fetch_one(&pool)
        .await
        .unwrap();
    let fa = finding(&server, &c.rep, c.place, "water", None).await;
    let a = create_issue(&server, &staff, &json!({"finding_ids": [fa]})).await;
    let b = create_issue(
        &server,
        &staff,
        &json!({"place_id": c.place, "category": "water", "description": "同一处停水",
        "raiser_ids": [other_rep_id]}),
    )
    .await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    must_step(&server, &staff, a_id, &json!({"action": "comment", "note": "与另一问题重复"})).await;

    // Not into itself, not into a closed one, not into one unknown.
    let (status, res) = step(&server, &staff, a_id, &json!({"action": "merge", "into": a_id})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    let (status, _) = step(&server, &staff, a_id, &json!({"action": "merge", "into": Uuid::now_v7()})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = step(&server, &staff, a_id, &json!({"action": "merge"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let rejected =
        create_issue(&server, &staff, &json!({"place_id": c.place, "category": "water", "description": "x"})).await;
    let rejected_id = rejected["id"].as_str().unwrap();
    must_step(&server, &staff, rejected_id, &with_args("reject", None)).await;
    let (status, res) = step(&server, &staff, a_id, &json!({"action": "merge", "into": rejected_id})).await;
    assert_eq!((status, error_code(&res)), (StatusCode::CONFLICT, "merge_target_closed"), "{res}");

    let merged = must_step(&server, &staff, a_id, &json!({"action": "merge", "into": b_id, "note": "重复"})).await;
    assert_eq!(merged["state"], "merged");
    assert_eq!(merged["merged_into"], b_id);
    let actions: Vec<&str> =
        merged["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "comment", "merge"], "the merged issue keeps its history");
    let (_, survivor) = server.get(&staff, &format!("/v1/issues/{b_id}")).await;
    assert_eq!(survivor["merged_from"][0]["id"], a_id);
    let actions: Vec<&str> =
        survivor["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "merged_from"]);
    assert_eq!(survivor["linked_findings"][0]["id"], fa.to_string(), "the survivor shows the merged one's findings");
    let raisers: BTreeSet<&str> =
        survivor["raisers"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(raisers.contains(c.rep_id.to_string().as_str()), "and takes its raisers, who may close it out");
    // The raiser of the merged one now sees the survivor.
    let rep = server.login(&c.rep).await;
    let (status, _) = server.get(&rep, &format!("/v1/issues/{b_id}")).await;
    assert_eq!(status, StatusCode::OK);
}

async fn draft(server: &Server, token: &str, month: &str, station: Option<Uuid>) -> (StatusCode, Value) {
    server
        .call(Method::POST, Some(token), "/v1/issue-lists", Some(&json!({"month": month, "station_id": station})))
        .await
}

/// The monthly list: drafted with the accepted issues, edited, issued, then frozen;
/// the next month's draft carries over what is still open.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn an_issued_list_is_frozen_and_carries_over_what_is_open(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&pool).await;
    let staff = server.login(&c.staff).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let i = create_issue(
            &server,
            &staff,
            &json!({"place_id": c.place, "category": "water",
            "description": format!("问题{n}")}),
        )
        .await;
        let id = i["id"].as_str().unwrap().to_owned();
        must_step(&server, &staff, &id, &with_args("accept", None)).await;
        ids.push(id);
    }
    let unaccepted =
        create_issue(&server, &staff, &json!({"place_id": c.place, "category": "water", "description": "未受理"}))
            .await;
    let month = fieldvisit_sync::month::Month::of(chrono::Utc::now());
    let (status, list) = draft(&server, &staff, &month.to_string(), Some(c.station)).await;
    assert_eq!(status, StatusCode::CREATED, "{list}");
    let lines: Vec<&str> =
        list["lines"].as_array().unwrap().iter().map(|l| l["issue"]["id"].as_str().unwrap()).collect();
    assert_eq!(lines, ids.iter().map(String::as_str).collect::<Vec<_>>(), "the accepted ones, by number");
    assert_eq!(list["state"], "draft");
    let positions: Vec<i64> =
        list["lines"].as_array().unwrap().iter().map(|l| l["position"].as_i64().unwrap()).collect();
    assert_eq!(positions, [1, 2, 3]);
    let list_id = list["id"].as_str().unwrap().to_owned();

    // One draft per month and station.
    let (status, res) = draft(&server, &staff, &month.to_string(), Some(c.station)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{res}");
    // Reorder and drop one; an issue not accepted cannot be added.
    let path = format!("/v1/issue-lists/{list_id}");
    let (status, res) = server
        .call(Method::PATCH, Some(&staff), &path, Some(&json!({"issue_ids": [ids[2], ids[0], unaccepted["id"]]})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    let (status, res) =
        server.call(Method::PATCH, Some(&staff), &path, Some(&json!({"issue_ids": [ids[2], ids[2]]}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    let (status, edited) = server
        .call(Method::PATCH, Some(&staff), &path, Some(&json!({"issue_ids": [ids[2], ids[0]], "version": 1})))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    let lines: Vec<&str> =
        edited["lines"].as_array().unwrap().iter().map(|l| l["issue"]["id"].as_str().unwrap()).collect();
    assert_eq!(lines, [ids[2].as_str(), ids[0].as_str()]);
    let (status, res) =
        server.call(Method::PATCH, Some(&staff), &path, Some(&json!({"issue_ids": [ids[0]], "version": 1}))).await;
    assert_eq!((status, error_code(&res)), (StatusCode::CONFLICT, "version_conflict"));

    // Issue it: frozen, and its issues forwarded.
    let (status, issued) = server.call(Method::POST, Some(&staff), &format!("{path}/issue"), None).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(issued["state"], "issued");
    for l in issued["lines"].as_array().unwrap() {
        assert_eq!(l["issue"]["state"], "forwarded");
        assert_eq!(l["issue"]["forwarded_in"], list_id.as_str());
    }
    let (_, dropped) = server.get(&staff, &format!("/v1/issues/{}", ids[1])).await;
    assert_eq!(dropped["state"], "accepted", "the one taken off stays accepted");
    for (method, p, body) in [
        (Method::PATCH, path.clone(), Some(json!({"issue_ids": [ids[1]]}))),
        (Method::POST, format!("{path}/issue"), None),
    ] {
        let (status, res) = server.call(method, Some(&staff), &p, body.as_ref()).await;
        assert_eq!((status, error_code(&res)), (StatusCode::CONFLICT, "list_issued"), "{res}");
    }
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM issue_list_items WHERE list_id = $1::uuid")
        .bind(&list_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    let tamper =
        sqlx::query("DELETE FROM issue_list_items WHERE list_id = $1::uuid").bind(&list_id).execute(&pool).await;
    assert!(tamper.is_err(), "the database refuses to change an issued list");
    let tamper = sqlx::query("UPDATE issue_lists SET month = month + 31 WHERE id = $1::uuid")
        .bind(&list_id)
        .execute(&pool)
        .await;
    assert!(tamper.is_err());
    let (_, again) = server.get(&staff, &path).await;
    assert_eq!(i64::try_from(again["lines"].as_array().unwrap().len()).unwrap(), before);

    // Next month: the open forwarded ones come back carried over, after the new ones; closed ones do not.
    must_step(&server, &staff, &ids[0], &with_args("acknowledge", None)).await;
    must_step(&server, &staff, &ids[0], &with_args("answer", None)).await;
    let presidium = server.login("presidium").await;
    must_step(&server, &presidium, &ids[0], &with_args("confirm", None)).await;
    let (status, next) = draft(&server, &staff, &month.next().to_string(), Some(c.station)).await;
    assert_eq!(status, StatusCode::CREATED, "{next}");
    let lines: Vec<(&str, bool)> = next["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["issue"]["id"].as_str().unwrap(), l["carried_over"].as_bool().unwrap()))
        .collect();
    assert_eq!(lines, [(ids[1].as_str(), false), (ids[2].as_str(), true)]);
    let (_, index) = server.get(&staff, &format!("/v1/issue-lists?month={month}")).await;
    assert_eq!(index["items"].as_array().unwrap().len(), 1);
    // An empty draft cannot be issued.
    let (_, empty) = draft(&server, &staff, "2001-01", Some(c.station)).await;
    let (status, res) = server
        .call(Method::POST, Some(&staff), &format!("/v1/issue-lists/{}/issue", empty["id"].as_str().unwrap()), None)
        .await;
    assert_eq!((status, error_code(&res)), (StatusCode::CONFLICT, "list_empty"), "{res}");
    // Staff may not draft the township's list, nor another station's.
    let (status, _) = draft(&server, &staff, "2030-01", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let other = server.login(&c.other_staff).await;
    let (status, _) = server.get(&other, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn push(server: &Server, token: &str, client: Uuid, name: &str, args: Value) -> Value {
    let body = json!({"client_id": client, "schema_version": 1, "mutations": [{"id": 1, "name": name, "args": args}]});
    let (status, res) = server.call(Method::POST, Some(token), "/v1/sync/push", Some(&body)).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    res["results"][0].clone()
}

/// An answered issue, raised by the cast's representative.
async fn answered(server: &Server, c: &Cast, staff: &str) -> String {
    let f = finding(server, &c.rep, c.place, "power", None).await;
    let i = create_issue(server, staff, &json!({"finding_ids": [f]})).await;
    let id = i["id"].as_str().unwrap().to_owned();
    must_step(server, staff, &id, &with_args("accept", None)).await;
    let month = next_list_month();
    let (status, list) = draft(server, staff, &month, Some(c.station)).await;
    assert_eq!(status, StatusCode::CREATED, "{list}");
    let (status, res) = server
        .call(Method::POST, Some(staff), &format!("/v1/issue-lists/{}/issue", list["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{res}");
    must_step(
        server,
        staff,
        &id,
        &json!({"action": "answer", "note": "已协调供电公司更换变压器", "answered_on": "2026-11-20"}),
    )
    .await;
    id
}

/// A month of its own for each list a test issues (a list is one per month and station).
fn next_list_month() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{:02}", 2060 + n / 12, n % 12 + 1)
}

/// The phone's steps: confirm with a rating, dispute, comment; replays are
/// recognised; a step on an issue that moved on is rejected with a reason.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_raiser_confirms_disputes_and_comments_from_the_phone(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&pool).await;
    let staff = server.login(&c.staff).await;
    let rep = server.login(&c.rep).await;
    let id = answered(&server, &c, &staff).await;

    let comment = Uuid::now_v7();
    let args = json!({"id": comment, "issue_id": id, "note": "变压器已经换了，但电压还是不稳"});
    let r = push(&server, &rep, Uuid::now_v7(), "issue.comment.v1", args.clone()).await;
    assert_eq!(r["status"], "applied", "{r}");
    // The same comment from another install (a restore): recognised, not doubled.
    let r = push(&server, &rep, Uuid::now_v7(), "issue.comment.v1", args).await;
    assert_eq!(r["status"], "applied", "{r}");
    let r =
        push(&server, &rep, Uuid::now_v7(), "issue.comment.v1", json!({"id": comment, "issue_id": id, "note": "别的"}))
            .await;
    assert_eq!((r["status"].as_str(), r["code"].as_str()), (Some("rejected"), Some("id_conflict")), "{r}");

    let r = push(
        &server,
        &rep,
        Uuid::now_v7(),
        "issue.dispute.v1",
        json!({"id": Uuid::now_v7(), "issue_id": id, "note": "电压仍不稳"}),
    )
    .await;
    assert_eq!(r["status"], "applied", "{r}");
    let (_, issue) = server.get(&staff, &format!("/v1/issues/{id}")).await;
    assert_eq!(issue["state"], "in_progress");
    must_step(&server, &staff, &id, &json!({"action": "answer", "note": "已加装稳压设备"})).await;
    let r = push(
        &server,
        &rep,
        Uuid::now_v7(),
        "issue.confirm.v1",
        json!({"id": Uuid::now_v7(), "issue_id": id, "rating": 9}),
    )
    .await;
    assert_eq!(r["status"], "rejected", "a rating out of range: {r}");
    let r = push(
        &server,
        &rep,
        Uuid::now_v7(),
        "issue.confirm.v1",
        json!({"id": Uuid::now_v7(), "issue_id": id, "rating": 4,
        "note": "满意"}),
    )
    .await;
    assert_eq!(r["status"], "applied", "{r}");
    let (_, issue) = server.get(&staff, &format!("/v1/issues/{id}")).await;
    assert_eq!((issue["state"].as_str(), issue["satisfaction"].as_i64()), (Some("closed_out"), Some(4)));
    assert!(issue["closed_out_at"].is_string());
    let notes: Vec<&str> = issue["history"].as_array().unwrap().iter().filter_map(|e| e["note"].as_str()).collect();
    assert_eq!(notes.iter().filter(|n| n.contains("电压还是不稳")).count(), 1, "the comment once");

    // Moved on: rejected with a reason the app can show.
    let r = push(
        &server,
        &rep,
        Uuid::now_v7(),
        "issue.comment.v1",
        json!({"id": Uuid::now_v7(), "issue_id": id, "note": "再说一句"}),
    )
    .await;
    assert_eq!((r["status"].as_str(), r["code"].as_str()), (Some("rejected"), Some("issue_moved_on")), "{r}");
    assert!(r["reason"].as_str().unwrap().contains("closed_out"), "{r}");
    // Another representative cannot act on it at all.
    let other = server.login(&c.other_rep).await;
    let r = push(
        &server,
        &other,
        Uuid::now_v7(),
        "issue.comment.v1",
        json!({"id": Uuid::now_v7(), "issue_id": id, "note": "x"}),
    )
    .await;
    assert_eq!(r["code"], "unknown_issue", "{r}");
    // Staff are not raisers; their phone cannot take a raiser's step.
    let r = push(
        &server,
        &staff,
        Uuid::now_v7(),
        "issue.comment.v1",
        json!({"id": Uuid::now_v7(), "issue_id": id, "note": "x"}),
    )
    .await;
    assert_eq!(r["status"], "rejected", "{r}");

    // The raiser's device holds the issue with its history; the other representative's does not.
    fieldvisit_tests::wait_for_pull_horizon(&pool).await;
    let mine = held(&server, &rep, &id).await;
    let data = &mine.last().expect("the raiser's device holds the issue")["data"];
    assert_eq!(data["state"], "closed_out");
    assert!(data["history"].as_array().unwrap().iter().any(|e| e["action"] == "dispute"));
    assert!(held(&server, &other, &id).await.is_empty());
    assert!(!held(&server, &staff, &id).await.is_empty(), "the station's staff hold it through issues:{{station}}");
}

/// The changes of issue `id` a fresh device of the signed-in person pulls.
async fn held(server: &Server, token: &str, id: &str) -> Vec<Value> {
    let path = format!("/v1/sync/pull?client_id={}&limit=1000&schema_version=1", Uuid::now_v7());
    let (status, page) = server.get(token, &path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["changes"].as_array().unwrap().iter().filter(|ch| ch["entity"] == "issue" && ch["id"] == id).cloned().collect()
}

/// A phone's dispute racing the presidium's close-out: exactly one wins, the
/// other is refused (409 at the desk, rejected with a reason on the phone),
/// and a comment racing a staff step is kept whatever the order.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn a_phone_racing_the_desk_never_overwrites_it(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&pool).await;
    let staff = server.login(&c.staff).await;
    let rep = server.login(&c.rep).await;
    let presidium = server.login("presidium").await;
    for round in 0..4 {
        let id = answered(&server, &c, &staff).await;
        let dispute = push(
            &server,
            &rep,
            Uuid::now_v7(),
            "issue.dispute.v1",
            json!({"id": Uuid::now_v7(), "issue_id": id, "note": format!("不同意 {round}")}),
        );
        let confirm_body = json!({"action": "confirm", "rating": 3});
        let confirm = step(&server, &presidium, &id, &confirm_body);
        let comment = push(
            &server,
            &rep,
            Uuid::now_v7(),
            "issue.comment.v1",
            json!({"id": Uuid::now_v7(), "issue_id": id, "note": format!("补充 {round}")}),
        );
        let (d, (cs, cr), cm) = tokio::join!(dispute, confirm, comment);
        let dispute_won = d["status"] == "applied";
        let confirm_won = cs == StatusCode::OK;
        assert!(dispute_won != confirm_won, "exactly one wins: {d} / {cs} {cr}");
        if dispute_won {
            assert_eq!(error_code(&cr), "illegal_transition", "{cr}");
        } else {
            assert_eq!(d["code"], "issue_moved_on", "{d}");
        }
        let (_, issue) = server.get(&staff, &format!("/v1/issues/{id}")).await;
        assert_eq!(issue["state"], if dispute_won { "in_progress" } else { "closed_out" });
        let history = issue["history"].as_array().unwrap();
        let commented = history.iter().any(|e| e["action"] == "comment" && e["note"] == format!("补充 {round}"));
        // The comment lands unless the close-out came first (then it was rejected, and said so).
        assert_eq!(commented, cm["status"] == "applied", "{cm}");
        if !commented {
            assert_eq!(cm["code"], "issue_moved_on");
        }
        assert_eq!(issue["answer"], "已协调供电公司更换变压器", "the staff's answer is never overwritten");
    }
}

/// Scope: staff of another station see nothing of it and can do nothing (404),
/// a representative sees only what they raised, and bad input writes nothing.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn scope_and_bad_input(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let c = cast(&pool).await;
    let staff = server.login(&c.staff).await;
    let f = finding(&server, &c.rep, c.place, "water", None).await;
    let issue = create_issue(&server, &staff, &json!({"finding_ids": [f], "deadline": "2020-01-01"})).await;
    let id = issue["id"].as_str().unwrap();
    assert_eq!(issue["overdue"], true, "past its deadline and not answered");

    let other = server.login(&c.other_staff).await;
    let (status, _) = server.get(&other, &format!("/v1/issues/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = step(&server, &other, id, &with_args("accept", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        server.call(Method::PATCH, Some(&other), &format!("/v1/issues/{id}"), Some(&json!({"title": "x"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = server.get(&other, "/v1/issues").await;
    assert!(page["items"].as_array().unwrap().is_empty(), "{page}");
    let (status, res) = server.call(Method::POST, Some(&other), "/v1/issues", Some(&json!({"finding_ids": [f]}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "another station's finding is unknown to them: {res}");
    let other_rep = server.login(&c.other_rep).await;
    let (status, _) = server.get(&other_rep, &format!("/v1/issues/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let rep = server.login(&c.rep).await;
    let (_, page) = server.get(&rep, "/v1/issues").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (status, _) = server.call(Method::POST, Some(&rep), "/v1/issues", Some(&json!({"finding_ids": [f]}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "representatives do not create issues");
    let (_, page) = server.get(&staff, "/v1/issues?overdue=true").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (_, page) = server.get(&staff, &format!("/v1/issues?q={}", issue["number"].as_str().unwrap())).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    let counts = || async {
        let n: (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM issues), (SELECT count(*) FROM issue_events), (SELECT count(*) FROM issue_lists),
                    (SELECT count(*) FROM departments)",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        n
    };
    let before = counts().await;
    let admin = server.login("admin").await;
    let bad: Vec<(Method, &str, String, Value)> = vec![
        (Method::POST, staff.as_str(), "/v1/issues".into(), json!({})),
        (
            Method::POST,
            staff.as_str(),
            "/v1/issues".into(),
            json!({"place_id": c.place, "category": "nope", "description": "x"}),
        ),
        (Method::POST, staff.as_str(), "/v1/issues".into(), json!({"place_id": c.place, "category": "water"})),
        (
            Method::POST,
            staff.as_str(),
            "/v1/issues".into(),
            json!({"place_id": c.place, "category": "water", "description": "x", "deadline": "tomorrow"}),
        ),
        (
            Method::POST,
            staff.as_str(),
            "/v1/issues".into(),
            json!({"place_id": c.place, "category": "water", "description": "x", "department_id": Uuid::now_v7()}),
        ),
        (
            Method::POST,
            staff.as_str(),
            "/v1/issues".into(),
            json!({"place_id": c.place, "category": "water", "description": "x", "raiser_ids": [Uuid::now_v7()]}),
        ),
        (
            Method::POST,
            staff.as_str(),
            "/v1/issues".into(),
            json!({"position": {"lon": 500, "lat": 0}, "station_id": c.station, "category": "water", "description": "x"}),
        ),
        (
            Method::POST,
            staff.as_str(),
            "/v1/issues".into(),
            json!({"place_id": c.place, "category": "water", "description": "a\u{0000}b"}),
        ),
        (Method::POST, staff.as_str(), "/v1/issues".into(), json!({"finding_ids": [f, f]})),
        (Method::POST, staff.as_str(), "/v1/issues".into(), json!({"finding_ids": [], "surprise": 1})),
        (Method::POST, staff.as_str(), format!("/v1/issues/{id}/actions"), json!({"action": "fly"})),
        (Method::POST, staff.as_str(), format!("/v1/issues/{id}/actions"), json!({"action": "return"})),
        (Method::POST, staff.as_str(), format!("/v1/issues/{id}/actions"), json!({"action": "accept", "version": 99})),
        (Method::PATCH, staff.as_str(), format!("/v1/issues/{id}"), json!({"title": " "})),
        (Method::PATCH, staff.as_str(), format!("/v1/issues/{id}"), json!({"title": "x".repeat(201)})),
        (Method::PATCH, staff.as_str(), format!("/v1/issues/{id}"), json!({"category": "nope"})),
        (Method::PATCH, staff.as_str(), format!("/v1/issues/{id}"), json!({"raiser_ids": [Uuid::now_v7()]})),
        (Method::POST, staff.as_str(), "/v1/issue-lists".into(), json!({"month": "2026-13", "station_id": c.station})),
        (
            Method::POST,
            staff.as_str(),
            "/v1/issue-lists".into(),
            json!({"month": "2026-11", "station_id": Uuid::now_v7()}),
        ),
        (Method::PATCH, staff.as_str(), format!("/v1/issue-lists/{}", Uuid::now_v7()), json!({"issue_ids": []})),
        (Method::POST, staff.as_str(), "/v1/departments".into(), json!({"name_zh": "某局", "name_en": "Some"})),
        (Method::POST, admin.as_str(), "/v1/departments".into(), json!({"name_zh": "水利局", "name_en": "Dup"})),
        (Method::POST, admin.as_str(), "/v1/departments".into(), json!({"name_zh": "", "name_en": "Empty"})),
        (Method::PATCH, admin.as_str(), format!("/v1/departments/{}", Uuid::now_v7()), json!({"sort": 1})),
    ];
    for (method, token, path, body) in bad {
        let (status, res) = server.call(method.clone(), Some(token), &path, Some(&body)).await;
        assert!(status.is_client_error(), "{method} {path} {body}: {status} {res}");
        assert!(res["error"]["code"].is_string(), "a JSON error: {res}");
    }
    for q in ["state=lost", "month=2026-1", "overdue=maybe", "limit=0", "colour=red", "station_id=x"] {
        let (status, res) = server.get(&staff, &format!("/v1/issues?{q}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {res}");
    }
    assert_eq!(counts().await, before, "nothing written");
}

/// Departments: everyone reads the list; admins add, rename and retire.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn admins_keep_the_departments(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let rep = server.login("rep001").await;
    let (status, list) = server.get(&rep, "/v1/departments").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|d| d["name_zh"].as_str().unwrap()).collect();
    for seeded in ["发改委", "自然资源局", "人社局", "消防救援大队", "水利局", "供电公司", "住建局", "镇政府"]
    {
        assert!(names.contains(&seeded), "{seeded} in {names:?}");
    }
    let admin = server.login("admin").await;
    let (status, d) = server
        .call(
            Method::POST,
            Some(&admin),
            "/v1/departments",
            Some(&json!({"name_zh": "文旅局", "name_en": "Culture and Tourism Bureau"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let id = d["id"].as_str().unwrap();
    let (status, d) = server
        .call(
            Method::PATCH,
            Some(&admin),
            &format!("/v1/departments/{id}"),
            Some(&json!({"active": false, "version": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    let (_, list) = server.get(&rep, "/v1/departments").await;
    assert!(!list["items"].as_array().unwrap().iter().any(|x| x["id"] == id), "retired ones are not offered");
    let (_, list) = server.get(&rep, "/v1/departments?all=true").await;
    assert!(list["items"].as_array().unwrap().iter().any(|x| x["id"] == id));
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE entity = 'department'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(events, 2, "one audit event per change");
    // An issue cannot be sent to a retired department.
    let c = cast(&pool).await;
    let staff = server.login(&c.staff).await;
    let (status, _) = server
        .call(
            Method::POST,
            Some(&staff),
            "/v1/issues",
            Some(&json!({"place_id": c.place, "category": "water",
            "description": "x", "department_id": id})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
