//! Reading client input: the JSON body extractor and the field rules shared by
//! every write endpoint, so that bad input always answers the same way.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Unlike `axum::Json`, every rejection is an [`ApiError`] in the
/// JSON error shape, and the offending field is named in `details.field`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime == "application/json" || mime == "application/geo+json" || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType("send the body as JSON with Content-Type: application/json".into()));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(crate::app::BODY_LIMIT)
            } else {
                ApiError::Invalid { code: "invalid_json", message: format!("could not read the body: {e}"), field: None }
            }
        })?;
        parse_json(&bytes).map(Body)
    }
}

/// Parses JSON, telling syntax errors (400) from shape errors (422 with the
/// path of the field that did not fit).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize::<_, T>(&mut de);
    let invalid_json = |e: &serde_json::Error| ApiError::Invalid {
        code: "invalid_json",
        message: format!("the body is not valid JSON: {e}"),
        field: None,
    };
    match parsed {
        Ok(v) => {
            // Trailing garbage after the value is a syntax error too.
            de.end().map_err(|e| invalid_json(&e))?;
            Ok(v)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let text = inner.to_string();
            // A number like 1e999 parses as a syntax error, but the JSON is fine:
            // the value is out of range, and the field is known.
            if (inner.is_syntax() && !text.starts_with("number out of range")) || inner.is_eof() || inner.is_io() {
                Err(invalid_json(&inner))
            } else {
                // serde reports a missing or unknown field at its parent; name the field itself.
                let missing = text
                    .strip_prefix("missing field `")
                    .or_else(|| text.strip_prefix("unknown field `"))
                    .and_then(|r| r.split('`').next());
                let field = match (path.as_str(), missing) {
                    (".", None) => None,
                    (".", Some(m)) => Some(m.to_owned()),
                    (p, Some(m)) => Some(format!("{p}.{m}")),
                    (p, None) => Some(p.to_owned()),
                };
                let message = match &field {
                    Some(f) => format!("{f}: {inner}"),
                    None => inner.to_string(),
                };
                Err(ApiError::Invalid { code: "validation_failed", message, field })
            }
        }
    }
}

/// Query parameters with the same error shape as bodies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded_deserializer(query);
        serde_path_to_error::deserialize(de).map(Query).map_err(|e| {
            let path = e.path().to_string();
            ApiError::Invalid {
                code: "invalid_parameter",
                message: format!("query parameter {path}: {}", e.inner()),
                field: Some(path),
            }
        })
    }
}

fn serde_urlencoded_deserializer(query: &str) -> serde_urlencoded::Deserializer<'_> {
    serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()))
}

/// Path parameters with the same error shape (a malformed id is a 400).
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| Path(p.0)).map_err(|e| ApiError::Invalid {
            code: "invalid_parameter",
            message: format!("the path is not valid: {}", e.body_text()),
            field: Some("id".into()),
        })
    }
}

/// A required, trimmed, length-checked text field.
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<String, ApiError> {
    let t = value.trim();
    if t.is_empty() {
        return Err(ApiError::invalid(field, format!("{field} must not be empty")));
    }
    optional_text(field, Some(t), max_chars).map(Option::unwrap_or_default)
}

/// An optional text field: blank becomes absent, over-long is refused.
pub fn optional_text(field: &str, value: Option<&str>, max_chars: usize) -> Result<Option<String>, ApiError> {
    let Some(t) = value.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    if t.chars().count() > max_chars {
        return Err(ApiError::invalid(field, format!("{field} is longer than {max_chars} characters")));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ApiError::invalid(field, format!("{field} contains control characters")));
    }
    Ok(Some(t.to_owned()))
}

/// Paging: `limit` (1..=500, default 50) and `after` (the last id seen).
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::IntoParams)]
pub struct Paging {
    pub limit: Option<i64>,
    pub after: Option<uuid::Uuid>,
}

impl Paging {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(50),
            Some(n @ 1..=500) => Ok(n),
            Some(_) => Err(ApiError::Invalid {
                code: "invalid_parameter",
                message: "limit must be between 1 and 500".into(),
                field: Some("limit".into()),
            }),
        }
    }
}
