//! The access policy: who may read what and who may change what. This is the
//! only place that knows; handlers ask it and never decide for themselves,
//! and the sync buckets a device carries are derived from the same table, so
//! what a role receives through sync is exactly what it may read through REST.
//!
//! | resource    | representative | station_staff | planner | presidium | admin |
//! |-------------|----------------|---------------|---------|-----------|-------|
//! | stations    | read all       | read all      | read all, edit | read all | read all |
//! | places      | own station    | subtree       | all, edit | all     | all   |
//! | assignments | own            | subtree       | all, edit | all     | all   |
//! | people      | self           | subtree       | all     | all       | all, edit |
//! | check-ins   | own, create    | subtree, review | all, review | all   | all   |
//! | findings    | own, create    | subtree       | all     | all       | all   |
//! | photos      | own, create    | subtree       | all     | all       | all   |
//! | issues      | raised by them | subtree, manage | all   | all, manage | all |
//! | issue lists | —              | subtree, draft and issue | all | all, draft and issue | all |
//! | departments | read all       | read all      | read all | read all | read all, edit |
//!
//! Who may take which step of an issue's workflow (accept, answer, close out…)
//! is the workflow's own table (`fieldvisit_sync::issues::workflow`): the
//! policy decides which issues a caller sees, the workflow what they may do.
//!
//! The station tree is reference data every device carries, so everybody reads
//! it. A record outside the caller's scope answers 404, exactly like a record
//! that does not exist, so that scope leaks nothing.
//!
//! Sync: every synced record is logged to its owner's `rep:{person}` bucket
//! (when it has an owner) and to `{resource}:{station}` of its place's
//! station. A caller carries `rep:{self}`, and `{resource}:{station}` for each
//! station its reach of that resource covers; "own records" covers none, so a
//! representative receives the station's places but only their own findings.

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Roles are the domain's (one definition, with its database type).
pub use fieldvisit_sync::people::Role;

/// Something a caller reads, scoped by the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Stations,
    Places,
    Assignments,
    People,
    CheckIns,
    Findings,
    Photos,
    /// The ledger: a representative sees the issues they raised.
    Issues,
}

/// The resources devices replicate station by station, with the prefix of
/// their per-station bucket (the database triggers write the same names).
pub const SYNCED: [(Resource, &str); 6] = [
    (Resource::Places, "places"),
    (Resource::Assignments, "assignments"),
    (Resource::CheckIns, "check_ins"),
    (Resource::Findings, "findings"),
    (Resource::Photos, "photos"),
    (Resource::Issues, "issues"),
];

/// A change a caller may be allowed to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    EditStations,
    EditPlaces,
    EditAssignments,
    ManagePeople,
    ReviewCheckIns,
    /// Create issues, edit them, draft and issue the monthly lists.
    ManageIssues,
    EditDepartments,
}

/// The authenticated person behind a request, as the database says now.
#[derive(Debug, Clone)]
pub struct Caller {
    pub person_id: Uuid,
    pub username: String,
    pub role: Role,
    pub station_id: Option<Uuid>,
}

/// Which rows a caller may read (the domain's own type).
pub use fieldvisit_sync::Scope;

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
        (P::Representative, R::Assignments | R::People | R::CheckIns | R::Findings | R::Photos | R::Issues) => {
            Reach::OwnRecords
        }
    }
}

fn allows(role: Role, permission: Permission) -> bool {
    matches!(
        (role, permission),
        (Role::Planner, Permission::EditStations | Permission::EditPlaces | Permission::EditAssignments)
            | (Role::Admin, Permission::ManagePeople | Permission::EditDepartments)
            | (Role::Planner | Role::StationStaff, Permission::ReviewCheckIns)
            | (Role::StationStaff | Role::Presidium, Permission::ManageIssues)
    )
}

impl Caller {
    /// Whether the caller's role allows `permission` (for what a role sees more of).
    pub fn may(&self, permission: Permission) -> bool {
        allows(self.role, permission)
    }

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
                Permission::ManageIssues => "manage issues",
                Permission::EditDepartments => "edit departments",
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
                Scope { stations: Some(fieldvisit_sync::scope::station_subtree(db, root).await?), person: None }
            }
            Reach::OwnStation => Scope { stations: Some(self.station_id.into_iter().collect()), person: None },
            Reach::OwnRecords => Scope { stations: None, person: Some(self.person_id) },
        })
    }
}

impl Caller {
    /// The sync view of this caller: which places they may visit and which
    /// buckets their devices carry, derived from the policy table above and
    /// read from the database now (a moved representative is seen at once).
    pub async fn sync_actor(&self, db: &PgPool) -> ApiResult<fieldvisit_sync::Actor> {
        let mut all_stations: Option<Vec<Uuid>> = None;
        let mut buckets = vec![fieldvisit_sync::buckets::REF.to_owned(), fieldvisit_sync::buckets::own(self.person_id)];
        for (resource, prefix) in SYNCED {
            let scope = self.scope(db, resource).await?;
            let stations = match (scope.person, scope.stations) {
                // Own records come through the caller's own bucket only.
                (Some(_), _) => Vec::new(),
                (None, Some(stations)) => stations,
                (None, None) => {
                    if all_stations.is_none() {
                        all_stations = Some(fieldvisit_sync::scope::active_stations(db).await?);
                    }
                    all_stations.clone().unwrap_or_default()
                }
            };
            buckets.extend(stations.into_iter().map(|s| fieldvisit_sync::buckets::of_station(prefix, s)));
        }
        Ok(fieldvisit_sync::Actor {
            person_id: self.person_id,
            representative: self.role == Role::Representative,
            place_stations: self.scope(db, Resource::Places).await?.stations,
            buckets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_role_reads_others_records_of_a_kind_it_may_only_read_for_itself() {
        // A representative's reach: their station's places, their own everything else.
        for (resource, _) in SYNCED {
            let own = matches!(reach(Role::Representative, resource), Reach::OwnRecords);
            assert_eq!(own, resource != Resource::Places, "{resource:?}");
        }
        for role in [Role::StationStaff, Role::Planner, Role::Presidium, Role::Admin] {
            for (resource, _) in SYNCED {
                assert!(!matches!(reach(role, resource), Reach::OwnRecords), "{role:?} {resource:?}");
            }
        }
    }

    #[test]
    fn only_planners_edit_the_map_and_only_admins_manage_people() {
        for role in [Role::Representative, Role::StationStaff, Role::Planner, Role::Presidium, Role::Admin] {
            assert_eq!(allows(role, Permission::EditPlaces), role == Role::Planner, "{role:?}");
            assert_eq!(allows(role, Permission::ManagePeople), role == Role::Admin, "{role:?}");
        }
    }
}
