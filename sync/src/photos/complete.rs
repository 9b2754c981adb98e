//! `photo.complete.v1`: the bytes of a declared photo arrived and were
//! sealed; they are checked against the declaration and the photo is marked
//! uploaded with its sniffed type and its EXIF evidence. The API does the
//! store's side (seal, stat, read the first bytes, discard refused bytes)
//! and asks the rules here at each step.

use chrono::{DateTime, NaiveDateTime, Utc};
use fieldvisit_geodata::distance::geodesic_m;
use geo::Point;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Completed, Declaration, PhotoType, completed};
use crate::SyncError;
use crate::command::{Applied, Command};

/// EXIF position further than this from the visit's own position is flagged.
pub const EXIF_FAR_M: f64 = 1000.0;
/// EXIF time further than this from the visit's own time is flagged.
pub const EXIF_TIME_APART_H: i64 = 24;

/// Why `complete` refuses: the bytes are discarded (all but `NotUploaded`,
/// where there are none) and the device may upload again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no bytes have arrived for this photo yet; upload them first")]
    NotUploaded,
    #[error("{arrived} bytes arrived, {declared} were declared; the upload was discarded, upload again")]
    SizeMismatch { arrived: u64, declared: i64 },
    #[error("the bytes do not match the declared SHA-256; the upload was discarded, upload again")]
    HashMismatch,
    #[error("the bytes are not a JPEG, PNG, HEIC/HEIF or WebP photo; the upload was discarded")]
    NotAPhoto,
}

impl Refusal {
    /// The stable code a client sees.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotUploaded => "not_uploaded",
            Self::SizeMismatch { .. } => "size_mismatch",
            Self::HashMismatch => "hash_mismatch",
            Self::NotAPhoto => "unsupported_media_type",
        }
    }
}

/// Whether the sealed bytes (`size` of them, hashing to `sha256`) are what
/// was declared.
pub fn check_bytes(declared: &Declaration, size: u64, sha256: &[u8]) -> Result<(), Refusal> {
    if i64::try_from(size).ok() != Some(declared.size) {
        return Err(Refusal::SizeMismatch { arrived: size, declared: declared.size });
    }
    if sha256 != declared.sha256.as_slice() {
        return Err(Refusal::HashMismatch);
    }
    Ok(())
}

/// The type content sniffing found, which must be a photo's: a declared
/// type proves nothing.
pub fn sniffed(kind: Option<PhotoType>) -> Result<PhotoType, Refusal> {
    kind.ok_or(Refusal::NotAPhoto)
}

/// What a photo's EXIF says about where and when it was taken.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ExifEvidence {
    /// Degrees, WGS84 as cameras record it (not GCJ-02); south negative.
    pub lat: Option<f64>,
    /// Degrees; west negative.
    pub lon: Option<f64>,
    /// DateTimeOriginal: the camera's wall-clock time, in no stated zone.
    pub taken_at: Option<NaiveDateTime>,
    /// OffsetTimeOriginal in minutes east of UTC, when the camera wrote it.
    pub offset_minutes: Option<i32>,
}

/// The visit's own position (lon, lat) and time, to compare the EXIF with.
type VisitEvidence = (Option<f64>, Option<f64>, Option<DateTime<Utc>>);

/// Compares the photo's EXIF with the visit it belongs to: far or at another
/// time is flagged, never refused. Answers the flags and the distance in
/// metres (to the centimetre), when both positions are known.
pub fn judge_exif(exif: Option<&ExifEvidence>, visit: Option<VisitEvidence>) -> (Vec<String>, Option<f64>) {
    let Some(exif) = exif else { return (vec!["no_exif".to_owned()], None) };
    let Some((x, y, at)) = visit else { return (Vec::new(), None) };
    let mut flags = Vec::new();
    let distance = match (exif.lat, exif.lon, x, y) {
        (Some(lat), Some(lon), Some(x), Some(y)) => Some(geodesic_m(Point::new(lon, lat), Point::new(x, y))),
        _ => None,
    };
    if distance.is_some_and(|d| d > EXIF_FAR_M) {
        flags.push("exif_far".to_owned());
    }
    if let (Some(taken), Some(at)) = (exif.taken_at, at)
        && (utc_of(taken, exif.offset_minutes) - at).num_hours().abs() >= EXIF_TIME_APART_H
    {
        flags.push("exif_time_apart".to_owned());
    }
    (flags, distance.map(|d| (d * 100.0).round() / 100.0))
}

/// EXIF times are local clock readings; without an offset tag, the phone was
/// in China, so Asia/Shanghai (UTC+8 without daylight saving since 1991).
fn utc_of(local: NaiveDateTime, offset_minutes: Option<i32>) -> DateTime<Utc> {
    let offset = i64::from(offset_minutes.unwrap_or(8 * 60));
    local.and_utc() - chrono::Duration::minutes(offset)
}

/// `photo.complete.v1`: marks the declared photo `id` uploaded once its
/// sealed bytes passed [`check_bytes`] and [`sniffed`]; judges the EXIF
/// against the visit. A photo completed meanwhile stays as it is.
#[derive(Debug, Clone)]
pub struct Complete {
    pub id: Uuid,
    /// The key of the sealed bytes, which no upload URL reaches.
    pub sealed_key: String,
    pub kind: PhotoType,
    pub exif: Option<ExifEvidence>,
}

impl Command for Complete {
    const NAME: &'static str = "photo.complete.v1";
    const ACTION: &'static str = "complete";
    type Output = Completed;

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<Completed>, SyncError> {
        let visit: Option<VisitEvidence> =
            sqlx::query_as(include_str!("visit_evidence.sql")).bind(self.id).fetch_optional(&mut *tx).await?;
        let (flags, distance) = judge_exif(self.exif.as_ref(), visit);
        let exif = self.exif.unwrap_or(ExifEvidence { lat: None, lon: None, taken_at: None, offset_minutes: None });
        sqlx::query(include_str!("complete.sql"))
            .bind(self.id)
            .bind(self.kind.mime())
            .bind(exif.lat)
            .bind(exif.lon)
            .bind(exif.taken_at)
            .bind(distance)
            .bind(&flags)
            .bind(&self.sealed_key)
            .execute(&mut *tx)
            .await?;
        let result = completed(&mut *tx, self.id).await?;
        let details = json!({ "mime": result.mime, "exif_flags": result.exif_flags });
        Ok(Applied { entity: "photo", id: self.id, details, result })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(size: i64, sha: u8) -> Declaration {
        Declaration {
            status: crate::photos::PhotoStatus::Declared,
            sha256: vec![sha; 32],
            size,
            mime: "image/jpeg".into(),
            object_key: "photos/x".into(),
        }
    }

    #[test]
    fn bytes_must_be_what_was_declared() {
        assert_eq!(check_bytes(&declared(10, 1), 10, &[1; 32]), Ok(()));
        assert_eq!(
            check_bytes(&declared(10, 1), 11, &[1; 32]),
            Err(Refusal::SizeMismatch { arrived: 11, declared: 10 })
        );
        assert_eq!(check_bytes(&declared(10, 1), 10, &[2; 32]).map_err(|r| r.code()), Err("hash_mismatch"));
        assert_eq!(sniffed(None), Err(Refusal::NotAPhoto));
    }

    #[test]
    fn exif_far_away_or_a_day_apart_is_flagged() {
        let at = DateTime::parse_from_rfc3339("2026-10-10T02:00:00Z").unwrap().with_timezone(&Utc);
        let taken = NaiveDateTime::parse_from_str("2026-10-10 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        let near = ExifEvidence { lat: Some(30.0), lon: Some(120.0), taken_at: Some(taken), offset_minutes: None };
        let (flags, d) = judge_exif(Some(&near), Some((Some(120.0), Some(30.0), Some(at))));
        assert!(flags.is_empty(), "{flags:?}");
        assert_eq!(d, Some(0.0));
        // 10:00 in New York is 15:00 UTC, 13 hours after the visit; a day later, 37.
        let next_day = NaiveDateTime::parse_from_str("2026-10-11 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        let (flags, _) = judge_exif(
            Some(&ExifEvidence { offset_minutes: Some(-300), ..near }),
            Some((Some(120.0), Some(30.0), Some(at))),
        );
        assert!(flags.is_empty(), "{flags:?}");
        let far = ExifEvidence { lat: Some(30.1), taken_at: Some(next_day), offset_minutes: Some(-300), ..near };
        let (flags, _) = judge_exif(Some(&far), Some((Some(120.0), Some(30.0), Some(at))));
        assert_eq!(flags, ["exif_far", "exif_time_apart"]);
        assert_eq!(judge_exif(None, None).0, ["no_exif"]);
    }
}
