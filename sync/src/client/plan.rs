//! A month of field work for one representative, as `checkin.create.v1`
//! arguments: each assigned place visited once or twice (some skipped, so
//! `overdue` exists), mostly from inside the geofence, some from outside,
//! some in GCJ-02, a few with poor accuracy or a mocked location. Pure and
//! deterministic given the rng, so the simulator and the demo history can
//! both replay it.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use fieldvisit_geodata::crs::Crs;
use fieldvisit_geodata::distance::{distance_to_geometry_m, geodesic_m};
use fieldvisit_geodata::round7;
use geo::{BoundingRect, Centroid, Contains, Destination, Geodesic, Geometry, Point};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::places::PlaceKind;
use crate::protocol::{CheckInCreateV1, ReportedPosition};

/// Asia/Shanghai as a fixed UTC+8. China has had no daylight saving time
/// since 1991, so for every date this system sees the fixed offset is exact.
pub const SHANGHAI: FixedOffset = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");

/// At most this many visits on one day, so a day's round fits 08:00–19:00.
const MAX_VISITS_PER_DAY: usize = 3;
/// Minutes budgeted per visit after the first of a day (dwell plus travel).
const MINUTES_PER_EXTRA_VISIT: i64 = 150;
/// Travel speed between visits of one day: country roads, well below the
/// 150 km/h the server treats as implausible.
const TRAVEL_KMH: f64 = 40.0;

/// A place to plan visits to; geometry in WGS84. Its kind decides where a
/// visitor stands.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanPlace {
    pub id: Uuid,
    pub kind: PlaceKind,
    pub geometry: Geometry<f64>,
}

impl PlanPlace {
    /// From a pulled `place` record (a GeoJSON Feature); `None` when it is
    /// inactive or unreadable.
    pub fn from_feature(data: &Value) -> Option<Self> {
        let props = &data["properties"];
        if props["active"] == Value::Bool(false) {
            return None;
        }
        Some(Self {
            id: data["id"].as_str()?.parse().ok()?,
            kind: PlaceKind::deserialize(&props["kind"]).ok()?,
            geometry: fieldvisit_geodata::geojson_io::geometry_from_geojson(&data["geometry"]).ok()?,
        })
    }
}

/// How often each kind of visit happens.
#[derive(Debug, Clone, Copy)]
pub struct PlanRates {
    /// A place not visited at all this month.
    pub skip: f64,
    /// A place visited twice.
    pub second_visit: f64,
    /// A check-in from 0.5–3 km away.
    pub outside: f64,
    /// Sent in GCJ-02 (AMap, Tencent) instead of WGS84.
    pub gcj02: f64,
    /// Accuracy of 150 m instead of 5–40 m.
    pub low_accuracy: f64,
    pub mock_location: f64,
    /// A short note.
    pub note: f64,
}

impl Default for PlanRates {
    fn default() -> Self {
        Self {
            skip: 0.1,
            second_visit: 0.3,
            outside: 0.08,
            gcj02: 0.15,
            low_accuracy: 0.06,
            mock_location: 0.015,
            note: 0.25,
        }
    }
}

/// The first day of the month after `month`'s.
pub fn next_month(month: NaiveDate) -> NaiveDate {
    let first = month.with_day(1).expect("day 1 exists");
    first.checked_add_months(chrono::Months::new(1)).expect("a month within chrono's range")
}

/// The instant a Shanghai-time month starts.
pub fn month_start(month: NaiveDate) -> DateTime<FixedOffset> {
    local(month.with_day(1).expect("day 1 exists").and_time(NaiveTime::MIN))
}

fn local(t: NaiveDateTime) -> DateTime<FixedOffset> {
    SHANGHAI.from_local_datetime(&t).single().expect("a fixed offset is never ambiguous")
}

/// The month's visits with the default rates, ordered by time.
pub fn month_plan(places: &[PlanPlace], month: NaiveDate, rng: &mut StdRng) -> Vec<CheckInCreateV1> {
    month_plan_with(places, month, &PlanRates::default(), rng)
}

/// The month's visits, ordered by time. Visits of one day follow each
/// other with dwell and travel time for the distance actually covered, so
/// the server's speed check only trips on deliberate outliers.
pub fn month_plan_with(
    places: &[PlanPlace],
    month: NaiveDate,
    rates: &PlanRates,
    rng: &mut StdRng,
) -> Vec<CheckInCreateV1> {
    let first = month.with_day(1).expect("day 1 exists");
    let days = usize::try_from((next_month(first) - first).num_days()).expect("a month has days");
    let mut by_day: Vec<Vec<&PlanPlace>> = vec![Vec::new(); days];
    for place in places {
        if rng.gen_bool(rates.skip) {
            continue;
        }
        let visits = if rng.gen_bool(rates.second_visit) { 2 } else { 1 };
        let mut taken: Vec<usize> = Vec::new();
        for _ in 0..visits {
            let free: Vec<usize> =
                (0..days).filter(|d| by_day[*d].len() < MAX_VISITS_PER_DAY && !taken.contains(d)).collect();
            let Some(&d) = free.choose(rng) else { break };
            taken.push(d);
            by_day[d].push(place);
        }
    }

    let mut plan = Vec::new();
    for (d, visits) in by_day.iter_mut().enumerate() {
        if visits.is_empty() {
            continue;
        }
        visits.shuffle(rng);
        let date = first + Duration::days(i64::try_from(d).expect("a day index"));
        // Leave room for the later visits of the day before 19:00.
        let later = i64::try_from(visits.len() - 1).expect("a few visits");
        let spare = 11 * 60 - MINUTES_PER_EXTRA_VISIT * later;
        let mut t = date.and_time(NaiveTime::from_hms_opt(8, 0, 0).expect("08:00"))
            + Duration::minutes(rng.gen_range(0..=spare))
            + Duration::seconds(rng.gen_range(0..60));
        let mut previous: Option<Point> = None;
        for place in visits.iter() {
            let position = stand_point(place, rates, rng);
            if let Some(p) = previous {
                #[expect(clippy::cast_possible_truncation, reason = "minutes of travel within a township")]
                let travel = (geodesic_m(p, position) / 1000.0 / TRAVEL_KMH * 60.0).ceil() as i64;
                t += Duration::minutes(rng.gen_range(20..=80) + travel) + Duration::seconds(rng.gen_range(0..60));
            }
            previous = Some(position);
            plan.push(check_in(place, position, local(t), rates, rng));
        }
    }
    plan.sort_by_key(|c| c.device_time);
    plan
}

fn check_in(
    place: &PlanPlace,
    wgs84: Point,
    at: DateTime<FixedOffset>,
    rates: &PlanRates,
    rng: &mut StdRng,
) -> CheckInCreateV1 {
    let accuracy_m =
        if rng.gen_bool(rates.low_accuracy) { 150.0 } else { (rng.gen_range(5.0..40.0_f64) * 10.0).round() / 10.0 };
    let crs = if rng.gen_bool(rates.gcj02) { Crs::Gcj02 } else { Crs::Wgs84 };
    let c = crs.from_wgs84(wgs84.0);
    let mock_location = rng.gen_bool(rates.mock_location);
    let note = rng.gen_bool(rates.note).then(|| (*notes(place.kind).choose(rng).expect("notes exist")).to_owned());
    // A v7 id from the visit time, as the app makes it when the visit happens.
    let millis = u64::try_from(at.timestamp_millis()).expect("after 1970");
    let id = uuid::Builder::from_unix_timestamp_millis(millis, &rng.r#gen()).into_uuid();
    CheckInCreateV1 {
        id,
        place_id: place.id,
        position: ReportedPosition { lon: round7(c.x), lat: round7(c.y), crs },
        accuracy_m,
        device_time: at,
        mock_location,
        note,
    }
}

fn notes(kind: PlaceKind) -> &'static [&'static str] {
    match kind {
        PlaceKind::GridCell => &[
            "走访网格内农户，了解春耕和用水情况",
            "与村干部座谈，听取群众意见",
            "查看村道修缮进度",
            "走访困难群众，了解帮扶落实情况",
        ],
        PlaceKind::Enterprise => {
            &["了解企业用工和订单情况", "听取企业对营商环境的意见", "查看安全生产措施落实情况", "企业反映用电紧张"]
        }
        PlaceKind::ProjectSite => &["查看项目施工进度", "了解项目征地和群众补偿情况", "项目现场文明施工情况良好"],
    }
}

/// Where the visitor stands: mostly inside the fence (within a polygon, or
/// within ~100 m of a point), sometimes 0.5–3 km away.
fn stand_point(place: &PlanPlace, rates: &PlanRates, rng: &mut StdRng) -> Point {
    let g = &place.geometry;
    let centre = g.centroid().unwrap_or_else(|| Point::new(0.0, 0.0));
    if rng.gen_bool(rates.outside) {
        let target = rng.gen_range(500.0..3000.0);
        let bearing = rng.gen_range(0.0..360.0);
        // Walk outwards from the centre until the place is `target` metres
        // away (for a point that is at once; for a polygon past its edge).
        let mut r: f64 = target;
        loop {
            let p = Geodesic.destination(centre, bearing, r);
            if r > 30_000.0 || distance_to_geometry_m(p, g) >= target {
                return p;
            }
            r += 50.0;
        }
    }
    match g {
        Geometry::Polygon(_) | Geometry::MultiPolygon(_) => inside(g, centre, rng),
        _ => Geodesic.destination(centre, rng.gen_range(0.0..360.0), 100.0 * rng.gen_range(0.0..1.0_f64).sqrt()),
    }
}

/// A uniform point inside a polygon, by rejection from its bounding box.
fn inside(g: &Geometry<f64>, centre: Point, rng: &mut StdRng) -> Point {
    let Some(rect) = g.bounding_rect() else { return centre };
    for _ in 0..1000 {
        let p = Point::new(rng.gen_range(rect.min().x..=rect.max().x), rng.gen_range(rect.min().y..=rect.max().y));
        if g.contains(&p) {
            return p;
        }
    }
    centre
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Rect, coord};
    use rand::SeedableRng;

    fn places() -> Vec<PlanPlace> {
        let cell = Rect::new(coord! { x: 112.10, y: 35.10 }, coord! { x: 112.12, y: 35.118 }).to_polygon();
        let mut v =
            vec![PlanPlace { id: Uuid::from_u128(1), kind: PlaceKind::GridCell, geometry: Geometry::Polygon(cell) }];
        for i in 0..6_u32 {
            let p = Point::new(112.13 + f64::from(i) * 0.01, 35.12);
            v.push(PlanPlace {
                id: Uuid::from_u128(2 + u128::from(i)),
                kind: PlaceKind::Enterprise,
                geometry: Geometry::Point(p),
            });
        }
        v
    }

    #[test]
    fn the_same_seed_gives_the_same_month() {
        let month = crate::month::Month::parse("2026-11").unwrap().first_day();
        let a = month_plan(&places(), month, &mut StdRng::seed_from_u64(3));
        let b = month_plan(&places(), month, &mut StdRng::seed_from_u64(3));
        assert_eq!(a, b);
        assert!(!a.is_empty());
    }

    #[test]
    fn visits_fall_in_the_month_by_day_and_at_plausible_speeds() {
        let month = crate::month::Month::parse("2026-02").unwrap().first_day();
        let places = places();
        for seed in 0..200 {
            let plan = month_plan(&places, month, &mut StdRng::seed_from_u64(seed));
            for c in &plan {
                let t = c.device_time;
                assert_eq!(t.offset().local_minus_utc(), 8 * 3600);
                assert_eq!((t.year(), t.month()), (2026, 2));
                assert!((8..19).contains(&chrono::Timelike::hour(&t)), "{t}");
            }
            for w in plan.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                let pa = Point::from(a.position.crs.to_wgs84(coord! { x: a.position.lon, y: a.position.lat }));
                let pb = Point::from(b.position.crs.to_wgs84(coord! { x: b.position.lon, y: b.position.lat }));
                #[expect(clippy::cast_precision_loss, reason = "seconds within a month")]
                let hours = (b.device_time - a.device_time).num_seconds() as f64 / 3600.0;
                assert!(geodesic_m(pa, pb) / 1000.0 / hours < 150.0, "seed {seed}: {a:?} -> {b:?}");
            }
        }
    }

    #[test]
    fn most_positions_are_inside_some_outside_some_gcj02() {
        let month = crate::month::Month::parse("2026-03").unwrap().first_day();
        let places = places();
        let (mut n, mut outside, mut gcj) = (0, 0, 0);
        for seed in 0..300 {
            for c in month_plan(&places, month, &mut StdRng::seed_from_u64(seed)) {
                let place = places.iter().find(|p| p.id == c.place_id).unwrap();
                let p = Point::from(c.position.crs.to_wgs84(coord! { x: c.position.lon, y: c.position.lat }));
                let d = distance_to_geometry_m(p, &place.geometry);
                assert!(d < 101.0 || (490.0..3100.0).contains(&d), "{d}");
                n += 1;
                outside += usize::from(d > 400.0);
                gcj += usize::from(c.position.crs == Crs::Gcj02);
            }
        }
        let share = |k: usize| f64::from(u32::try_from(k).unwrap()) / f64::from(u32::try_from(n).unwrap());
        assert!((0.05..0.11).contains(&share(outside)), "{}", share(outside));
        assert!((0.12..0.18).contains(&share(gcj)), "{}", share(gcj));
    }
}
