//! Judging a check-in: was the representative really where they claim to be?
//!
//! DESIGN ("Geography rules") and issue 3 ("Check-ins"): the server never refuses a check-in
//! for being far away. It keeps it, and this module says what the evidence supports — a
//! verdict plus every reason found and the measured numbers — so that planners can review it.
//! Each rule is checked independently; the verdict is the most serious finding.

use geo::{Geometry, Point};
use serde::{Deserialize, Serialize};

use crate::distance::{distance_to_geometry_m, geodesic_m};

/// Which fence a place has: grid cells are fenced by the cell itself (plus the reported accuracy);
/// enterprises and project sites by a radius around their point or polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FenceKind {
    Cell,
    Site,
}

/// The configurable bounds of the judgement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeofenceRules {
    /// Allowed metres from an enterprise's or project site's point or polygon.
    pub site_radius_m: f64,
    /// Reported accuracy worse than this makes the position too vague to judge.
    pub max_accuracy_m: f64,
    /// The most accuracy slack a grid cell gets beyond its own edge.
    pub cell_accuracy_cap_m: f64,
    /// Device time this far ahead of server time is suspicious.
    pub future_skew_allowance_s: f64,
    /// Faster than this from the previous check-in is not plausible field travel.
    pub max_speed_kmh: f64,
    /// Below this gap, speed is computed over this floor instead.
    pub min_speed_interval_s: f64,
    /// A check-in that reaches the server longer than this after the visit is `late`.
    pub late_grace_s: f64,
    /// Days into the next month (Asia/Shanghai) after which a month is closed: a check-in
    /// crediting a closed month is `late`. Applied by the caller, which knows calendars.
    pub month_grace_days: u32,
}

impl Default for GeofenceRules {
    fn default() -> Self {
        Self {
            site_radius_m: 200.0,
            max_accuracy_m: 100.0,
            cell_accuracy_cap_m: 100.0,
            future_skew_allowance_s: 300.0,
            max_speed_kmh: 150.0,
            min_speed_interval_s: 60.0,
            late_grace_s: 72.0 * 3600.0,
            month_grace_days: 5,
        }
    }
}

/// The outcome of a check-in, most serious first: `Suspicious` > `LowAccuracy` >
/// `OutsideGeofence` > `Verified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Verified,
    OutsideGeofence,
    LowAccuracy,
    Suspicious,
}

impl Verdict {
    /// The wire and database spelling (same as serde's).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::OutsideGeofence => "outside_geofence",
            Self::LowAccuracy => "low_accuracy",
            Self::Suspicious => "suspicious",
        }
    }
}

/// One finding about a check-in. A judgement lists every reason that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    OutsideGeofence,
    LowAccuracy,
    MockLocation,
    DeviceTimeInFuture,
    ImpossibleSpeed,
    Late,
}

impl Reason {
    /// The wire and database spelling (same as serde's).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutsideGeofence => "outside_geofence",
            Self::LowAccuracy => "low_accuracy",
            Self::MockLocation => "mock_location",
            Self::DeviceTimeInFuture => "device_time_in_future",
            Self::ImpossibleSpeed => "impossible_speed",
            Self::Late => "late",
        }
    }
}

/// The same person's previous check-in: where, and when (seconds, same clock as `visited_at_s`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreviousCheckIn {
    pub position: Point<f64>,
    pub at_s: f64,
}

/// What the device and the server know about one check-in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    /// WGS84, already converted from the device's CRS.
    pub position: Point<f64>,
    pub accuracy_m: f64,
    pub mock_location: bool,
    /// device_time − server receive time (positive = device clock ahead).
    pub device_ahead_s: f64,
    /// The server's best estimate of when the visit happened (unix seconds).
    pub visited_at_s: f64,
    pub previous: Option<PreviousCheckIn>,
    /// Seconds from the visit (`visited_at_s`) to the server's receipt of the check-in.
    pub received_after_s: f64,
    /// The visit's month was already closed when the server received the check-in.
    pub month_closed: bool,
}

/// The verdict and the evidence it rests on, kept with the check-in.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// Every reason that applies, in the enum's order.
    pub reasons: Vec<Reason>,
    /// Geodesic metres to the place: 0 inside a polygon, else to the nearest edge or the point
    /// (infinite for an empty geometry).
    pub distance_m: f64,
    /// The allowed distance used: the site radius, or min(accuracy, cap) for cells.
    pub geofence_m: f64,
    /// Speed from the previous check-in, when there is one.
    pub speed_kmh: Option<f64>,
}

/// Judges one check-in against its place. Never fails: bad evidence becomes a reason.
pub fn judge(place: &Geometry<f64>, fence: FenceKind, ev: &Evidence, rules: &GeofenceRules) -> Judgement {
    // A usable accuracy is a finite, non-negative number of metres; anything else (NaN from a
    // broken client, a negative sentinel such as Android's "unknown") says nothing.
    let accuracy_usable = ev.accuracy_m.is_finite() && ev.accuracy_m >= 0.0;

    // Outside: a grid cell is an area the representative walks, so being inside it is the test;
    // a GPS fix near the edge can honestly land outside by up to its accuracy, so the cell
    // grants that much slack — capped, because a phone reporting 2 km accuracy must not widen
    // the cell by 2 km. Unusable accuracy earns no slack. Enterprises and project sites are
    // visited at a door or a gate, which may lie beyond the mapped point or outline (parking,
    // gatehouse), so they get a fixed radius regardless of accuracy.
    let geofence_m = match fence {
        FenceKind::Cell if accuracy_usable => ev.accuracy_m.min(rules.cell_accuracy_cap_m),
        FenceKind::Cell => 0.0,
        FenceKind::Site => rules.site_radius_m,
    };
    let distance_m = distance_to_geometry_m(ev.position, place);
    // Written so that a NaN distance (a NaN position) counts as outside, never as verified.
    let within = distance_m.is_finite() && distance_m <= geofence_m;

    // Low accuracy: with a fix vaguer than the bound, "inside" or "outside" is a coin toss, so
    // the check-in needs a human look rather than an automatic pass or fail.
    let low_accuracy = !accuracy_usable || ev.accuracy_m > rules.max_accuracy_m;

    // Device time in the future: a device cannot record a moment the server has not reached, so
    // a clock well ahead is broken or set forward (e.g. to claim a visit for a month that has
    // not begun). A few minutes of skew is normal drift. A clock far *behind* is not
    // suspicious: phones sync days after an offline visit, and the server's receive time is
    // then naturally much later than the device time.
    let device_in_future = ev.device_ahead_s > rules.future_skew_allowance_s;

    // Impossible speed: the same person cannot be 20 km away five minutes earlier. |Δt|
    // because device times are evidence, not an ordering — the previous check-in may be the
    // later one. The interval is floored so that two quick check-ins a few seconds apart, whose
    // positions differ by GPS jitter, do not compute as a jet.
    let speed_kmh = ev.previous.map(|prev| {
        let interval_s = (ev.visited_at_s - prev.at_s).abs().max(rules.min_speed_interval_s);
        geodesic_m(prev.position, ev.position) / interval_s * 3.6
    });
    let too_fast = speed_kmh.is_some_and(|v| v > rules.max_speed_kmh);

    // Late: phones push hours or days after an offline visit, legitimately, but a month's
    // coverage must not be rewritten weeks later on the word of a device clock (set back to
    // the 15th of a missed month, then pushed). Past the grace period, or into a month that
    // is already closed, the check-in waits for a person to accept it.
    let late = ev.received_after_s > rules.late_grace_s || ev.month_closed;

    // Mock location: the OS flags the fix as coming from a mocking app, not the receiver, so
    // the position is whatever someone typed. Reasons are listed in the enum's order.
    let found = [
        (!within, Reason::OutsideGeofence),
        (low_accuracy, Reason::LowAccuracy),
        (ev.mock_location, Reason::MockLocation),
        (device_in_future, Reason::DeviceTimeInFuture),
        (too_fast, Reason::ImpossibleSpeed),
        (late, Reason::Late),
    ];
    let reasons: Vec<Reason> = found.iter().filter(|(hit, _)| *hit).map(|&(_, r)| r).collect();

    // Precedence: signs of tampering outrank everything (the position itself is untrusted);
    // then vagueness (the distance cannot be trusted); then plain distance.
    let verdict = if ev.mock_location || device_in_future || too_fast || late {
        Verdict::Suspicious
    } else if low_accuracy {
        Verdict::LowAccuracy
    } else if !within {
        Verdict::OutsideGeofence
    } else {
        Verdict::Verified
    };

    Judgement { verdict, reasons, distance_m, geofence_m, speed_kmh }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Reason as R;
    use Verdict as V;
    use geo::{Destination, Geodesic, MultiPolygon, point, polygon};

    /// A grid cell west of Shaoyuan town (邵原镇, Jiyuan), ~1.82 km east–west and ~2.0 km
    /// north–south, with a notch ~364 m wide cut 887 m deep into its north edge, so that some
    /// points lie inside its bounding box but outside the cell.
    fn cell() -> Geometry<f64> {
        polygon![
            (x: 112.120, y: 35.140), (x: 112.140, y: 35.140), (x: 112.140, y: 35.158),
            (x: 112.132, y: 35.158), (x: 112.132, y: 35.150), (x: 112.128, y: 35.150),
            (x: 112.128, y: 35.158), (x: 112.120, y: 35.158), (x: 112.120, y: 35.140),
        ]
        .into()
    }

    /// A project site of ~137 m × 111 m inside the cell's south-west quarter.
    fn project_site() -> Geometry<f64> {
        polygon![
            (x: 112.1250, y: 35.145), (x: 112.1265, y: 35.145), (x: 112.1265, y: 35.146),
            (x: 112.1250, y: 35.146), (x: 112.1250, y: 35.145),
        ]
        .into()
    }

    const INSIDE: (f64, f64) = (112.125, 35.150);
    /// Inside the cell's bounding box, in its notch: ~182 m from the notch's side walls.
    const IN_NOTCH: (f64, f64) = (112.130, 35.155);
    const ENTERPRISE: (f64, f64) = (112.1335, 35.1462);
    const VISITED_AT: f64 = 1_750_000_000.0;

    fn honest(position: impl Into<Point<f64>>, accuracy_m: f64) -> Evidence {
        Evidence {
            position: position.into(),
            accuracy_m,
            mock_location: false,
            device_ahead_s: 2.0,
            visited_at_s: VISITED_AT,
            previous: None,
            received_after_s: 60.0,
            month_closed: false,
        }
    }

    fn in_cell(ev: &Evidence) -> Judgement {
        judge(&cell(), FenceKind::Cell, ev, &GeofenceRules::default())
    }

    fn at_site(place: &Geometry<f64>, p: Point<f64>) -> Judgement {
        let rules = GeofenceRules::default();
        judge(place, FenceKind::Site, &honest(p, 15.0), &rules)
    }

    fn check(j: &Judgement, verdict: Verdict, reasons: &[Reason]) {
        assert_eq!((j.verdict, &j.reasons[..]), (verdict, reasons), "{j:?}");
    }

    fn near(a: f64, e: f64, tol: f64) {
        assert!((a - e).abs() <= tol, "{a} is not {e}±{tol}");
    }

    #[test]
    fn inside_the_cell_is_verified_the_notch_is_not() {
        let j = in_cell(&honest(INSIDE, 20.0));
        check(&j, V::Verified, &[]);
        near(j.distance_m, 0.0, 0.0);
        near(j.geofence_m, 20.0, 0.0);
        assert_eq!(j.speed_kmh, None);
        let j = in_cell(&honest(IN_NOTCH, 50.0));
        check(&j, V::OutsideGeofence, &[R::OutsideGeofence]);
        near(j.distance_m, 182.2, 1.0); // half of 0.002° of longitude at 35.155°N
    }

    #[test]
    fn near_a_cell_edge_the_accuracy_is_the_slack_up_to_the_cap() {
        let east_edge = point!(x: 112.140, y: 35.149);
        let j = in_cell(&honest(Geodesic.destination(east_edge, 90.0, 30.0), 50.0));
        check(&j, V::Verified, &[]);
        near(j.distance_m, 30.0, 0.1);
        near(j.geofence_m, 50.0, 0.0);
        let outside = honest(Geodesic.destination(east_edge, 90.0, 80.0), 50.0);
        let j = in_cell(&outside);
        check(&j, V::OutsideGeofence, &[R::OutsideGeofence]);
        near(j.distance_m, 80.0, 0.1);
        // Accuracy 100 (not low) under a 60 m cap allows only 60 m.
        let rules = GeofenceRules { cell_accuracy_cap_m: 60.0, ..GeofenceRules::default() };
        let mut ev = outside;
        ev.accuracy_m = 100.0;
        let j = judge(&cell(), FenceKind::Cell, &ev, &rules);
        check(&j, V::OutsideGeofence, &[R::OutsideGeofence]);
        near(j.geofence_m, 60.0, 0.0);
    }

    #[test]
    fn a_point_site_has_a_radius() {
        let (site, place) = (Point::from(ENTERPRISE), Point::from(ENTERPRISE).into());
        let j = at_site(&place, Geodesic.destination(site, 60.0, 150.0));
        check(&j, V::Verified, &[]);
        near(j.distance_m, 150.0, 0.01);
        near(j.geofence_m, 200.0, 0.0);
        let j = at_site(&place, Geodesic.destination(site, 60.0, 250.0));
        check(&j, V::OutsideGeofence, &[R::OutsideGeofence]);
        near(j.distance_m, 250.0, 0.01);
    }

    #[test]
    fn a_polygon_site_has_a_radius_around_its_edge() {
        let site = project_site();
        let j = at_site(&site, point!(x: 112.1257, y: 35.1455));
        check(&j, V::Verified, &[]);
        near(j.distance_m, 0.0, 0.0);
        let south_edge = point!(x: 112.12575, y: 35.145);
        let j = at_site(&site, Geodesic.destination(south_edge, 180.0, 150.0));
        check(&j, V::Verified, &[]);
        near(j.distance_m, 150.0, 0.1);
        let j = at_site(&site, Geodesic.destination(south_edge, 180.0, 250.0));
        check(&j, V::OutsideGeofence, &[R::OutsideGeofence]);
    }

    #[test]
    fn low_accuracy_outranks_outside_and_bad_numbers_count_as_low() {
        check(&in_cell(&honest(INSIDE, 150.0)), V::LowAccuracy, &[R::LowAccuracy]);
        let j = in_cell(&honest(IN_NOTCH, 150.0));
        check(&j, V::LowAccuracy, &[R::OutsideGeofence, R::LowAccuracy]);
        for bad in [f64::NAN, -1.0, f64::INFINITY] {
            let j = in_cell(&honest(INSIDE, bad));
            check(&j, V::LowAccuracy, &[R::LowAccuracy]);
            near(j.geofence_m, 0.0, 0.0);
        }
    }

    #[test]
    fn mock_location_is_suspicious_and_keeps_every_reason() {
        let mocked = |p| in_cell(&Evidence { mock_location: true, ..honest(p, 10.0) });
        check(&mocked(INSIDE), V::Suspicious, &[R::MockLocation]);
        let both = [R::OutsideGeofence, R::MockLocation];
        check(&mocked(IN_NOTCH), V::Suspicious, &both);
    }

    #[test]
    fn a_check_in_past_the_grace_period_or_into_a_closed_month_is_late() {
        let arriving = |after_h: f64, month_closed: bool| {
            in_cell(&Evidence { received_after_s: after_h * 3600.0, month_closed, ..honest(INSIDE, 10.0) })
        };
        // Days offline are normal; past the 72-hour grace it needs a review.
        check(&arriving(71.0, false), V::Verified, &[]);
        check(&arriving(73.0, false), V::Suspicious, &[R::Late]);
        // Within the grace period, but crediting a month already closed.
        check(&arriving(1.0, true), V::Suspicious, &[R::Late]);
        // Late joins the other reasons rather than hiding them.
        let far = in_cell(&Evidence { received_after_s: 100.0 * 3600.0, ..honest(IN_NOTCH, 10.0) });
        check(&far, V::Suspicious, &[R::OutsideGeofence, R::Late]);
    }

    #[test]
    fn a_clock_hours_ahead_is_suspicious_days_behind_is_not() {
        let skewed = |s| in_cell(&Evidence { device_ahead_s: s, ..honest(INSIDE, 10.0) });
        check(&skewed(3.0 * 3600.0), V::Suspicious, &[R::DeviceTimeInFuture]);
        check(&skewed(240.0), V::Verified, &[]);
        check(&skewed(-3.0 * 86_400.0), V::Verified, &[]);
    }

    #[test]
    fn speed_from_the_previous_check_in() {
        let from = |bearing, m, dt_s| {
            let position = Geodesic.destination(INSIDE.into(), bearing, m);
            let previous = Some(PreviousCheckIn { position, at_s: VISITED_AT - dt_s });
            in_cell(&Evidence { previous, ..honest(INSIDE, 10.0) })
        };
        // 20 km in 5 minutes: 240 km/h, whichever came first (device times are no ordering).
        let j = from(45.0, 20_000.0, 300.0);
        check(&j, V::Suspicious, &[R::ImpossibleSpeed]);
        near(j.speed_kmh.unwrap(), 240.0, 0.01);
        near(from(45.0, 20_000.0, -300.0).speed_kmh.unwrap(), 240.0, 0.01);
        // 2 km in 30 minutes: 4 km/h.
        let j = from(200.0, 2_000.0, 1_800.0);
        check(&j, V::Verified, &[]);
        near(j.speed_kmh.unwrap(), 4.0, 0.01);
        // 30 m of jitter 5 s apart: over the 60 s floor, 1.8 km/h rather than 21.6.
        let j = from(300.0, 30.0, 5.0);
        check(&j, V::Verified, &[]);
        near(j.speed_kmh.unwrap(), 1.8, 0.001);
    }

    #[test]
    fn every_reason_at_once_in_the_enums_order() {
        let (position, at_s) = (point!(x: 112.6, y: 35.1), VISITED_AT - 60.0);
        let mut ev = honest(IN_NOTCH, 500.0);
        ev.mock_location = true;
        ev.device_ahead_s = 7_200.0;
        ev.previous = Some(PreviousCheckIn { position, at_s });
        let j = in_cell(&ev);
        check(&j, V::Suspicious, &ALL_REASONS);
        near(j.geofence_m, 100.0, 0.0);
    }

    #[test]
    fn nowhere_is_outside() {
        let j = at_site(&MultiPolygon(vec![]).into(), ENTERPRISE.into());
        check(&j, V::OutsideGeofence, &[R::OutsideGeofence]);
        assert!(j.distance_m.is_infinite());
        let j = in_cell(&honest(point!(x: f64::NAN, y: 35.15), 10.0));
        check(&j, V::OutsideGeofence, &[R::OutsideGeofence]);
    }

    const ALL_REASONS: [Reason; 5] =
        [R::OutsideGeofence, R::LowAccuracy, R::MockLocation, R::DeviceTimeInFuture, R::ImpossibleSpeed];

    #[test]
    fn names_match_serde() {
        fn same<T: Serialize + for<'de> Deserialize<'de> + PartialEq + Debug>(v: &T, s: &str) {
            let quoted = format!("\"{s}\"");
            assert_eq!(serde_json::to_string(v).unwrap(), quoted);
            assert_eq!(&serde_json::from_str::<T>(&quoted).unwrap(), v);
        }
        use std::fmt::Debug;
        for v in [V::Verified, V::OutsideGeofence, V::LowAccuracy, V::Suspicious] {
            same(&v, v.as_str());
        }
        for r in ALL_REASONS {
            same(&r, r.as_str());
        }
    }
}
