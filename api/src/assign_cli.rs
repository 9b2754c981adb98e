//! `fieldvisit assign`: the nearby-assignment rule from the command line, on
//! the same path as `POST /v1/assignment-proposals` (and `…/apply`).

use anyhow::Context;
use clap::Args;
use fieldvisit_sync::assignments::proposals::{self, Params};
use fieldvisit_sync::command;
use uuid::Uuid;

use crate::config::Config;

#[derive(Debug, Args)]
pub struct AssignArgs {
    /// Only this station's subtree (its representatives and places).
    #[arg(long)]
    pub station: Option<Uuid>,
    /// No place farther than this from a representative's anchor.
    #[arg(long)]
    pub max_distance_m: Option<f64>,
    /// A place only to representatives of its own station's subtree.
    #[arg(long)]
    pub within_station: bool,
    /// The capacity of representatives whose own is 0.
    #[arg(long, default_value_t = 0)]
    pub default_capacity: u32,
    /// Apply the proposal (the default only makes and prints it).
    #[arg(long)]
    pub apply: bool,
    /// The planner the proposal is recorded for.
    #[arg(long, default_value = "planner")]
    pub by: String,
    #[command(flatten)]
    pub config: Config,
}

pub async fn run(a: AssignArgs) -> anyhow::Result<()> {
    let db = crate::server::open_database(&a.config).await?;
    let by = fieldvisit_sync::sign_ins::credentials(&db.pool, &a.by)
        .await?
        .with_context(|| format!("no active person {:?} to record the proposal for", a.by))?
        .id;
    let params = Params {
        max_distance_m: a.max_distance_m,
        within_station: a.within_station,
        default_capacity: a.default_capacity,
        station_id: a.station,
        ..Params::default()
    };
    let id =
        crate::routes::assignment_proposals::propose(&db.pool, by, params).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let p = proposals::get(&db.pool, id).await?;
    let b = &p.body;
    println!("proposal {id}");
    println!(
        "  {} assignments, total {} km; {} places short ({} representatives without an anchor left out)",
        b.assignments.len(),
        b.total_distance_m / 1000,
        b.unserved.len(),
        b.without_anchor
    );
    println!(
        "  against what is in force: {} added, {} removed, {} kept",
        b.diff.added.len(),
        b.diff.removed.len(),
        b.diff.kept
    );
    println!(
        "  solver: {:.3} s, optimal: {}",
        b.figures["seconds"].as_f64().unwrap_or_default(),
        b.figures["optimal"].as_bool().unwrap_or_default()
    );
    for u in &b.unserved {
        println!("  short: {} (missing {}): {}", u.place_name, u.missing, u.reason.as_str().unwrap_or_default());
    }
    if a.apply {
        let diff = command::execute(&db.pool, by, proposals::Apply { id }).await?;
        println!("applied: {} opened, {} ended", diff.added.len(), diff.removed.len());
    } else {
        println!("not applied (add --apply, or POST /v1/assignment-proposals/{id}/apply)");
    }
    Ok(())
}
