//! The simulator end to end: devices of demo representatives work through
//! November 2026 against the real server while answers are dropped after
//! the commit and batches are sent twice; every device must end up with the
//! server's data, and every check-in must be on the server exactly once.

use fieldvisit::simulate::{SimulateArgs, run};
use fieldvisit_tests::Server;
use sqlx::PgPool;
use uuid::Uuid;

#[sqlx::test(migrations = false)]
async fn six_devices_converge_through_dropped_answers_and_repeated_sends(pool: PgPool) {
    let server = Server::demo(&pool).await;
    let args = SimulateArgs {
        server: server.base.clone(),
        devices: 6,
        month: "2026-11".into(),
        seed: 7,
        drop_rate: 0.25,
        password: "fieldvisit".into(),
    };
    let report = run(&args).await.expect("the simulation runs");
    let text = report.to_string();
    println!("{text}");
    assert!(report.converged(), "{text}");

    let sent = report.sent_ids();
    // Visits planned after the server's clock are not sent; by late November
    // most of the month has happened.
    assert!(sent.len() >= 5, "too few check-ins to mean anything: {text}");
    let clients: Vec<Uuid> = report.devices.iter().map(|d| d.client_id).collect();
    let count = |sql: &'static str| {
        let (pool, sent, clients) = (&pool, &sent, &clients);
        async move { sqlx::query_scalar::<_, i64>(sql).bind(sent).bind(clients).fetch_one(pool).await.unwrap() }
    };
    let n = i64::try_from(sent.len()).unwrap();
    // Each check-in sent is on the server...
    assert_eq!(count("SELECT count(*) FROM check_ins WHERE id = ANY($1) AND $2::uuid[] IS NOT NULL").await, n);
    // ...and the devices wrote nothing else, however often they repeated themselves.
    assert_eq!(count("SELECT count(*) FROM check_ins WHERE client_id = ANY($2) AND $1::uuid[] IS NOT NULL").await, n);
    assert_eq!(count("SELECT count(*) FROM sync_mutations WHERE client_id = ANY($2) AND status = 'applied' AND $1::uuid[] IS NOT NULL").await, n);
    // Clocks hours ahead or days behind were corrected: every visit counts for November.
    assert_eq!(count("SELECT count(*) FROM check_ins WHERE id = ANY($1) AND visit_month <> '2026-11-01' AND $2::uuid[] IS NOT NULL").await, 0);

    assert!(report.total(|d| d.connection.dropped_responses) > 0, "{text}");
    assert!(report.total(|d| d.stats.duplicate) > 0, "retries after a dropped answer are answered as duplicates: {text}");
    assert!(report.total(|d| d.stats.repeated_sends) > 0, "{text}");
    assert_eq!(report.total(|d| d.stats.rejected), 0, "{text}");
    // Each mutation was applied once, whichever answer the device saw.
    assert_eq!(report.devices.iter().map(|d| d.outcome_applied).sum::<usize>(), sent.len(), "{text}");
    // Fewer than one in five check-ins fails the geofence or is suspicious.
    let verdicts = report.verdicts();
    assert!(verdicts.get("verified").copied().unwrap_or(0) * 5 >= sent.len() * 3, "{text}");
}
