//! The calendar month of Asia/Shanghai, in which visits are counted, and the
//! rule that closes a month: a few grace days into the next one, after which a
//! check-in crediting it no longer counts without a review.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};

/// Asia/Shanghai has kept UTC+8 without daylight saving since 1991, so a
/// fixed offset is exact for every date this product sees.
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// One calendar month (Asia/Shanghai).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    first: NaiveDate,
}

/// Text that is not a month in `YYYY-MM` form (2000-01 to 2100-12).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("month must be YYYY-MM, between 2000-01 and 2100-12 (got {0:?})")]
pub struct NotAMonth(pub String);

/// A month parameter that is not a month is a bad query value (400).
impl From<NotAMonth> for crate::SyncError {
    fn from(e: NotAMonth) -> Self {
        Self::BadParameter { field: "month", message: e.to_string() }
    }
}

impl Month {
    /// Parses `YYYY-MM` (surrounding white space ignored): four digits of a
    /// year from 2000 to 2100, a dash, two digits of a month.
    pub fn parse(text: &str) -> Result<Self, NotAMonth> {
        let fail = || NotAMonth(text.to_owned());
        let t = text.trim();
        let (year, month) = t.split_once('-').ok_or_else(fail)?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(year, 4) || !digits(month, 2) {
            return Err(fail());
        }
        let (year, month): (i32, u32) = (year.parse().map_err(|_| fail())?, month.parse().map_err(|_| fail())?);
        if !(2000..=2100).contains(&year) {
            return Err(fail());
        }
        NaiveDate::from_ymd_opt(year, month, 1).map(|first| Self { first }).ok_or_else(fail)
    }

    /// The month in which `t` falls in Asia/Shanghai.
    pub fn of(t: DateTime<Utc>) -> Self {
        let local = t.with_timezone(&shanghai()).date_naive();
        Self { first: local.with_day(1).expect("day 1 exists") }
    }

    /// The month of a date.
    pub fn of_date(d: NaiveDate) -> Self {
        Self { first: d.with_day(1).expect("day 1 exists") }
    }

    pub fn year(self) -> i32 {
        self.first.year()
    }

    /// 1 to 12.
    pub fn month(self) -> u32 {
        self.first.month()
    }

    /// The month before this one.
    #[must_use]
    pub fn previous(self) -> Self {
        Self { first: self.first.checked_sub_months(chrono::Months::new(1)).unwrap_or(NaiveDate::MIN) }
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        self.first
    }

    /// The month after this one.
    #[must_use]
    pub fn next(self) -> Self {
        Self { first: self.first.checked_add_months(chrono::Months::new(1)).unwrap_or(NaiveDate::MAX) }
    }

    /// Midnight of its first day, Asia/Shanghai.
    pub fn starts_at(self) -> DateTime<Utc> {
        let midnight = self.first.and_hms_opt(0, 0, 0).expect("midnight exists");
        shanghai().from_local_datetime(&midnight).single().expect("a fixed offset is unambiguous").with_timezone(&Utc)
    }

    /// When the month closes: `grace_days` after the next month begins. A
    /// check-in the server receives from then on cannot credit this month by
    /// itself (with 5 days: a visit of 31 October counts when it arrives on
    /// 4 or 5 November, and waits for a review when it arrives on the 6th).
    pub fn closes_at(self, grace_days: u32) -> DateTime<Utc> {
        self.next().starts_at() + Duration::days(i64::from(grace_days))
    }

    /// Whether the month is closed at `now`.
    pub fn is_closed_at(self, grace_days: u32, now: DateTime<Utc>) -> bool {
        now >= self.closes_at(grace_days)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.first.year(), self.first.month())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_month_is_a_shanghai_calendar_month() {
        // 16:30 UTC on 31 October is already 1 November in Shanghai.
        assert_eq!(Month::of(at("2026-10-31T16:30:00Z")).to_string(), "2026-11");
        assert_eq!(Month::of(at("2026-10-31T15:59:59Z")).to_string(), "2026-10");
        assert_eq!(Month::of(at("2026-12-31T23:00:00+08:00")).next().to_string(), "2027-01");
    }

    #[test]
    fn a_month_parses_from_yyyy_mm_only() {
        assert_eq!(Month::parse("2026-10").unwrap().to_string(), "2026-10");
        assert_eq!(Month::parse(" 2026-02 ").unwrap().first_day(), NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
        for bad in [
            "2026-1",
            "2026-13",
            "2026-00",
            "26-10",
            "2026/10",
            "2026-10-01",
            "1999-12",
            "2101-01",
            "",
            "+026-10",
            "２０２６-10",
        ] {
            let e = Month::parse(bad).unwrap_err();
            assert!(e.to_string().starts_with("month must be YYYY-MM"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_last_day_of_a_month_counts_on_day_four_of_the_next_and_not_on_day_six() {
        let october = Month::of(at("2026-10-31T20:00:00+08:00"));
        assert!(!october.is_closed_at(5, at("2026-11-04T12:00:00+08:00")));
        assert!(!october.is_closed_at(5, at("2026-11-05T23:59:59+08:00")));
        assert!(october.is_closed_at(5, at("2026-11-06T00:00:00+08:00")));
        assert!(october.is_closed_at(5, at("2026-11-06T09:00:00+08:00")));
        // No grace: the month closes at midnight.
        assert!(october.is_closed_at(0, at("2026-11-01T00:00:00+08:00")));
    }
}
