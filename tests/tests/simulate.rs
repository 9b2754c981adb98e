//! The simulator end to end: devices of demo representatives work through
//! a month (the current one from its 15th, else the previous one) against the real server while answers are dropped after
//! the commit and batches are sent twice; every device must end up with the
//! server's data, and every check-in must be on the server exactly once.
//! With photos, uploads are also cut mid-body and `complete` answers lost;
//! every photo declared must end up uploaded exactly once, byte for byte.

use fieldvisit::simulate::{SimulateArgs, run};
use fieldvisit_tests::Server;
use sqlx::PgPool;
use uuid::Uuid;

/// The simulator replays a month's visits in a minute, so its check-ins
/// reach the server days or weeks after their device times: the server is
/// given a grace period that covers the replay (the late rule itself is
/// tested in late.rs). The township alone: the simulated month needs its
/// places and assignments, not the demo's year of history.
const REPLAY_GRACE: &[(&str, &str)] = &[
    ("FIELDVISIT_LATE_GRACE_HOURS", "1500"),
    ("FIELDVISIT_MONTH_GRACE_DAYS", "27"),
    ("FIELDVISIT_DEMO_HISTORY", "none"),
];

/// A month of which at least two weeks have passed and which is still open
/// with 27 grace days: the current one from its 15th, else the previous one.
fn month_to_replay() -> String {
    use chrono::Datelike;
    let today = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).date_naive();
    let month = if today.day() >= 15 { today } else { today.with_day(1).unwrap() - chrono::Duration::days(1) };
    month.format("%Y-%m").to_string()
}

#[sqlx::test(migrations = false)]
async fn six_devices_converge_through_dropped_answers_and_repeated_sends(pool: PgPool) {
    let server = Server::demo_with(&pool, REPLAY_GRACE).await;
    let month = month_to_replay();
    let args = SimulateArgs {
        server: server.base.clone(),
        devices: 6,
        month: month.clone(),
        seed: 7,
        drop_rate: 0.25,
        photos: 0.0,
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
    // Clocks hours ahead or days behind were corrected: every visit counts for the month.
    let elsewhere: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM check_ins WHERE id = ANY($1) AND to_char(visit_month, 'YYYY-MM') <> $2",
    )
    .bind(&sent)
    .bind(&month)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(elsewhere, 0);

    assert!(report.total(|d| d.connection.dropped_responses) > 0, "{text}");
    assert!(
        report.total(|d| d.stats.duplicate) > 0,
        "retries after a dropped answer are answered as duplicates: {text}"
    );
    assert!(report.total(|d| d.stats.repeated_sends) > 0, "{text}");
    assert_eq!(report.total(|d| d.stats.rejected), 0, "{text}");
    // Each mutation was applied once, whichever answer the device saw.
    assert_eq!(report.devices.iter().map(|d| d.outcome_applied).sum::<usize>(), sent.len(), "{text}");
    // Fewer than one in five check-ins fails the geofence or is suspicious.
    let verdicts = report.verdicts();
    assert!(verdicts.get("verified").copied().unwrap_or(0) * 5 >= sent.len() * 3, "{text}");
}

#[sqlx::test(migrations = false)]
async fn every_declared_photo_is_uploaded_once_through_cut_uploads(pool: PgPool) {
    // A photo store of its own: the default one is shared by every server
    // started from this folder, and the simulator's photo ids and bytes
    // repeat with the seed, so an earlier run's object would answer
    // `complete` before any byte of this run moved.
    let dir = PhotoDir::new();
    let mut env = vec![("FIELDVISIT_PHOTO_DIR", dir.0.to_str().expect("a UTF-8 temporary folder"))];
    env.extend_from_slice(REPLAY_GRACE);
    let server = Server::demo_with(&pool, &env).await;
    let args = SimulateArgs {
        server: server.base.clone(),
        devices: 4,
        month: month_to_replay(),
        seed: 1,
        drop_rate: 0.25,
        photos: 0.5,
        password: "fieldvisit".into(),
    };
    let report = run(&args).await.expect("the simulation runs");
    let text = report.to_string();
    println!("{text}");
    assert!(report.converged(), "{text}");

    let declared = report.declared_photos();
    assert!(declared.len() >= 4, "too few photos to mean anything: {text}");
    let ids: Vec<Uuid> = declared.iter().map(|p| p.id).collect();
    let hashes: Vec<String> = declared.iter().map(|p| p.sha256.clone()).collect();
    let clients: Vec<Uuid> = report.devices.iter().map(|d| d.client_id).collect();
    let n = i64::try_from(declared.len()).unwrap();
    let count = |sql: &'static str| {
        let (pool, ids, hashes, clients) = (&pool, &ids, &hashes, &clients);
        async move { sqlx::query_scalar::<_, i64>(sql).bind(ids).bind(hashes).bind(clients).fetch_one(pool).await.unwrap() }
    };
    // Each photo declared is on the server, uploaded, with the bytes declared...
    assert_eq!(
        count(
            "SELECT count(*) FROM photos p JOIN unnest($1::uuid[], $2::text[]) AS d(id, sha256) ON d.id = p.id
             WHERE p.status = 'uploaded' AND encode(p.sha256, 'hex') = d.sha256 AND $3::uuid[] IS NOT NULL"
        )
        .await,
        n
    );
    // ...and the devices' check-ins carry no other photo row, however often
    // the uploads were cut and repeated.
    assert_eq!(
        count("SELECT count(*) FROM photos p JOIN check_ins c ON c.id = p.check_in_id WHERE c.client_id = ANY($3) AND $1::uuid[] IS NOT NULL AND $2::text[] IS NOT NULL").await,
        n
    );
    assert_eq!(report.total(|d| d.photo_stats.declared), declared.len() as u64, "no declaration was rejected: {text}");
    assert_eq!(
        report.total(|d| d.photo_stats.uploaded),
        declared.len() as u64,
        "complete answered uploaded once per photo: {text}"
    );
    assert_eq!(report.devices.iter().map(|d| d.photos_verified).sum::<usize>(), declared.len(), "{text}");

    // The faults happened: uploads were cut mid-body, `complete` then found
    // nothing and the bytes went again.
    assert!(report.total(|d| d.photo_stats.cut_uploads) > 0, "{text}");
    assert!(report.total(|d| d.photo_stats.not_uploaded) > 0, "{text}");
    assert!(report.total(|d| d.photo_stats.puts) > declared.len() as u64, "{text}");
    // The EXIF sits at the check-in's position and time: nothing to flag.
    assert_eq!(report.devices.iter().map(|d| d.photos_flagged).sum::<usize>(), 0, "{text}");
}

/// A temporary photo folder, removed when dropped.
struct PhotoDir(std::path::PathBuf);

impl PhotoDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("fieldvisit-simulate-photos-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("creating the photo folder");
        Self(dir)
    }
}

impl Drop for PhotoDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
