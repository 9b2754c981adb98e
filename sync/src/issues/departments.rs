//! The departments issues are sent to (责任单位): a managed list that admins
//! keep (`department.create.v1`, `department.update.v1`). Reference data:
//! every device carries it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::SyncError;
use crate::command::{Applied, Command, check_version};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Department {
    pub id: Uuid,
    pub name_zh: String,
    pub name_en: String,
    pub sort: i32,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Every department (inactive ones too when `all`), in their order.
pub async fn list(db: &PgPool, all: bool) -> Result<Vec<Department>, SyncError> {
    Ok(sqlx::query_as(include_str!("departments/list.sql")).bind(all).fetch_all(db).await?)
}

pub async fn get(db: &PgPool, id: Uuid) -> Result<Department, SyncError> {
    sqlx::query_as(include_str!("departments/get.sql"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(SyncError::NotFound("department"))
}

/// `department.create.v1`.
#[derive(Debug, Clone)]
pub struct Create {
    pub id: Uuid,
    pub name_zh: String,
    pub name_en: String,
    pub sort: Option<i32>,
}

impl Command for Create {
    const NAME: &'static str = "department.create.v1";
    const ACTION: &'static str = "create";
    type Output = ();

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<()>, SyncError> {
        sqlx::query(include_str!("departments/insert.sql"))
            .bind(self.id)
            .bind(&self.name_zh)
            .bind(&self.name_en)
            .bind(self.sort)
            .execute(&mut *tx)
            .await?;
        Ok(Applied {
            entity: "department",
            id: self.id,
            details: json!({ "name_zh": self.name_zh, "name_en": self.name_en }),
            result: (),
        })
    }
}

/// `department.update.v1`: rename, reorder, retire (`active: false`) or bring back.
#[derive(Debug, Clone, Default)]
pub struct Update {
    pub id: Uuid,
    pub version: Option<i64>,
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub sort: Option<i32>,
    pub active: Option<bool>,
}

impl Command for Update {
    const NAME: &'static str = "department.update.v1";
    const ACTION: &'static str = "update";
    type Output = ();

    async fn apply(self, tx: &mut PgConnection, _by: Uuid) -> Result<Applied<()>, SyncError> {
        let current: i64 = sqlx::query_scalar(include_str!("departments/lock.sql"))
            .bind(self.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(SyncError::NotFound("department"))?;
        check_version(self.version, current)?;
        sqlx::query(include_str!("departments/update.sql"))
            .bind(self.id)
            .bind(&self.name_zh)
            .bind(&self.name_en)
            .bind(self.sort)
            .bind(self.active)
            .execute(&mut *tx)
            .await?;
        Ok(Applied {
            entity: "department",
            id: self.id,
            details: json!({ "name_zh": self.name_zh, "name_en": self.name_en, "sort": self.sort, "active": self.active }),
            result: (),
        })
    }
}
