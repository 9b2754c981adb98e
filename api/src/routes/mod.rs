//! HTTP handlers, one file per resource. Handlers parse, ask the policy, run
//! the query and shape the answer; rules live in the policy, the database
//! constraints and the domain crates.

pub mod assignment_proposals;
pub mod assignments;
pub mod auth;
pub mod blobs;
pub mod check_ins;
pub mod coverage;
pub mod coverage_report;
pub mod departments;
pub mod exports;
pub mod findings;
pub mod health;
pub mod issue_lists;
pub mod issue_stats;
pub mod issues;
pub mod people;
pub mod photos;
pub mod places;
pub mod places_import;
pub mod stations;
pub mod sync;
pub mod visits;

/// A page of results: `next_after` is the `after` to pass for the next page.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<uuid::Uuid>,
}

impl<T> Page<T> {
    /// `rows` was fetched with `limit + 1` so a further page can be detected.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> uuid::Uuid) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let next_after = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&id)
        } else {
            None
        };
        Self { items: rows, next_after }
    }
}

/// An error body, for the OpenAPI document.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// More facts, e.g. `{"field": "name"}`.
    pub details: Option<serde_json::Value>,
}
