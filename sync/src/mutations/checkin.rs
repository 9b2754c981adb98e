//! Check-ins: `checkin.create.v1` from devices (append-only, judged, never
//! refused for being far away) and the staff review of a judged check-in.

use chrono::{DateTime, Utc};
use fieldvisit_geodata::geofence::{self, Evidence, FenceKind, PreviousCheckIn};
use fieldvisit_geodata::{validate, wkb};
use geo::{Geometry, Point};
use std::collections::HashMap;

use serde_json::{Value, json};
use uuid::Uuid;

use super::{Applying, Outcome, parse_args, payload_hash, repeated};
use crate::month::Month;
use crate::protocol::{CheckInCreateV1, CheckInOutcome};
use crate::push::as_seconds;

/// Longest note kept with a check-in.
pub const NOTE_MAX_CHARS: usize = 2000;

/// Applies one `checkin.create.v1`: the run of one, so that a check-in is
/// judged by exactly the same code whether it came alone or in a batch.
pub async fn create_v1(tx: &mut sqlx::PgConnection, args: &Value, a: &Applying<'_>) -> Result<Outcome, sqlx::Error> {
    let mut outcomes = create_batch(tx, &[args], a).await?;
    Ok(outcomes.pop().unwrap_or_else(|| Outcome::rejected("invalid_args", "not applied")))
}

/// Applies a run of `checkin.create.v1` mutations with a handful of
/// statements for the whole run instead of several per check-in: one look-up
/// of existing ids, one of the places, one of each check-in's neighbours in
/// time, one insert. The rules are those of [`create_v1`]; a run is judged in
/// order, so a check-in's neighbour may be an earlier one of the same run.
pub async fn create_batch(
    tx: &mut sqlx::PgConnection,
    items: &[&Value],
    a: &Applying<'_>,
) -> Result<Vec<Outcome>, sqlx::Error> {
    let received_at = a.ctx.received_at;
    let mut outcomes: Vec<Option<Outcome>> = vec![None; items.len()];
    let mut parsed: Vec<Option<CheckInCreateV1>> = Vec::with_capacity(items.len());
    for (i, args) in items.iter().enumerate() {
        let p = parse_args::<CheckInCreateV1>(args).and_then(|p| check_args(&p).map(|()| p));
        match p {
            Ok(p) if a.actor.representative => parsed.push(Some(p)),
            Ok(_) => {
                outcomes[i] = Some(Outcome::rejected("not_a_representative", "only representatives check in"));
                parsed.push(None);
            }
            Err(o) => {
                outcomes[i] = Some(o);
                parsed.push(None);
            }
        }
    }
    let ids: Vec<Uuid> = parsed.iter().flatten().map(|p| p.id).collect();
    let existing: HashMap<Uuid, (Vec<u8>, Value)> =
        sqlx::query_as::<_, (Uuid, Vec<u8>, Value)>(include_str!("existing_check_ins.sql"))
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(id, h, o)| (id, (h, o)))
            .collect();
    let mut place_ids: Vec<Uuid> = parsed.iter().flatten().map(|p| p.place_id).collect();
    place_ids.sort();
    place_ids.dedup();
    // Geometries decoded once per place, however many check-ins name it.
    let places: HashMap<Uuid, (String, Uuid, bool, Option<Geometry>)> =
        sqlx::query_as::<_, (Uuid, String, Uuid, bool, Vec<u8>)>(
            "SELECT id, kind::text, station_id, active, ST_AsBinary(geom) FROM places WHERE id = ANY($1)",
        )
        .bind(&place_ids)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(id, k, s, act, g)| (id, (k, s, act, wkb::from_wkb(&g).ok())))
        .collect();
    let times: Vec<DateTime<Utc>> = parsed
        .iter()
        .map(|p| {
            p.as_ref().map_or(received_at, |p| visit_time(p.device_time.with_timezone(&Utc), received_at, a.skew_s))
        })
        .collect();
    let stored_neighbours = neighbours_in_time(tx, a.actor.person_id, &times).await?;

    let mut rows = NewRows::default();
    let mut taken: Vec<(Point, DateTime<Utc>)> = Vec::new();
    let mut seen: HashMap<Uuid, (Vec<u8>, usize)> = HashMap::new();
    for (i, p) in parsed.iter().enumerate() {
        let Some(args) = p else { continue };
        let hash = payload_hash(args);
        if let Some((stored, outcome)) = existing.get(&args.id) {
            outcomes[i] =
                Some(repeated("check-in", "create", args.id, stored, &hash, || Outcome::Applied(outcome.clone())));
            continue;
        }
        if let Some((first_hash, j)) = seen.get(&args.id) {
            let first = outcomes[*j].clone();
            outcomes[i] = Some(repeated("check-in", "create", args.id, first_hash, &hash, || {
                first.unwrap_or_else(|| id_conflict(args.id))
            }));
            continue;
        }
        let Some((kind, station, active, geom)) = places.get(&args.place_id) else {
            outcomes[i] = Some(Outcome::rejected("unknown_place", format!("no place {}", args.place_id)));
            continue;
        };
        if !a.actor.may_visit(*station) {
            outcomes[i] = Some(Outcome::rejected("unknown_place", format!("no place {}", args.place_id)));
            continue;
        }
        if !active {
            outcomes[i] = Some(Outcome::rejected("place_inactive", "this place is no longer active"));
            continue;
        }
        let Some(geom) = geom else {
            outcomes[i] = Some(Outcome::rejected("invalid_data", "the place's geometry cannot be read"));
            continue;
        };
        let device_time = args.device_time.with_timezone(&Utc);
        let visited_at = times[i];
        let position =
            Point::from(args.position.crs.to_wgs84(geo::Coord { x: args.position.lon, y: args.position.lat }));
        let previous = stored_neighbours[i]
            .iter()
            .copied()
            .chain(taken.iter().copied())
            .min_by_key(|(_, t)| (*t - visited_at).num_milliseconds().abs())
            .map(|(p, t)| PreviousCheckIn { position: p, at_s: as_seconds(t) });
        let fence = if kind == "grid_cell" { FenceKind::Cell } else { FenceKind::Site };
        let evidence = Evidence {
            position,
            accuracy_m: args.accuracy_m,
            mock_location: args.mock_location,
            device_ahead_s: as_seconds(device_time) - as_seconds(received_at),
            visited_at_s: as_seconds(visited_at),
            previous,
            received_after_s: as_seconds(received_at) - as_seconds(visited_at),
            month_closed: Month::of(visited_at).is_closed_at(a.ctx.rules.month_grace_days, received_at),
        };
        let j = geofence::judge(geom, fence, &evidence, &a.ctx.rules);
        let reasons: Vec<String> = j.reasons.iter().map(|r| r.as_str().to_owned()).collect();
        outcomes[i] = Some(Outcome::Applied(
            serde_json::to_value(CheckInOutcome {
                id: args.id,
                verdict: j.verdict.as_str().to_owned(),
                reasons: reasons.clone(),
                distance_m: round_cm(finite_or(j.distance_m, -1.0)),
                geofence_m: round_cm(j.geofence_m),
                visited_at,
                month: String::new(),
                late_by_s: late_by_s(visited_at, received_at),
            })
            .expect("an outcome serialises"),
        ));
        rows.push(args, position, device_time, visited_at, &j, reasons.join(","), hash.clone());
        taken.push((position, visited_at));
        seen.insert(args.id, (hash, i));
    }

    if !rows.id.is_empty() {
        let months: HashMap<Uuid, String> = rows.insert(tx, a, received_at).await?;
        for o in outcomes.iter_mut().flatten() {
            if let Outcome::Applied(v) = o
                && let Some(month) =
                    v["id"].as_str().and_then(|id| id.parse::<Uuid>().ok()).and_then(|id| months.get(&id))
                && v["month"] == ""
            {
                v["month"] = Value::String(month.clone());
            }
        }
    }
    Ok(outcomes.into_iter().map(|o| o.unwrap_or_else(|| Outcome::rejected("invalid_args", "not applied"))).collect())
}

fn id_conflict(id: Uuid) -> Outcome {
    super::id_conflict("check-in", "create", id)
}

/// For each time, the person's stored check-ins just before and just after it.
async fn neighbours_in_time(
    tx: &mut sqlx::PgConnection,
    person: Uuid,
    times: &[DateTime<Utc>],
) -> Result<Vec<Vec<(Point, DateTime<Utc>)>>, sqlx::Error> {
    let rows: Vec<(i64, f64, f64, DateTime<Utc>)> =
        sqlx::query_as(include_str!("neighbours_in_time.sql")).bind(person).bind(times).fetch_all(&mut *tx).await?;
    let mut out = vec![Vec::new(); times.len()];
    for (i, x, y, t) in rows {
        if let Some(slot) = usize::try_from(i - 1).ok().and_then(|i| out.get_mut(i)) {
            slot.push((Point::new(x, y), t));
        }
    }
    Ok(out)
}

/// The columns of the check-ins a run inserts, one vector per column.
#[derive(Default)]
struct NewRows {
    id: Vec<Uuid>,
    place: Vec<Uuid>,
    position: Vec<Vec<u8>>,
    reported: Vec<Value>,
    accuracy: Vec<f64>,
    mock: Vec<bool>,
    device_time: Vec<DateTime<Utc>>,
    offset: Vec<i32>,
    visited_at: Vec<DateTime<Utc>>,
    note: Vec<Option<String>>,
    distance: Vec<f64>,
    geofence: Vec<f64>,
    speed: Vec<Option<f64>>,
    verdict: Vec<&'static str>,
    reasons: Vec<String>,
    hash: Vec<Vec<u8>>,
}

impl NewRows {
    #[expect(clippy::too_many_arguments, reason = "one row's columns, gathered in one place")]
    fn push(
        &mut self,
        args: &CheckInCreateV1,
        position: Point,
        device_time: DateTime<Utc>,
        visited_at: DateTime<Utc>,
        j: &geofence::Judgement,
        reasons: String,
        hash: Vec<u8>,
    ) {
        self.id.push(args.id);
        self.place.push(args.place_id);
        self.position.push(wkb::to_wkb(&Geometry::Point(position)));
        self.reported.push(json!({ "lon": args.position.lon, "lat": args.position.lat, "crs": args.position.crs }));
        self.accuracy.push(args.accuracy_m);
        self.mock.push(args.mock_location);
        self.device_time.push(device_time);
        self.offset.push(args.device_time.offset().local_minus_utc());
        self.visited_at.push(visited_at);
        self.note.push(args.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned));
        self.distance.push(finite_or(j.distance_m, -1.0));
        self.geofence.push(j.geofence_m);
        self.speed.push(j.speed_kmh.filter(|s| s.is_finite()));
        self.verdict.push(j.verdict.as_str());
        self.reasons.push(reasons);
        self.hash.push(hash);
    }

    async fn insert(
        &self,
        tx: &mut sqlx::PgConnection,
        a: &Applying<'_>,
        received_at: DateTime<Utc>,
    ) -> Result<HashMap<Uuid, String>, sqlx::Error> {
        let rows: Vec<(Uuid, String)> = sqlx::query_as(include_str!("insert_check_ins.sql"))
            .bind(&self.id)
            .bind(a.actor.person_id)
            .bind(&self.place)
            .bind(a.client_id)
            .bind(&self.position)
            .bind(&self.reported)
            .bind(&self.accuracy)
            .bind(&self.mock)
            .bind(&self.device_time)
            .bind(&self.offset)
            .bind(received_at)
            .bind(a.skew_s)
            .bind(&self.visited_at)
            .bind(&self.note)
            .bind(&self.distance)
            .bind(&self.geofence)
            .bind(&self.speed)
            .bind(&self.verdict)
            .bind(&self.reasons)
            .bind(&self.hash)
            .fetch_all(&mut *tx)
            .await?;
        Ok(rows.into_iter().collect())
    }
}

fn check_args(args: &CheckInCreateV1) -> Result<(), Outcome> {
    let g = Geometry::Point(Point::new(args.position.lon, args.position.lat));
    validate::check_coordinates(&g).map_err(|e| Outcome::rejected("invalid_position", format!("position: {e}")))?;
    if !args.accuracy_m.is_finite() || args.accuracy_m < 0.0 {
        return Err(Outcome::rejected("invalid_accuracy", "accuracy_m must be a non-negative number of metres"));
    }
    if args.note.as_deref().is_some_and(|n| n.chars().count() > NOTE_MAX_CHARS) {
        return Err(Outcome::rejected("invalid_note", format!("note is longer than {NOTE_MAX_CHARS} characters")));
    }
    if !crate::push::plausible_device_time(args.device_time) {
        return Err(Outcome::rejected("invalid_device_time", "device_time is not a plausible date"));
    }
    Ok(())
}

/// When the visit happened, as well as the server can tell. The device's own
/// time, corrected by the clock skew the device showed at push time; never
/// after the server received it (a visit cannot come from the future).
pub fn visit_time(device_time: DateTime<Utc>, received_at: DateTime<Utc>, skew_s: Option<f64>) -> DateTime<Utc> {
    let corrected = match skew_s {
        #[expect(clippy::cast_possible_truncation, reason = "skews are far below i64 milliseconds")]
        Some(s) => device_time - chrono::Duration::milliseconds((s * 1000.0).round() as i64),
        None => device_time,
    };
    corrected.min(received_at)
}

/// Whole seconds from the visit to its arrival at the server, rounded as
/// PostgreSQL rounds them (the stored outcome is recomputed there).
fn late_by_s(visited_at: DateTime<Utc>, received_at: DateTime<Utc>) -> i64 {
    let ms = (received_at - visited_at).num_milliseconds().max(0);
    (ms + 500) / 1000
}

fn finite_or(v: f64, fallback: f64) -> f64 {
    if v.is_finite() { v } else { fallback }
}

fn round_cm(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn visit_time_corrects_a_skewed_clock_and_never_lies_in_the_future() {
        let received = Utc.with_ymd_and_hms(2026, 11, 1, 2, 0, 0).unwrap();
        // The device clock runs 3 hours ahead; its 22:00 was really 19:00.
        let device = Utc.with_ymd_and_hms(2026, 10, 31, 22, 0, 0).unwrap();
        assert_eq!(
            visit_time(device, received, Some(3.0 * 3600.0)),
            Utc.with_ymd_and_hms(2026, 10, 31, 19, 0, 0).unwrap()
        );
        // Without a skew estimate, the device time stands, capped at arrival.
        assert_eq!(visit_time(device, received, None), device);
        let ahead = Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap();
        assert_eq!(visit_time(ahead, received, None), received);
    }
}
