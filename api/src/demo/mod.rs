//! The demo township, modelled on 邵原镇 in 济源市: its stations, people,
//! places and assignments, loaded into the database by `fieldvisit demo`.
//! Loading is idempotent: ids are deterministic and existing rows are kept.
//! Each part is one step of [`load`], through the domain's commands and the
//! dispatcher, never by writing rows itself.

pub mod findings;
pub mod ledger;
pub mod township;
pub mod visits;

use std::collections::HashSet;

use anyhow::Context;
use chrono::NaiveDate;
use fieldvisit_sync::assignments::{self, AssignmentSource};
use fieldvisit_sync::command::{self, Command};
use fieldvisit_sync::people::{self, Role};
use fieldvisit_sync::scope::Scope;
use fieldvisit_sync::{places, stations};
use geo::Geometry;
use sqlx::PgPool;
use tokio::task::JoinSet;
use uuid::Uuid;

use self::township::DemoPerson;

/// The password of every demo login. Public on purpose: it is printed.
pub const DEMO_PASSWORD: &str = "fieldvisit";

/// The day from which the demo assignments run.
const ASSIGNED_FROM: NaiveDate = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a valid date");

/// What `load` found or wrote, for the banner.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub stations: usize,
    pub people: usize,
    pub places: usize,
    pub assignments: usize,
    /// The nearby rule's proposal over the demo, made by the planner.
    pub proposal: Uuid,
    /// History check-ins applied by this start (0 when already there).
    pub check_ins: usize,
    pub findings: usize,
    /// The months of history: the twelve before the demo was created.
    pub months: (fieldvisit_sync::month::Month, fieldvisit_sync::month::Month),
    pub ledger: ledger::Ledger,
    /// The username of the representative whose answered issue waits for them.
    pub waiting_raiser: Option<String>,
}

/// Seeds the demo township and, with `history`, its year of visits,
/// findings and ledger; what is already there is kept.
pub async fn load(db: &PgPool, history: bool) -> anyhow::Result<Loaded> {
    let t = township::township();
    seed_township(db, &t).await?;
    let proposal = rule_proposal(db).await.context("the nearby rule's proposal")?;
    let founded = fieldvisit_sync::stations::founded_at(db).await?.unwrap_or_else(chrono::Utc::now);
    let months = if history { visits::history_months(fieldvisit_sync::month::Month::of(founded)) } else { Vec::new() };
    let check_ins = visits::load_history(db, &months).await.context("visit history")?;
    let findings = findings::load_findings(db, &months).await.context("demo findings")?;
    let ledger = ledger::load_ledger(db, &months, chrono::Utc::now()).await.context("demo ledger")?;
    let waiting_raiser = match ledger.waiting_raiser {
        Some(id) => Some(fieldvisit_sync::sign_ins::me(db, id).await?.username),
        None => None,
    };
    let month = |d: Option<&chrono::NaiveDate>| fieldvisit_sync::month::Month::of_date(d.copied().unwrap_or_default());
    Ok(Loaded {
        stations: t.stations.len(),
        people: t.people.len(),
        places: t.places.len(),
        assignments: t.assignments.len(),
        proposal,
        check_ins,
        findings,
        months: (month(months.first()), month(months.last())),
        ledger,
        waiting_raiser,
    })
}

/// Creates the stations, people, places and assignments of `t` through the
/// same commands an admin's and a planner's requests run (so every rule and
/// audit event is the one a desk change gets), acting as the demo's `admin`,
/// who is created first, by themself. A record whose id is already there is
/// left alone, so a second start changes nothing. Records of one kind do not
/// depend on each other and are created several at a time.
async fn seed_township(db: &PgPool, t: &township::Township) -> anyhow::Result<()> {
    /// Every record there is: the demo's lists are a few hundred rows.
    const ALL: i64 = i64::MAX;
    let admin = t.people.iter().find(|p| p.role == Role::Admin).context("the demo has an admin")?;
    let everyone = Scope::default();
    let have_people: HashSet<Uuid> =
        people::list(db, &everyone, &people::Filter::default(), ALL).await?.into_iter().map(|p| p.id).collect();
    let missing: Vec<&DemoPerson> = t.people.iter().filter(|p| !have_people.contains(&p.id)).collect();
    // Every demo login has the same public password, so one argon2 hash
    // serves them all (argon2 is slow on purpose, and slower still in a
    // debug build); a per-user salt would protect nothing here. Hashed only
    // when someone is still missing.
    let hash = if missing.is_empty() {
        String::new()
    } else {
        crate::auth::password::hash(DEMO_PASSWORD.to_owned()).await.map_err(|e| anyhow::anyhow!("{e}"))?
    };
    let person = |p: &DemoPerson| {
        let create = people::Create {
            id: p.id,
            name: p.name.clone(),
            phone: Some(p.phone.clone()),
            username: p.username.clone(),
            password_hash: hash.clone(),
            role: p.role,
            station_id: p.station,
            anchor: p.anchor,
            visit_capacity: Some(p.visit_capacity),
        };
        (format!("person {}", p.username), create)
    };
    // The admin before the stations (so they can be the actor); everyone
    // else after them (their station must exist).
    let (first, others): (Vec<&DemoPerson>, Vec<&DemoPerson>) = missing.into_iter().partition(|p| p.id == admin.id);
    execute_all(db, admin.id, first.into_iter().map(person).collect()).await?;

    let have: HashSet<Uuid> =
        stations::list(db, &stations::Filter::default(), ALL).await?.into_iter().map(|s| s.id).collect();
    // One at a time, in order: a regional station names the central one.
    for s in t.stations.iter().filter(|s| !have.contains(&s.id)) {
        let create = stations::Create {
            id: s.id,
            parent_id: s.parent,
            level: s.level,
            code: s.code.clone(),
            name: s.name.clone(),
            location: s.location,
            service_area: s.service_area.clone().map(Geometry::MultiPolygon),
        };
        execute_all(db, admin.id, vec![(format!("station {}", s.name), create)]).await?;
    }

    execute_all(db, admin.id, others.into_iter().map(person).collect()).await?;

    let have: HashSet<Uuid> =
        places::list(db, &everyone, &places::Filter::default(), ALL).await?.into_iter().map(|p| p.id).collect();
    let creates = t.places.iter().filter(|p| !have.contains(&p.id)).map(|p| {
        let create = places::Create {
            id: p.id,
            kind: p.kind,
            name: p.name.clone(),
            address: Some(p.address.clone()),
            geometry: p.geometry.clone(),
            station_id: p.station,
            source: Some("demo".to_owned()),
            external_id: Some(p.external_id.clone()),
            attributes: Some(p.attributes.clone()),
        };
        (format!("place {}", p.name), create)
    });
    execute_all(db, admin.id, creates.collect()).await?;

    let have: HashSet<Uuid> = assignments::list(db, &everyone, &assignments::Filter::default(), ALL)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let creates = t.assignments.iter().filter(|a| !have.contains(&a.id)).map(|a| {
        let create = assignments::Create {
            id: a.id,
            person_id: a.person,
            place_id: a.place,
            valid_from: Some(ASSIGNED_FROM),
            valid_to: None,
            locked: false,
            // What the nearby rule would have decided.
            source: AssignmentSource::Rule,
        };
        (format!("assignment {}", a.id), create)
    });
    execute_all(db, admin.id, creates.collect()).await
}

/// The parameters the demo's assignments were made with (`township::NEEDS`, each place
/// within its station's subtree), as a planner would enter them.
pub fn rule_params() -> assignments::proposals::Params {
    use fieldvisit_sync::places::PlaceKind;
    let need = |kind| township::NEEDS.iter().find(|(k, _)| *k == kind).map_or(1, |(_, n)| *n);
    assignments::proposals::Params {
        needs: assignments::proposals::Needs {
            grid_cell: need(PlaceKind::GridCell),
            enterprise: need(PlaceKind::Enterprise),
            project_site: need(PlaceKind::ProjectSite),
        },
        within_station: true,
        ..assignments::proposals::Params::default()
    }
}

/// The planner's proposal of the nearby rule over the seeded demo, kept for review (the
/// assignments were made by the same rule, so it finds nothing to change until someone
/// edits them). Made once: a restart finds it by its id.
async fn rule_proposal(db: &PgPool) -> anyhow::Result<Uuid> {
    use fieldvisit_sync::assignments::proposals;
    let id = township::demo_id("proposal:nearby-rule");
    match proposals::get(db, id).await {
        Ok(_) => return Ok(id),
        Err(fieldvisit_sync::SyncError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let inputs = proposals::inputs(db, rule_params()).await?;
    let (inputs, body) = tokio::task::spawn_blocking(move || {
        let body = proposals::propose(&inputs);
        (inputs, body)
    })
    .await?;
    command::execute(db, township::person_id("planner"), proposals::Keep::new(id, &inputs, body?)).await?;
    Ok(id)
}

/// Applies each command as `by` through the dispatcher, several at once (as
/// many as the pool has connections), and fails with the first refusal,
/// named by its label.
async fn execute_all<C>(db: &PgPool, by: Uuid, commands: Vec<(String, C)>) -> anyhow::Result<()>
where
    C: Command + 'static,
    C::Output: 'static,
{
    let mut jobs = JoinSet::new();
    for (label, create) in commands {
        let db = db.clone();
        jobs.spawn(async move { command::execute(&db, by, create).await.with_context(|| label) });
    }
    while let Some(done) = jobs.join_next().await {
        done??;
    }
    Ok(())
}

/// What `fieldvisit demo` prints once it listens.
pub fn print_banner(addr: std::net::SocketAddr, loaded: &Loaded) {
    println!("console:   http://{addr}/   (sign in as presidium, planner, staff01 …; password below)");
    println!("fieldvisit listening on http://{addr}");
    println!("field app: http://{addr}/app   (representatives' phones: sign in as rep001 … rep087)");
    println!(
        "demo township 邵原镇 (济源市): {} stations, {} people, {} places, {} assignments",
        loaded.stations, loaded.people, loaded.places, loaded.assignments
    );
    println!("  assignments by the nearby rule (就近就便); its proposal: /v1/assignment-proposals/{}", loaded.proposal);
    if loaded.check_ins > 0 {
        println!("visit history {} … {}: {} check-ins added", loaded.months.0, loaded.months.1, loaded.check_ins);
    }
    if loaded.findings > 0 {
        println!("findings from those visits: {} added", loaded.findings);
    }
    if loaded.ledger.lists > 0 {
        println!(
            "issue ledger: {} issues over the year, {} closed out, {} monthly lists (the last a draft)",
            loaded.ledger.issues, loaded.ledger.closed_out, loaded.ledger.lists
        );
        if let Some(rep) = &loaded.waiting_raiser {
            println!("  an answer waits for {rep} to confirm it (销号) in the field app: /app#issues");
        }
    }
    println!("API docs:  http://{addr}/docs   (OpenAPI: http://{addr}/openapi.json)");
    println!("logins (password \"{DEMO_PASSWORD}\" for all):");
    println!("  admin, planner, presidium");
    println!("  staff01 … staff06   (one per station: 邵原中心站, 东阳, 碌碡, 牛庄, 段凹, 阳安)");
    println!("  rep001 … rep087     (representatives)");
    println!("press Ctrl-C to stop");
}
