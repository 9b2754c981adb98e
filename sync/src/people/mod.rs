//! People: representatives, station staff, planners, presidium and admins;
//! their roles, and the admin's changes to them (`person.create.v1`,
//! `person.update.v1`, `person.deactivate.v1`). Passwords arrive hashed: the
//! API does the argon2 work on its bounded pool, this crate only stores it.

use chrono::{DateTime, Utc};
use geo::{Geometry, Point};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::SyncError;
use crate::assignments::{self, Ending};
use crate::command::{Applied, Command, check_version};
use crate::scope::Scope;
use crate::sign_ins;

/// What a person does; the access policy hangs on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[sqlx(type_name = "person_role", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Representative,
    StationStaff,
    Planner,
    Presidium,
    Admin,
}

/// A person as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Person {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub username: String,
    pub role: Role,
    pub station_id: Option<Uuid>,
    /// Where the nearby-assignment rule measures from: a WGS84 point as WKB.
    pub anchor: Option<Vec<u8>>,
    /// How many places this person can visit each month.
    pub visit_capacity: i32,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a list of people is narrowed to, besides the scope.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub role: Option<Role>,
    pub station_id: Option<Uuid>,
    pub active: Option<bool>,
    /// Part of the name, username or phone; blank means no narrowing.
    pub q: Option<String>,
    pub after: Option<Uuid>,
}

/// Up to `limit` people of the scope by id, after `filter.after`.
pub async fn list(db: &PgPool, scope: &Scope, filter: &Filter, limit: i64) -> Result<Vec<Person>, SyncError> {
    Ok(sqlx::query_as(concat!(include_str!("select.sql"), include_str!("list.sql")))
        .bind(&scope.stations)
        .bind(scope.person)
        .bind(filter.role)
        .bind(filter.station_id)
        .bind(filter.active)
        .bind(filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()))
        .bind(filter.after)
        .bind(limit)
        .fetch_all(db)
        .await?)
}

/// One person, if within the scope.
pub async fn get(db: &PgPool, scope: &Scope, id: Uuid) -> Result<Person, SyncError> {
    sqlx::query_as(concat!(include_str!("select.sql"), " AND id = $3"))
        .bind(&scope.stations)
        .bind(scope.person)
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(SyncError::NotFound("person"))
}

/// Monthly places a person may be given when nobody says.
pub const DEFAULT_VISIT_CAPACITY: i32 = 8;

/// A username as stored: lower case, 3 to 64 of a-z, 0-9, `_`, `.`, `-`,
/// starting with a letter or digit.
pub fn username(v: &str) -> Result<String, SyncError> {
    let u = v.trim().to_lowercase();
    let ok = (3..=64).contains(&u.chars().count())
        && u.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && u.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok {
        return Err(SyncError::invalid(
            "username",
            "username needs 3 to 64 characters: a-z, 0-9, '_', '.', '-', starting with a letter or digit",
        ));
    }
    Ok(u)
}

/// The same rule as the column's check: optional '+', a digit, then digits, spaces or '-'.
pub fn check_phone(p: &str) -> Result<(), SyncError> {
    let rest = p.strip_prefix('+').unwrap_or(p);
    let ok = (5..=20).contains(&rest.len())
        && rest.starts_with(|c: char| c.is_ascii_digit())
        && rest.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(SyncError::invalid("phone", "phone must be digits, optionally with a leading '+', spaces or '-'"))
    }
}

fn check_capacity(v: i32) -> Result<(), SyncError> {
    if (0..=1000).contains(&v) {
        Ok(())
    } else {
        Err(SyncError::invalid("visit_capacity", "visit_capacity must be between 0 and 1000"))
    }
}

fn anchor_wkb(anchor: Option<Point<f64>>) -> Option<Vec<u8>> {
    anchor.map(|a| fieldvisit_geodata::wkb::to_wkb(&Geometry::Point(a)))
}

/// `person.create.v1`: a new account (admins).
#[derive(Debug, Clone)]
pub struct Create {
    pub id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub username: String,
    /// The argon2 hash of the first password.
    pub password_hash: String,
    pub role: Role,
    pub station_id: Option<Uuid>,
    /// WGS84.
    pub anchor: Option<Point<f64>>,
    pub visit_capacity: Option<i32>,
}

impl Command for Create {
    const NAME: &'static str = "person.create.v1";
    const ACTION: &'static str = "create";
    type Output = ();

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<()>, SyncError> {
        let username = username(&self.username)?;
        if let Some(p) = &self.phone {
            check_phone(p)?;
        }
        let capacity = self.visit_capacity.unwrap_or(DEFAULT_VISIT_CAPACITY);
        check_capacity(capacity)?;
        sqlx::query(include_str!("insert.sql"))
            .bind(self.id)
            .bind(&self.name)
            .bind(&self.phone)
            .bind(&username)
            .bind(&self.password_hash)
            .bind(self.role)
            .bind(self.station_id)
            .bind(anchor_wkb(self.anchor))
            .bind(capacity)
            .execute(&mut *tx)
            .await?;
        Ok(Applied {
            entity: "person",
            id: self.id,
            details: json!({ "username": username, "role": self.role }),
            result: (),
        })
    }
}

/// `person.update.v1`: only the fields that are `Some` change; for the
/// clearable ones, `Some(None)` clears. A new password or a deactivation ends
/// every sign-in of the person; a deactivation also ends their open assignments.
#[derive(Debug, Clone, Default)]
pub struct Update {
    pub id: Uuid,
    /// The version the admin read, when they say.
    pub version: Option<i64>,
    pub name: Option<String>,
    pub phone: Option<Option<String>>,
    pub username: Option<String>,
    /// The argon2 hash of a new password.
    pub password_hash: Option<String>,
    pub role: Option<Role>,
    pub station_id: Option<Option<Uuid>>,
    /// WGS84.
    pub anchor: Option<Option<Point<f64>>>,
    pub visit_capacity: Option<i32>,
    pub active: Option<bool>,
}

impl Command for Update {
    const NAME: &'static str = "person.update.v1";
    const ACTION: &'static str = "update";
    type Output = ();

    async fn apply(self, tx: &mut PgConnection, by: Uuid) -> Result<Applied<()>, SyncError> {
        let username = self.username.as_deref().map(username).transpose()?;
        if let Some(Some(p)) = &self.phone {
            check_phone(p)?;
        }
        if let Some(c) = self.visit_capacity {
            check_capacity(c)?;
        }
        // Somebody must stay able to manage people.
        if self.id == by && (self.active == Some(false) || self.role.is_some_and(|r| r != Role::Admin)) {
            return Err(SyncError::conflict(
                "cannot_demote_self",
                None,
                "you cannot deactivate yourself or give up your own admin role",
            ));
        }
        let current: Option<i64> =
            sqlx::query_scalar(include_str!("lock.sql")).bind(self.id).fetch_optional(&mut *tx).await?;
        check_version(self.version, current.ok_or(SyncError::NotFound("person"))?)?;
        let password_changed = self.password_hash.is_some();
        let deactivated = self.active == Some(false);
        sqlx::query(include_str!("update.sql"))
            .bind(self.id)
            .bind(self.name)
            .bind(self.phone.is_some())
            .bind(self.phone.flatten())
            .bind(username)
            .bind(self.password_hash)
            .bind(self.role)
            .bind(self.station_id.is_some())
            .bind(self.station_id.flatten())
            .bind(self.anchor.is_some())
            .bind(anchor_wkb(self.anchor.flatten()))
            .bind(self.visit_capacity)
            .bind(self.active)
            .execute(&mut *tx)
            .await?;
        if password_changed || deactivated {
            sign_ins::end_all(tx, self.id).await?;
        }
        if deactivated {
            assignments::end_open(tx, Ending::Person(self.id)).await?;
        }
        Ok(Applied {
            entity: "person",
            id: self.id,
            details: json!({ "password_changed": password_changed }),
            result: (),
        })
    }
}

/// `person.deactivate.v1`: the person can no longer sign in, every sign-in
/// ends and their open assignments end today; their records stay.
#[derive(Debug, Clone, Copy)]
pub struct Deactivate {
    pub id: Uuid,
}

impl Command for Deactivate {
    const NAME: &'static str = "person.deactivate.v1";
    const ACTION: &'static str = "deactivate";
    type Output = ();

    async fn apply(self, tx: &mut PgConnection, by: Uuid) -> Result<Applied<()>, SyncError> {
        if self.id == by {
            return Err(SyncError::conflict("cannot_demote_self", None, "you cannot deactivate yourself"));
        }
        let exists: bool = sqlx::query_scalar(include_str!("deactivate.sql")).bind(self.id).fetch_one(&mut *tx).await?;
        if !exists {
            return Err(SyncError::NotFound("person"));
        }
        sign_ins::end_all(tx, self.id).await?;
        assignments::end_open(tx, Ending::Person(self.id)).await?;
        Ok(Applied { entity: "person", id: self.id, details: json!({}), result: () })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lower_case_and_plain() {
        assert_eq!(username(" Rep.001 ").unwrap(), "rep.001");
        for bad in ["ab", "_rep", "rep 1", "张三", &"a".repeat(65)] {
            assert!(username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_follow_the_column_rule() {
        for good in ["+86 138-0000-0000", "12345"] {
            assert!(check_phone(good).is_ok(), "{good}");
        }
        for bad in ["-12345", "1234", "+", "12a45", "+1234567890123456789012"] {
            assert!(check_phone(bad).is_err(), "{bad}");
        }
    }
}
