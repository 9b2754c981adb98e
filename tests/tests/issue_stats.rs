//! `GET /v1/issues/stats` against a hand-built ledger (tests/fixtures/issue_stats.sql
//! says what it holds): exact figures in total and per month, station and
//! category, medians of odd and even counts, mean satisfaction, overdue,
//! months in Asia/Shanghai, the caller's scope, filters and bad input.

use fieldvisit_tests::{Server, error_code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

const DONGYANG: &str = "0f3b6299-4f00-5430-8bc1-4508504b4a84";
const LUZHOU: &str = "e76808fb-43c6-5a23-a81e-3a9f859f3b5d";
const PERIOD: &str = "/v1/issues/stats?from=2026-03&to=2026-05";

/// The figures of one group, in the answer's field order.
#[expect(clippy::too_many_arguments, reason = "one column of the table per argument keeps the expectations legible")]
fn figures(
    visits: Option<i64>,
    raised: i64,
    accepted: i64,
    closed_out: i64,
    still_open: i64,
    overdue: i64,
    median: Option<f64>,
    satisfaction: Option<f64>,
) -> Value {
    json!({"visits": visits, "raised": raised, "accepted": accepted, "closed_out": closed_out, "still_open": still_open,
        "overdue": overdue, "median_days_to_close_out": median, "mean_satisfaction": satisfaction})
}

/// `row` without the fields that name its group.
fn only_figures(row: &Value) -> Value {
    let mut row = row.clone();
    for key in ["month", "station_id", "station_name", "category", "category_zh", "category_en"] {
        row.as_object_mut().unwrap().remove(key);
    }
    row
}

async fn stats(server: &Server, user: &str, path: &str) -> Value {
    let token = server.login(user).await;
    let (status, body) = server.get(&token, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township", "issue_stats")))]
async fn the_presidium_sees_every_figure_in_total_and_per_month(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let s = stats(&server, "presidium", PERIOD).await;
    assert_eq!((s["from"].as_str(), s["to"].as_str()), (Some("2026-03"), Some("2026-05")));
    // I1–I10; I11 (merged), I12 (June) and I13 (February) are left out.
    // Close-out after 4, 7, 10 and 16 days: the median of an even count is
    // the mean of the middle two.
    assert_eq!(s["total"], figures(Some(6), 10, 8, 4, 5, 2, Some(8.5), Some(4.0)));
    let months: Vec<(&str, Value)> =
        s["by_month"].as_array().unwrap().iter().map(|m| (m["month"].as_str().unwrap(), only_figures(m))).collect();
    assert_eq!(
        months,
        vec![
            // I3, raised at 23:30 on 31 March in Shanghai (15:30 UTC), is March's;
            // an odd count's median is the middle one (4, 7, 10).
            ("2026-03", figures(Some(2), 3, 3, 3, 0, 0, Some(7.0), Some(4.0))),
            // I4 was accepted, then rejected: accepted, not open. I5 was
            // returned unaccepted and is past its deadline; I6 is answered, so
            // not overdue though past its deadline.
            ("2026-04", figures(Some(1), 3, 2, 0, 2, 1, None, None)),
            // I10 was closed out in June but raised in May: it counts in May.
            ("2026-05", figures(Some(3), 4, 3, 1, 3, 1, Some(16.0), Some(4.0))),
        ]
    );
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township", "issue_stats")))]
async fn figures_per_station_and_per_category(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let s = stats(&server, "planner", PERIOD).await;
    let stations: Vec<(&str, &str, Value)> = s["by_station"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["station_id"].as_str().unwrap(), r["station_name"].as_str().unwrap(), only_figures(r)))
        .collect();
    assert_eq!(
        stations,
        vec![
            (DONGYANG, "东阳联络站", figures(Some(4), 6, 4, 3, 3, 1, Some(10.0), Some(4.33))),
            (LUZHOU, "碌碡联络站", figures(Some(2), 4, 4, 1, 2, 1, Some(7.0), Some(3.0))),
        ]
    );
    // In the code list's order; a visit has no category.
    let categories: Vec<(&str, &str, Value)> = s["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["category"].as_str().unwrap(), r["category_zh"].as_str().unwrap(), only_figures(r)))
        .collect();
    assert_eq!(
        categories,
        vec![
            ("fire_safety", "消防", figures(None, 1, 0, 0, 1, 1, None, None)),
            ("water", "用水", figures(None, 6, 6, 3, 3, 1, Some(10.0), Some(4.33))),
            ("power", "用电", figures(None, 3, 2, 1, 1, 0, Some(7.0), Some(3.0))),
        ]
    );
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township", "issue_stats")))]
async fn the_station_and_category_filters_narrow_the_figures(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let s = stats(&server, "presidium", &format!("{PERIOD}&station_id={LUZHOU}")).await;
    assert_eq!(s["total"], figures(Some(2), 4, 4, 1, 2, 1, Some(7.0), Some(3.0)));
    assert_eq!(s["by_station"].as_array().unwrap().len(), 1);
    // Visits are not narrowed by category.
    let s = stats(&server, "presidium", &format!("{PERIOD}&category=water")).await;
    assert_eq!(s["total"], figures(Some(6), 6, 6, 3, 3, 1, Some(10.0), Some(4.33)));
    let categories: Vec<&str> =
        s["by_category"].as_array().unwrap().iter().map(|r| r["category"].as_str().unwrap()).collect();
    assert_eq!(categories, ["water"]);
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township", "issue_stats")))]
async fn staff_see_their_station_and_representatives_their_own(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    // staff02 works at 东阳 (a station without stations under it).
    let s = stats(&server, "staff02", PERIOD).await;
    assert_eq!(s["total"], figures(Some(4), 6, 4, 3, 3, 1, Some(10.0), Some(4.33)));
    let stations: Vec<&str> =
        s["by_station"].as_array().unwrap().iter().map(|r| r["station_id"].as_str().unwrap()).collect();
    assert_eq!(stations, [DONGYANG]);
    // Asking for another station's figures gives nothing of it.
    let s = stats(&server, "staff02", &format!("{PERIOD}&station_id={LUZHOU}")).await;
    assert_eq!(s["total"], figures(Some(0), 0, 0, 0, 0, 0, None, None));
    // rep013 raised I1, I2, I5 and I9 and made three visits that count.
    let s = stats(&server, "rep013", PERIOD).await;
    assert_eq!(s["total"], figures(Some(3), 4, 2, 2, 2, 1, Some(7.0), Some(4.5)));
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township", "issue_stats")))]
async fn the_default_period_is_the_last_twelve_months(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let s = stats(&server, "presidium", "/v1/issues/stats").await;
    let this_month = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m").to_string();
    let months: Vec<&str> = s["by_month"].as_array().unwrap().iter().map(|m| m["month"].as_str().unwrap()).collect();
    assert_eq!(months.len(), 12, "{months:?}");
    assert_eq!(months.last().copied(), Some(this_month.as_str()));
    assert_eq!(s["to"].as_str(), Some(this_month.as_str()));
    assert_eq!(s["from"].as_str(), months.first().copied());
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR", fixtures(path = "../fixtures", scripts("township")))]
async fn bad_periods_are_400s(pool: PgPool) {
    let server = Server::in_process(&pool).await;
    let token = server.login("presidium").await;
    for (query, field) in [
        ("from=2026-13", "from"),
        ("from=2026-1", "from"),
        ("to=last", "to"),
        ("from=2026-06&to=2026-05", "from"),
        ("from=2023-12&to=2026-12", "to"),
        ("station_id=nope", "station_id"),
        ("month=2026-05", "month"),
    ] {
        let (status, body) = server.get(&token, &format!("/v1/issues/stats?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        error_code(&body);
        assert_eq!(body["error"]["details"]["field"].as_str(), Some(field), "{query}: {body}");
    }
    // Exactly 36 months is allowed.
    let (status, body) = server.get(&token, "/v1/issues/stats?from=2024-01&to=2026-12").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["by_month"].as_array().unwrap().len(), 36);
    // Without a token: 401.
    let (status, _) = server.call(reqwest::Method::GET, None, "/v1/issues/stats", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// The demo's year (the twelve months before the one it was made in) reads
/// like 邵原镇's report: over 600 visits, 26 issues raised, 24 closed out.
#[sqlx::test(migrator = "fieldvisit::MIGRATOR")]
async fn the_demo_year_reads_like_the_township_report(pool: PgPool) {
    let server = Server::demo(&pool).await;
    let last: chrono::NaiveDate = sqlx::query_scalar(
        "SELECT (date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') - interval '1 month')::date",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let first = last.checked_sub_months(chrono::Months::new(11)).unwrap();
    let path = format!("/v1/issues/stats?from={}&to={}", first.format("%Y-%m"), last.format("%Y-%m"));
    let s = stats(&server, "presidium", &path).await;
    let total = &s["total"];
    assert!(total["visits"].as_i64().unwrap() > 600, "{total}");
    assert_eq!((total["raised"].as_i64(), total["closed_out"].as_i64()), (Some(26), Some(24)), "{total}");
    assert!(total["mean_satisfaction"].as_f64().is_some_and(|r| (1.0..=5.0).contains(&r)), "{total}");
}
