//! Findings: `finding.create.v1` and `finding.update.v1`. A finding belongs
//! to its author, who may edit it until station staff take it into an issue.

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Applying, Outcome, parse_args, payload_hash, repeated};
use crate::protocol::{FindingCreateV1, FindingUpdateV1, ReportedPosition};
use fieldvisit_geodata::{validate, wkb};
use geo::{Geometry, Point};

/// Longest description kept.
pub const DESCRIPTION_MAX_CHARS: usize = 4000;
const SEVERITIES: &[&str] = &["low", "medium", "high", "urgent"];

fn description(d: &str) -> Result<String, Outcome> {
    let d = d.trim();
    if d.is_empty() || d.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(Outcome::rejected(
            "invalid_description",
            format!("description must have 1 to {DESCRIPTION_MAX_CHARS} characters"),
        ));
    }
    if d.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Outcome::rejected("invalid_description", "description contains control characters"));
    }
    Ok(d.to_owned())
}

fn severity(s: &str) -> Result<(), Outcome> {
    if SEVERITIES.contains(&s) {
        Ok(())
    } else {
        Err(Outcome::rejected("invalid_severity", format!("severity must be one of {}", SEVERITIES.join(", "))))
    }
}

fn position(p: Option<&ReportedPosition>) -> Result<Option<(Vec<u8>, Value)>, Outcome> {
    let Some(p) = p else { return Ok(None) };
    let g = Geometry::Point(Point::new(p.lon, p.lat));
    validate::check_coordinates(&g).map_err(|e| Outcome::rejected("invalid_position", format!("position: {e}")))?;
    let wgs = Point::from(p.crs.to_wgs84(geo::Coord { x: p.lon, y: p.lat }));
    Ok(Some((wkb::to_wkb(&Geometry::Point(wgs)), json!({ "lon": p.lon, "lat": p.lat, "crs": p.crs }))))
}

async fn category_exists(tx: &mut sqlx::PgConnection, code: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(include_str!("category_exists.sql")).bind(code).fetch_one(tx).await
}

pub async fn create_v1(tx: &mut sqlx::PgConnection, args: &Value, a: &Applying<'_>) -> Result<Outcome, sqlx::Error> {
    let args: FindingCreateV1 = match parse_args(args) {
        Ok(v) => v,
        Err(o) => return Ok(o),
    };
    if !a.actor.representative {
        return Ok(Outcome::rejected("not_a_representative", "only representatives file findings"));
    }
    let (text, pos) = match (description(&args.description), severity(&args.severity), position(args.position.as_ref()))
    {
        (Ok(t), Ok(()), Ok(p)) => (t, p),
        (Err(o), _, _) | (_, Err(o), _) | (_, _, Err(o)) => return Ok(o),
    };
    let hash = payload_hash(&args);
    let existing: Option<(Vec<u8>, i64)> =
        sqlx::query_as(include_str!("finding_existing.sql")).bind(args.id).fetch_optional(&mut *tx).await?;
    if let Some((stored, version)) = existing {
        return Ok(repeated("finding", "create", args.id, &stored, &hash, || {
            Outcome::Applied(json!({ "id": args.id, "version": version }))
        }));
    }
    let place: Option<(Uuid, bool)> =
        sqlx::query_as(include_str!("place_of_finding.sql")).bind(args.place_id).fetch_optional(&mut *tx).await?;
    match place {
        Some((station, true)) if a.actor.may_visit(station) => {}
        Some((station, false)) if a.actor.may_visit(station) => {
            return Ok(Outcome::rejected("place_inactive", "this place is no longer active"));
        }
        _ => return Ok(Outcome::rejected("unknown_place", format!("no place {}", args.place_id))),
    }
    if let Some(c) = args.check_in_id {
        let owner: Option<(Uuid, Uuid)> =
            sqlx::query_as(include_str!("check_in_of_finding.sql")).bind(c).fetch_optional(&mut *tx).await?;
        match owner {
            Some((person, place)) if person == a.actor.person_id && place == args.place_id => {}
            Some((person, _)) if person == a.actor.person_id => {
                return Ok(Outcome::rejected("check_in_mismatch", "the check-in was made at another place"));
            }
            _ => return Ok(Outcome::rejected("unknown_check_in", format!("no check-in {c} of yours"))),
        }
    }
    if !category_exists(tx, &args.category).await? {
        return Ok(Outcome::rejected("unknown_category", format!("no finding category {:?}", args.category)));
    }
    sqlx::query(include_str!("insert_finding.sql"))
        .bind(args.id)
        .bind(a.actor.person_id)
        .bind(args.place_id)
        .bind(args.check_in_id)
        .bind(&args.category)
        .bind(text)
        .bind(&args.severity)
        .bind(pos.as_ref().map(|p| p.0.clone()))
        .bind(pos.map(|p| p.1))
        .bind(hash)
        .bind(a.ctx.received_at)
        .execute(&mut *tx)
        .await?;
    Ok(Outcome::Applied(json!({ "id": args.id, "version": 1 })))
}

pub async fn update_v1(tx: &mut sqlx::PgConnection, args: &Value, a: &Applying<'_>) -> Result<Outcome, sqlx::Error> {
    let args: FindingUpdateV1 = match parse_args(args) {
        Ok(v) => v,
        Err(o) => return Ok(o),
    };
    let current: Option<(Uuid, Option<Uuid>)> =
        sqlx::query_as(include_str!("lock_finding.sql")).bind(args.id).fetch_optional(&mut *tx).await?;
    match current {
        Some((author, _)) if author != a.actor.person_id => {
            return Ok(Outcome::rejected("unknown_finding", format!("no finding {} of yours", args.id)));
        }
        None => return Ok(Outcome::rejected("unknown_finding", format!("no finding {} of yours", args.id))),
        Some((_, Some(_))) => {
            return Ok(Outcome::rejected(
                "taken_into_issue",
                "station staff have taken this finding into an issue; it can no longer be edited",
            ));
        }
        Some((_, None)) => {}
    }
    let text = match args.description.as_deref().map(description).transpose() {
        Ok(t) => t,
        Err(o) => return Ok(o),
    };
    if let Some(Err(o)) = args.severity.as_deref().map(severity) {
        return Ok(o);
    }
    let pos = match position(args.position.as_ref()) {
        Ok(p) => p,
        Err(o) => return Ok(o),
    };
    if let Some(c) = &args.category
        && !category_exists(tx, c).await?
    {
        return Ok(Outcome::rejected("unknown_category", format!("no finding category {c:?}")));
    }
    let version: i64 = sqlx::query_scalar(include_str!("update_finding.sql"))
        .bind(args.id)
        .bind(&args.category)
        .bind(text)
        .bind(&args.severity)
        .bind(pos.as_ref().map(|p| p.0.clone()))
        .bind(pos.map(|p| p.1))
        .fetch_one(&mut *tx)
        .await?;
    Ok(Outcome::Applied(json!({ "id": args.id, "version": version })))
}
