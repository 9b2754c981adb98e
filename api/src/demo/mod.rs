//! The demo township, modelled on 邵原镇 in 济源市: its stations, people,
//! places and assignments, loaded into the database by `fieldvisit demo`.
//! Loading is idempotent: ids are deterministic and existing rows are kept.

pub mod findings;
pub mod ledger;
pub mod township;
pub mod visits;

use anyhow::Context;
use sqlx::PgPool;

use crate::geo_input::to_wkb;

/// The password of every demo login. Public on purpose: it is printed.
pub const DEMO_PASSWORD: &str = "fieldvisit";

/// The day from which the demo assignments run.
const ASSIGNED_FROM: &str = "2026-01-01";

/// What `load` found or wrote, for the banner.
#[derive(Debug, Clone, Copy)]
pub struct Loaded {
    pub stations: usize,
    pub people: usize,
    pub places: usize,
    pub assignments: usize,
    /// History check-ins applied by this start (0 when already there).
    pub check_ins: usize,
    pub findings: usize,
    /// The months of history: the twelve before the demo was created.
    pub months: (fieldvisit_sync::month::Month, fieldvisit_sync::month::Month),
    pub ledger: ledger::Ledger,
}

/// Writes the demo township in one transaction; rows already present are kept.
pub async fn load(db: &PgPool) -> anyhow::Result<Loaded> {
    let t = township::township();
    // Every demo login has the same public password, so one argon2 hash
    // serves them all; a per-user salt would protect nothing here and would
    // cost a second or two of CPU at every demo start.
    let hash = crate::auth::password::hash(DEMO_PASSWORD.to_owned()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tx = db.begin().await?;
    for s in &t.stations {
        sqlx::query(
            "INSERT INTO stations (id, parent_id, level, code, name, location, service_area)
             VALUES ($1, $2, $3::station_level, $4, $5, ST_GeomFromWKB($6, 4326), ST_GeomFromWKB($7, 4326))
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(s.id)
        .bind(s.parent)
        .bind(s.level)
        .bind(&s.code)
        .bind(&s.name)
        .bind(to_wkb(&s.location.into()))
        .bind(s.service_area.as_ref().map(|a| to_wkb(&a.clone().into())))
        .execute(&mut *tx)
        .await
        .with_context(|| format!("station {}", s.name))?;
    }
    for p in &t.people {
        sqlx::query(
            "INSERT INTO people (id, name, phone, username, password_hash, role, station_id, anchor, visit_capacity)
             VALUES ($1, $2, $3, $4, $5, $6::person_role, $7, ST_GeomFromWKB($8, 4326), $9)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(p.id)
        .bind(&p.name)
        .bind(&p.phone)
        .bind(&p.username)
        .bind(&hash)
        .bind(p.role)
        .bind(p.station)
        .bind(p.anchor.map(|a| to_wkb(&a.into())))
        .bind(p.visit_capacity)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("person {}", p.username))?;
    }
    for p in &t.places {
        sqlx::query(
            "INSERT INTO places (id, kind, name, address, geom, station_id, source, external_id, attributes)
             VALUES ($1, $2::place_kind, $3, $4, ST_GeomFromWKB($5, 4326), $6, 'demo', $7, $8)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(p.id)
        .bind(p.kind)
        .bind(&p.name)
        .bind(&p.address)
        .bind(to_wkb(&p.geometry))
        .bind(p.station)
        .bind(&p.external_id)
        .bind(&p.attributes)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("place {}", p.name))?;
    }
    for a in &t.assignments {
        sqlx::query(
            "INSERT INTO assignments (id, person_id, place_id, valid_from, source)
             VALUES ($1, $2, $3, $4::date, 'rule') ON CONFLICT (id) DO NOTHING",
        )
        .bind(a.id)
        .bind(a.person)
        .bind(a.place)
        .bind(ASSIGNED_FROM)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let founded = fieldvisit_sync::stations::founded_at(db).await?.unwrap_or_else(chrono::Utc::now);
    let months = visits::history_months(fieldvisit_sync::month::Month::of(founded));
    let check_ins = visits::load_history(db, &months).await.context("visit history")?;
    let findings = findings::load_findings(db, &months).await.context("demo findings")?;
    let ledger = ledger::load_ledger(db, &months, chrono::Utc::now()).await.context("demo ledger")?;
    let month = |d: Option<&chrono::NaiveDate>| fieldvisit_sync::month::Month::of_date(d.copied().unwrap_or_default());
    Ok(Loaded {
        stations: t.stations.len(),
        people: t.people.len(),
        places: t.places.len(),
        assignments: t.assignments.len(),
        check_ins,
        findings,
        months: (month(months.first()), month(months.last())),
        ledger,
    })
}

/// What `fieldvisit demo` prints once it listens.
pub fn print_banner(addr: std::net::SocketAddr, loaded: &Loaded) {
    println!("fieldvisit listening on http://{addr}");
    println!(
        "demo township 邵原镇 (济源市): {} stations, {} people, {} places, {} assignments",
        loaded.stations, loaded.people, loaded.places, loaded.assignments
    );
    if loaded.check_ins > 0 {
        println!("visit history {} … {}: {} check-ins added", loaded.months.0, loaded.months.1, loaded.check_ins);
    }
    if loaded.findings > 0 {
        println!("findings from those visits: {} added", loaded.findings);
    }
    println!(
        "issue ledger: {} issues over the year, {} closed out, {} monthly lists (the last a draft)",
        loaded.ledger.issues, loaded.ledger.closed_out, loaded.ledger.lists
    );
    println!("API docs:  http://{addr}/docs   (OpenAPI: http://{addr}/openapi.json)");
    println!("logins (password \"{DEMO_PASSWORD}\" for all):");
    println!("  admin, planner, presidium");
    println!("  staff01 … staff06   (one per station: 邵原中心站, 东阳, 碌碡, 牛庄, 段凹, 阳安)");
    println!("  rep001 … rep087     (representatives)");
    println!("press Ctrl-C to stop");
}
