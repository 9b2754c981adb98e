//! The liaison-station tree: one central station, regional stations under
//! it, liaison points under those. Everybody reads it; planners change it
//! (`station.create.v1`, `station.update.v1`, `station.deactivate.v1`).
//!
//! The tree's shape (one root, a parent for every other station, no cycle,
//! levels in order) and the code's form are the database's constraints.

use chrono::{DateTime, Utc};
use fieldvisit_geodata::wkb;
use geo::{Geometry, MultiPolygon, Point};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::SyncError;
use crate::command::{Applied, Command, check_version};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[sqlx(type_name = "station_level", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum StationLevel {
    Central,
    Regional,
    Point,
}

/// A station as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Station {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub level: StationLevel,
    pub code: String,
    pub name: String,
    /// WKB Point, WGS84.
    pub location: Vec<u8>,
    /// WKB MultiPolygon, WGS84.
    pub service_area: Option<Vec<u8>>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a list of stations is narrowed to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub level: Option<StationLevel>,
    pub parent_id: Option<Uuid>,
    pub active: Option<bool>,
    /// Part of the name or code; blank means no narrowing.
    pub q: Option<String>,
    pub after: Option<Uuid>,
}

/// Up to `limit` stations by id, after `filter.after`.
pub async fn list(db: &PgPool, filter: &Filter, limit: i64) -> Result<Vec<Station>, SyncError> {
    Ok(sqlx::query_as(concat!(include_str!("select.sql"), include_str!("list.sql")))
        .bind(filter.level)
        .bind(filter.parent_id)
        .bind(filter.active)
        .bind(filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()))
        .bind(filter.after)
        .bind(limit)
        .fetch_all(db)
        .await?)
}

/// One station.
/// When the station tree was first created (`None`: no station yet): the
/// demo dates its history from it, so a reload sees the same months.
pub async fn founded_at(db: &PgPool) -> Result<Option<chrono::DateTime<chrono::Utc>>, SyncError> {
    Ok(sqlx::query_scalar(include_str!("founded.sql")).fetch_one(db).await?)
}

pub async fn get(db: &PgPool, id: Uuid) -> Result<Station, SyncError> {
    fetch(db, id).await
}

async fn fetch<'c, E: sqlx::PgExecutor<'c>>(db: E, id: Uuid) -> Result<Station, SyncError> {
    sqlx::query_as(concat!(include_str!("select.sql"), include_str!("get.sql")))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(SyncError::NotFound("station"))
}

/// A code as stored: lower case (its form is `stations_code_check`).
fn code(c: &str) -> String {
    c.to_lowercase()
}

/// A service area as stored: a Polygon or MultiPolygon, as WKB MultiPolygon.
fn service_area(g: Geometry<f64>) -> Result<Vec<u8>, SyncError> {
    let m = match g {
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        Geometry::MultiPolygon(m) => m,
        _ => return Err(SyncError::invalid("service_area", "service_area must be a Polygon or MultiPolygon")),
    };
    Ok(wkb::to_wkb(&Geometry::MultiPolygon(m)))
}

/// A station that still has active people, places or sub-stations stays active.
async fn refuse_if_in_use(tx: &mut PgConnection, id: Uuid) -> Result<(), SyncError> {
    let in_use: bool = sqlx::query_scalar(include_str!("in_use.sql")).bind(id).fetch_one(&mut *tx).await?;
    if in_use {
        return Err(SyncError::conflict(
            "station_in_use",
            None,
            "move or deactivate this station's people, places and sub-stations first",
        ));
    }
    Ok(())
}

async fn lock(tx: &mut PgConnection, id: Uuid) -> Result<i64, SyncError> {
    sqlx::query_scalar(include_str!("lock.sql"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(SyncError::NotFound("station"))
}

/// `station.create.v1`: a new station. Answers it as stored.
#[derive(Debug, Clone)]
pub struct Create {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub level: StationLevel,
    pub code: String,
    pub name: String,
    /// WGS84, checked.
    pub location: Point<f64>,
    /// WGS84, checked; a Polygon or MultiPolygon.
    pub service_area: Option<Geometry<f64>>,
}

impl Command for Create {
    const NAME: &'static str = "station.create.v1";
    const ACTION: &'static str = "create";
    type Output = Station;

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<Station>, SyncError> {
        let code = code(&self.code);
        let area = self.service_area.map(service_area).transpose()?;
        sqlx::query(include_str!("insert.sql"))
            .bind(self.id)
            .bind(self.parent_id)
            .bind(self.level)
            .bind(&code)
            .bind(&self.name)
            .bind(wkb::to_wkb(&self.location.into()))
            .bind(area)
            .execute(&mut *tx)
            .await?;
        let station = fetch(&mut *tx, self.id).await?;
        Ok(Applied {
            entity: "station",
            id: self.id,
            details: json!({ "code": code, "name": self.name }),
            result: station,
        })
    }
}

/// `station.update.v1`: only what is `Some` changes; `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct Update {
    pub id: Uuid,
    /// When given, the change applies only if the station is still at this version.
    pub version: Option<i64>,
    pub parent_id: Option<Option<Uuid>>,
    pub level: Option<StationLevel>,
    pub code: Option<String>,
    pub name: Option<String>,
    /// WGS84, checked.
    pub location: Option<Point<f64>>,
    /// WGS84, checked; a Polygon or MultiPolygon.
    pub service_area: Option<Option<Geometry<f64>>>,
    /// `false` deactivates, as [`Deactivate`] does.
    pub active: Option<bool>,
}

impl Command for Update {
    const NAME: &'static str = "station.update.v1";
    const ACTION: &'static str = "update";
    type Output = Station;

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<Station>, SyncError> {
        let area = self.service_area.map(|a| a.map(service_area).transpose()).transpose()?;
        let version = lock(tx, self.id).await?;
        check_version(self.version, version)?;
        if self.active == Some(false) {
            refuse_if_in_use(tx, self.id).await?;
        }
        sqlx::query(include_str!("update.sql"))
            .bind(self.id)
            .bind(self.parent_id.is_some())
            .bind(self.parent_id.flatten())
            .bind(self.level)
            .bind(self.code.as_deref().map(code))
            .bind(self.name)
            .bind(self.location.map(|l| wkb::to_wkb(&l.into())))
            .bind(area.is_some())
            .bind(area.flatten())
            .bind(self.active)
            .execute(&mut *tx)
            .await?;
        let station = fetch(&mut *tx, self.id).await?;
        Ok(Applied { entity: "station", id: self.id, details: json!({}), result: station })
    }
}

/// `station.deactivate.v1`: the station stays in the records; one that still
/// has active people, places or sub-stations cannot be deactivated.
#[derive(Debug, Clone, Copy)]
pub struct Deactivate {
    pub id: Uuid,
}

impl Command for Deactivate {
    const NAME: &'static str = "station.deactivate.v1";
    const ACTION: &'static str = "deactivate";
    type Output = Station;

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<Station>, SyncError> {
        lock(tx, self.id).await?;
        refuse_if_in_use(tx, self.id).await?;
        sqlx::query(include_str!("deactivate.sql")).bind(self.id).execute(&mut *tx).await?;
        let station = fetch(&mut *tx, self.id).await?;
        Ok(Applied { entity: "station", id: self.id, details: json!({}), result: station })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    #[test]
    fn a_service_area_is_stored_as_a_multipolygon() {
        let square = Polygon::new(LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]), vec![]);
        let stored = wkb::from_wkb(&service_area(Geometry::Polygon(square.clone())).unwrap()).unwrap();
        assert_eq!(stored, Geometry::MultiPolygon(MultiPolygon(vec![square])));
        assert!(matches!(
            service_area(Geometry::Point(Point::new(0.0, 0.0))),
            Err(SyncError::Invalid { field: "service_area", .. })
        ));
    }
}
