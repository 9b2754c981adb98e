//! Places to visit: grid cells, enterprises and project sites, each of one
//! station. Planners create, change and deactivate them (`place.create.v1`,
//! `place.update.v1`, `place.deactivate.v1`); everyone else reads within
//! their scope. Geometry comes in as WGS84 `geo` values, checked and
//! converted at the edge, and goes out as WGS84 WKB.
//!
//! The shape a kind allows (a grid cell is a polygon; an enterprise or a
//! project site a point or a polygon) is the database's constraint
//! `places_geom_shape`, whichever of kind and geometry changes.

pub mod import;

use chrono::{DateTime, Utc};
use fieldvisit_geodata::wkb;
use geo::Geometry;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::SyncError;
use crate::assignments::{self, Ending};
use crate::command::{Applied, Command, check_version};
use crate::scope::Scope;

/// The kind of place, which decides its shape and where a visitor stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[sqlx(type_name = "place_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    GridCell,
    Enterprise,
    ProjectSite,
}

impl PlaceKind {
    /// The spelling of the API and the database: `grid_cell`, `enterprise`, `project_site`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::GridCell => "grid_cell",
            Self::Enterprise => "enterprise",
            Self::ProjectSite => "project_site",
        }
    }
}

/// Largest `attributes` object accepted, serialised, in bytes.
pub const ATTRIBUTES_MAX_BYTES: usize = 8 * 1024;

/// A place as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Place {
    pub id: Uuid,
    pub kind: PlaceKind,
    pub name: String,
    pub address: Option<String>,
    /// WKB, WGS84.
    pub geom: Vec<u8>,
    pub station_id: Uuid,
    pub source: String,
    pub external_id: Option<String>,
    pub attributes: Value,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a list of places is narrowed to, besides the scope.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Option<PlaceKind>,
    pub station_id: Option<Uuid>,
    pub active: Option<bool>,
    /// Part of the name or address; blank means no narrowing.
    pub q: Option<String>,
    pub source: Option<String>,
    pub external_id: Option<String>,
    /// `[min_lon, min_lat, max_lon, max_lat]` in WGS84: places that touch this box.
    pub bbox: Option<[f64; 4]>,
    pub after: Option<Uuid>,
}

/// Up to `limit` places of the scope by id, after `filter.after`.
pub async fn list(db: &PgPool, scope: &Scope, filter: &Filter, limit: i64) -> Result<Vec<Place>, SyncError> {
    Ok(sqlx::query_as(concat!(include_str!("select.sql"), include_str!("list.sql")))
        .bind(&scope.stations)
        .bind(filter.kind)
        .bind(filter.station_id)
        .bind(filter.active)
        .bind(filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()))
        .bind(&filter.source)
        .bind(&filter.external_id)
        .bind(filter.bbox.map(Vec::from))
        .bind(filter.after)
        .bind(limit)
        .fetch_all(db)
        .await?)
}

/// One place, if within the scope.
pub async fn get(db: &PgPool, scope: &Scope, id: Uuid) -> Result<Place, SyncError> {
    fetch(db, scope, id).await
}

async fn fetch<'c, E: sqlx::PgExecutor<'c>>(db: E, scope: &Scope, id: Uuid) -> Result<Place, SyncError> {
    sqlx::query_as(concat!(include_str!("select.sql"), include_str!("get.sql")))
        .bind(&scope.stations)
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(SyncError::NotFound("place"))
}

/// A place's free-form attributes: a JSON object of at most
/// [`ATTRIBUTES_MAX_BYTES`]; absent or null is empty.
fn attributes(v: Option<Value>) -> Result<Value, SyncError> {
    const FIELD: &str = "properties.attributes";
    match v {
        None | Some(Value::Null) => Ok(json!({})),
        Some(v @ Value::Object(_)) if v.to_string().len() > ATTRIBUTES_MAX_BYTES => {
            Err(SyncError::invalid(FIELD, format!("attributes must be at most {ATTRIBUTES_MAX_BYTES} bytes")))
        }
        Some(v @ Value::Object(_)) => Ok(v),
        Some(_) => Err(SyncError::invalid(FIELD, "attributes must be a JSON object")),
    }
}

/// `place.create.v1`: a new place. Answers it as stored.
#[derive(Debug, Clone)]
pub struct Create {
    pub id: Uuid,
    pub kind: PlaceKind,
    pub name: String,
    pub address: Option<String>,
    /// WGS84, checked.
    pub geometry: Geometry<f64>,
    pub station_id: Uuid,
    /// Where the record comes from; `manual` when absent. `external_id` is unique per source.
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub attributes: Option<Value>,
}

impl Command for Create {
    const NAME: &'static str = "place.create.v1";
    const ACTION: &'static str = "create";
    type Output = Place;

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<Place>, SyncError> {
        let attributes = attributes(self.attributes)?;
        sqlx::query(include_str!("insert.sql"))
            .bind(self.id)
            .bind(self.kind)
            .bind(&self.name)
            .bind(&self.address)
            .bind(wkb::to_wkb(&self.geometry))
            .bind(self.station_id)
            .bind(self.source.as_deref().unwrap_or("manual"))
            .bind(&self.external_id)
            .bind(attributes)
            .execute(&mut *tx)
            .await?;
        let place = fetch(&mut *tx, &Scope::default(), self.id).await?;
        Ok(Applied { entity: "place", id: self.id, details: json!({ "name": self.name }), result: place })
    }
}

/// `place.update.v1`: only what is `Some` changes; `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct Update {
    pub id: Uuid,
    /// When given, the change applies only if the place is still at this version.
    pub version: Option<i64>,
    pub kind: Option<PlaceKind>,
    pub name: Option<String>,
    pub address: Option<Option<String>>,
    /// WGS84, checked.
    pub geometry: Option<Geometry<f64>>,
    pub station_id: Option<Uuid>,
    pub source: Option<String>,
    pub external_id: Option<Option<String>>,
    pub attributes: Option<Value>,
    /// `false` deactivates, ending the place's open assignments today.
    pub active: Option<bool>,
}

impl Command for Update {
    const NAME: &'static str = "place.update.v1";
    const ACTION: &'static str = "update";
    type Output = Place;

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<Place>, SyncError> {
        let attributes = self.attributes.map(|a| attributes(Some(a))).transpose()?;
        let version: i64 = sqlx::query_scalar(include_str!("lock_version.sql"))
            .bind(self.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(SyncError::NotFound("place"))?;
        check_version(self.version, version)?;
        sqlx::query(include_str!("update.sql"))
            .bind(self.id)
            .bind(self.kind)
            .bind(self.name)
            .bind(self.address.is_some())
            .bind(self.address.flatten())
            .bind(self.geometry.as_ref().map(wkb::to_wkb))
            .bind(self.station_id)
            .bind(self.source)
            .bind(self.external_id.is_some())
            .bind(self.external_id.flatten())
            .bind(attributes)
            .bind(self.active)
            .execute(&mut *tx)
            .await?;
        if self.active == Some(false) {
            assignments::end_open(&mut *tx, Ending::Place(self.id)).await?;
        }
        let place = fetch(&mut *tx, &Scope::default(), self.id).await?;
        Ok(Applied {
            entity: "place",
            id: self.id,
            details: json!({ "geometry_changed": self.geometry.is_some() }),
            result: place,
        })
    }
}

/// `place.deactivate.v1`: the place stays in the records, and its open
/// assignments end today (Asia/Shanghai). An inactive place stays as it is.
#[derive(Debug, Clone, Copy)]
pub struct Deactivate {
    pub id: Uuid,
}

impl Command for Deactivate {
    const NAME: &'static str = "place.deactivate.v1";
    const ACTION: &'static str = "deactivate";
    type Output = Place;

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<Place>, SyncError> {
        let active: bool = sqlx::query_scalar(include_str!("lock.sql"))
            .bind(self.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(SyncError::NotFound("place"))?;
        if active {
            sqlx::query(include_str!("deactivate.sql")).bind(self.id).execute(&mut *tx).await?;
            assignments::end_open(&mut *tx, Ending::Place(self.id)).await?;
        }
        let place = fetch(&mut *tx, &Scope::default(), self.id).await?;
        Ok(Applied { entity: "place", id: self.id, details: json!({}), result: place })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_an_object_of_bounded_size() {
        assert_eq!(attributes(None).unwrap(), json!({}));
        assert_eq!(attributes(Some(Value::Null)).unwrap(), json!({}));
        assert_eq!(attributes(Some(json!({"a": 1}))).unwrap(), json!({"a": 1}));
        assert!(matches!(attributes(Some(json!([1]))), Err(SyncError::Invalid { field: "properties.attributes", .. })));
        let big = json!({ "a": "x".repeat(ATTRIBUTES_MAX_BYTES) });
        assert!(matches!(attributes(Some(big)), Err(SyncError::Invalid { field: "properties.attributes", .. })));
    }

    #[test]
    fn kinds_are_spelled_as_on_the_wire() {
        for kind in [PlaceKind::GridCell, PlaceKind::Enterprise, PlaceKind::ProjectSite] {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
    }
}
