//! The one error type of the HTTP API and its JSON shape:
//! `{"error": {"code": "...", "message": "...", "details": ...}}`.
//!
//! Database and internal errors are logged with the request's span and never
//! shown; everything a client can fix is a 4xx with a stable `code`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// What a 503 asks a client to wait before retrying, in seconds.
pub const RETRY_AFTER_S: u64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body or a parameter is malformed or fails a rule; `field` names it.
    #[error("{message}")]
    Invalid { code: &'static str, message: String, field: Option<String> },
    /// No credentials, or credentials that are not (or no longer) valid.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but the role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Absent, or outside the caller's scope (which must look the same).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (duplicate, stale version).
    #[error("{message}")]
    Conflict { code: &'static str, message: String, field: Option<String> },
    /// A workflow step not allowed now; `allowed` lists those that are.
    #[error("{message}")]
    IllegalTransition { message: String, allowed: Vec<&'static str> },
    /// Too many failed logins for one username; retry after the given seconds.
    #[error("too many failed logins; try again in {0} seconds")]
    TooManyAttempts(u64),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The client must update before it may do this.
    #[error("{0}")]
    UpgradeRequired(String),
    /// The database went away or refused for now (see
    /// [`fieldvisit_sync::database_unavailable`]); the same request may be
    /// retried. A failure that raced a commit may have committed.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { code: "validation_failed", message: message.into(), field: Some(field.into()) }
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            // Unparseable input is a 400; parseable input that breaks a rule is a 422.
            Self::Invalid { code: "invalid_json" | "invalid_parameter" | "invalid_cursor", .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } | Self::IllegalTransition { .. } => StatusCode::CONFLICT,
            Self::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::UpgradeRequired(_) => StatusCode::UPGRADE_REQUIRED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Invalid { code, .. } | Self::Conflict { code, .. } => code,
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::IllegalTransition { .. } => "illegal_transition",
            Self::TooManyAttempts(_) => "too_many_attempts",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::UpgradeRequired(_) => "upgrade_required",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    fn details(&self) -> Value {
        match self {
            Self::Invalid { field: Some(f), .. } | Self::Conflict { field: Some(f), .. } => json!({ "field": f }),
            Self::TooManyAttempts(secs) => json!({ "retry_after_s": secs }),
            Self::IllegalTransition { allowed, .. } => json!({ "allowed": allowed }),
            _ => Value::Null,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        match &self {
            Self::Internal(e) => tracing::error!(error = ?e, "internal error"),
            Self::Unavailable(e) => tracing::error!(error = %e, "database unavailable"),
            _ => tracing::debug!(code = self.code(), "{self}"),
        }
        let body = json!({ "error": { "code": self.code(), "message": self.to_string(), "details": self.details() } });
        let mut response = (status, axum::Json(body)).into_response();
        if let Self::TooManyAttempts(secs) = self
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let Self::Unavailable(e) = &self {
            // Overload (no free connection in time) or the database away: either passes.
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
            if matches!(e, sqlx::Error::PoolTimedOut) {
                metrics::counter!("fieldvisit_db_acquire_timeouts_total").increment(1);
            }
        }
        response
    }
}

/// A database that went away or refused for now is a 503; named constraints
/// become 4xx answers that name the field; anything else is internal.
/// Keeping the map here means a handler never inspects SQLSTATEs.
impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        // First: a session the server ended (57P01 ...) must never read as a bug.
        if fieldvisit_sync::database_unavailable(&e) {
            return Self::Unavailable(e);
        }
        if let sqlx::Error::Database(db) = &e {
            let constraint = db.constraint().unwrap_or_default();
            let message = db.message().to_owned();
            if let Some((code, field, text)) = constraint_meaning(constraint) {
                let message = if text.is_empty() { message } else { text.to_owned() };
                return if code == "conflict" {
                    Self::Conflict { code: "already_exists", message, field: Some(field.to_owned()) }
                } else {
                    Self::Invalid { code: "validation_failed", message, field: Some(field.to_owned()) }
                };
            }
            // 23503 foreign key, 23514 check, 23P01 exclusion: still the client's doing.
            match db.code().as_deref() {
                Some("23505") if constraint.ends_with("_pkey") => {
                    return Self::Conflict {
                        code: "already_exists",
                        message: "a record with this id already exists".into(),
                        field: Some("id".into()),
                    };
                }
                Some("23503") => return Self::invalid(constraint, "refers to a record that does not exist"),
                // Data exceptions (a NUL byte, a date or number out of range): the value is unusable.
                // Said in our words: the database's text names its internals, not the request.
                Some(code) if code.starts_with("22") => {
                    return Self::Invalid {
                        code: "validation_failed",
                        message: data_exception_message(code).into(),
                        field: None,
                    };
                }
                Some("23514" | "23P01" | "22023" | "XX000") if !constraint.is_empty() => {
                    return Self::invalid(constraint, message);
                }
                _ => {}
            }
        }
        Self::Internal(e.into())
    }
}

/// What a data exception (SQLSTATE class 22) means for the client.
fn data_exception_message(sqlstate: &str) -> &'static str {
    match sqlstate {
        "22001" => "a text value is too long to be stored",
        "22003" => "a number is out of the range that can be stored",
        "22007" | "22008" | "22009" => "a date or time is out of the range that can be stored",
        "22021" | "22P05" => "a text value contains a character that cannot be stored (such as NUL, \\u0000)",
        "22P02" => "a value does not have the form its field needs",
        _ => "a value cannot be stored: check the fields' ranges and forms",
    }
}

fn constraint_meaning(constraint: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match constraint {
        "stations_code_key" => ("conflict", "code", "a station with this code already exists"),
        "departments_name_zh_key" => ("conflict", "name_zh", "a department with this name already exists"),
        "issue_lists_one_per_month" => ("conflict", "month", "there is already a list for this month and station"),
        "issues_title_check" => ("invalid", "title", "title must have 1 to 200 characters"),
        "issues_description_check" => ("invalid", "description", "description must have 1 to 8000 characters"),
        "stations_code_check" => {
            ("invalid", "code", "code may contain only a-z, 0-9, '-' and '_', starting with a letter or digit")
        }
        "people_phone_check" => {
            ("invalid", "phone", "phone must be 5 to 20 digits, optionally with a leading '+', spaces or '-'")
        }
        "people_username_check" => {
            ("invalid", "username", "username needs 3 to 64 characters: a-z, 0-9, '_', '.', '-'")
        }
        "people_username_key" => ("conflict", "username", "this username is taken"),
        "places_external_id_key" => {
            ("conflict", "external_id", "a place with this source and external_id already exists")
        }
        "assignments_no_overlap" => {
            ("conflict", "valid_from", "this person already holds this place in an overlapping period")
        }
        "stations_one_central" => ("conflict", "level", "there is already a central station"),
        "stations_parent_matches_level" => {
            ("invalid", "parent_id", "the central station has no parent; every other station needs one")
        }
        "stations_no_cycle" => ("invalid", "parent_id", "a station cannot be moved under its own subtree"),
        "stations_level_order" => ("invalid", "level", ""),
        "people_station_required" => ("invalid", "station_id", "representatives and station staff need a station"),
        "places_geom_shape" => {
            ("invalid", "geometry", "grid cells are polygons; enterprises and project sites are points or polygons")
        }
        "places_geom_valid" => ("invalid", "geometry", "the geometry is not valid"),
        "assignments_period" => ("invalid", "valid_to", "valid_to must be after valid_from"),
        "stations_parent_id_fkey" => ("invalid", "parent_id", "no such station"),
        "people_station_id_fkey" | "places_station_id_fkey" => ("invalid", "station_id", "no such station"),
        "assignments_person_id_fkey" => ("invalid", "person_id", "no such person"),
        "assignments_place_id_fkey" => ("invalid", "place_id", "no such place"),
        _ => return None,
    })
}

impl From<fieldvisit_sync::SyncError> for ApiError {
    fn from(e: fieldvisit_sync::SyncError) -> Self {
        use fieldvisit_sync::SyncError as S;
        match e {
            S::Invalid { field, message } => Self::invalid(field, message),
            S::BadParameter { field, message } => {
                Self::Invalid { code: "invalid_parameter", message, field: Some(field.into()) }
            }
            S::ForeignClient(_) => Self::Forbidden(e.to_string()),
            S::BadCursor(_) => {
                Self::Invalid { code: "invalid_cursor", message: e.to_string(), field: Some("cursor".into()) }
            }
            S::UpgradeRequired { .. } => Self::UpgradeRequired(e.to_string()),
            S::NotFound(what) => Self::NotFound(what),
            S::Conflict { code, message, field } => Self::Conflict { code, message, field: field.map(str::to_owned) },
            S::IllegalTransition { message, allowed } => Self::IllegalTransition { message, allowed },
            S::Database(db) => db.into(),
        }
    }
}

/// A database error wrapped on the way (with context) keeps its meaning: a
/// lost database is still a 503, not an internal error.
impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        if e.chain().any(|cause| cause.downcast_ref::<sqlx::Error>().is_some_and(fieldvisit_sync::database_unavailable))
        {
            return match e.downcast::<sqlx::Error>() {
                Ok(db) => Self::Unavailable(db),
                Err(e) => Self::Unavailable(sqlx::Error::Protocol(format!("{e:#}"))),
            };
        }
        Self::Internal(e)
    }
}
