//! The access policy: who may read what and who may change what. This is the
//! only place that knows; handlers ask it and never decide for themselves.
//!
//! | resource    | representative | station_staff | planner | presidium | admin |
//! |-------------|----------------|---------------|---------|-----------|-------|
//! | stations    | read all       | read all      | read all, edit | read all | read all |
//! | places      | own station    | subtree       | all, edit | all     | all   |
//! | assignments | own            | subtree       | all, edit | all     | all   |
//! | people      | self           | subtree       | all     | all       | all, edit |
//! | check-ins   | own, create    | subtree, review | all, review | all   | all   |
//!
//! The station tree is reference data every device carries, so everybody reads
//! it. A record outside the caller's scope answers 404, exactly like a record
//! that does not exist, so that scope leaks nothing.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema)]
#[sqlx(type_name = "person_role", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Representative,
    StationStaff,
    Planner,
    Presidium,
    Admin,
}

/// Something a caller reads, scoped by the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Stations,
    Places,
    Assignments,
    People,
    CheckIns,
}

/// A change a caller may be allowed to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    EditStations,
    EditPlaces,
    EditAssignments,
    ManagePeople,
    ReviewCheckIns,
}

/// The authenticated person behind a request, as the database says now.
#[derive(Debug, Clone)]
pub struct Caller {
    pub person_id: Uuid,
    pub username: String,
    pub role: Role,
    pub station_id: Option<Uuid>,
}

/// Which rows a caller may read: `stations = None` means the whole township;
/// `person`, when set, narrows to the caller's own records.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub stations: Option<Vec<Uuid>>,
    pub person: Option<Uuid>,
}

enum Reach {
    Township,
    Subtree,
    OwnStation,
    OwnRecords,
}

fn reach(role: Role, resource: Resource) -> Reach {
    use Resource as R;
    use Role as P;
    match (role, resource) {
        (_, R::Stations) | (P::Planner | P::Presidium | P::Admin, _) => Reach::Township,
        (P::StationStaff, _) => Reach::Subtree,
        (P::Representative, R::Places) => Reach::OwnStation,
        (P::Representative, R::Assignments | R::People | R::CheckIns) => Reach::OwnRecords,
    }
}

fn allows(role: Role, permission: Permission) -> bool {
    matches!(
        (role, permission),
        (Role::Planner, Permission::EditStations | Permission::EditPlaces | Permission::EditAssignments)
            | (Role::Admin, Permission::ManagePeople)
            | (Role::Planner | Role::StationStaff, Permission::ReviewCheckIns)
    )
}

impl Caller {
    pub fn require(&self, permission: Permission) -> ApiResult<()> {
        if allows(self.role, permission) {
            Ok(())
        } else {
            let what = match permission {
                Permission::EditStations => "edit stations",
                Permission::EditPlaces => "edit places",
                Permission::EditAssignments => "edit assignments",
                Permission::ManagePeople => "manage people",
                Permission::ReviewCheckIns => "review check-ins",
            };
            Err(ApiError::Forbidden(format!("the {:?} role may not {what}", self.role).to_lowercase()))
        }
    }

    /// The rows of `resource` this caller may read.
    pub async fn scope(&self, db: &PgPool, resource: Resource) -> ApiResult<Scope> {
        Ok(match reach(self.role, resource) {
            Reach::Township => Scope::default(),
            Reach::Subtree => {
                let root = self.station_id.ok_or_else(|| ApiError::Forbidden("you belong to no station".into()))?;
                let ids: Vec<Uuid> = sqlx::query_scalar("SELECT station_subtree($1)").bind(root).fetch_all(db).await?;
                Scope { stations: Some(ids), person: None }
            }
            Reach::OwnStation => Scope { stations: Some(self.station_id.into_iter().collect()), person: None },
            Reach::OwnRecords => Scope { stations: None, person: Some(self.person_id) },
        })
    }
}

impl Caller {
    /// The sync view of this caller: which places they may visit and which
    /// station buckets their devices carry, read from the database now.
    pub async fn sync_actor(&self, db: &PgPool) -> ApiResult<fieldvisit_sync::Actor> {
        let places = self.scope(db, Resource::Places).await?.stations;
        let bucket_stations = match &places {
            Some(s) => s.clone(),
            None => sqlx::query_scalar("SELECT id FROM stations WHERE active").fetch_all(db).await?,
        };
        Ok(fieldvisit_sync::Actor {
            person_id: self.person_id,
            representative: self.role == Role::Representative,
            place_stations: places,
            bucket_stations,
            own_bucket: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_planners_edit_the_map_and_only_admins_manage_people() {
        for role in [Role::Representative, Role::StationStaff, Role::Planner, Role::Presidium, Role::Admin] {
            assert_eq!(allows(role, Permission::EditPlaces), role == Role::Planner, "{role:?}");
            assert_eq!(allows(role, Permission::ManagePeople), role == Role::Admin, "{role:?}");
        }
    }
}
