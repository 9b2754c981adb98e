//! Reading client input: the JSON body, query and path extractors and the
//! field rules shared by every endpoint, so that bad input always answers the
//! same way. Text the database cannot store (a NUL character) or that is not
//! UTF-8 is refused here, by field, before any query runs: the database's own
//! words about it would name its internals, not the request.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Unlike `axum::Json`, every rejection is an [`ApiError`] in the
/// JSON error shape, and the offending field is named in `details.field`.
/// A string holding NUL (`\u0000`) is refused (422) with its field.
#[derive(Debug, Clone, Copy, Default)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(req, state, |_| false).await.map(Body)
    }
}

/// A sync push's body: as [`Body`], except that the mutations' `args` are
/// left to the dispatcher, which rejects just that mutation (acknowledged)
/// rather than the whole batch, so one bad field cannot stall a device's outbox.
#[derive(Debug, Clone, Copy, Default)]
pub struct PushBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PushBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mutation_args = |path: &str| {
            path.strip_prefix("mutations[")
                .and_then(|r| r.split_once("]."))
                .is_some_and(|(i, rest)| i.parse::<usize>().is_ok() && rest == "args")
        };
        read_json(req, state, mutation_args).await.map(PushBody)
    }
}

/// Reads and parses a JSON body; `unchecked(path)` names the subtrees whose
/// strings are not checked for NUL.
async fn read_json<S: Send + Sync, T: DeserializeOwned>(
    req: Request,
    state: &S,
    unchecked: impl Fn(&str) -> bool,
) -> Result<T, ApiError> {
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
    if let Some(field) = nul_in_json(&bytes, &unchecked) {
        return Err(ApiError::invalid(
            field.clone(),
            format!("{field} contains a NUL character (\\u0000), which cannot be stored"),
        ));
    }
    parse_json(&bytes)
}

/// The path of the first string (or key) in `bytes` that holds a NUL escape,
/// if any. The bytes are scanned first, so a clean body (all of them, in
/// practice) is never parsed twice. A body that is not JSON answers `None`:
/// `parse_json` says what is wrong with it.
fn nul_in_json(bytes: &[u8], unchecked: &dyn Fn(&str) -> bool) -> Option<String> {
    // `\u0000` is an escape unless its backslash is itself escaped (an odd run).
    let escaped_nul = bytes
        .windows(6)
        .enumerate()
        .any(|(i, w)| w == b"\\u0000" && bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0);
    if !escaped_nul {
        return None;
    }
    first_nul(&serde_json::from_slice(bytes).ok()?, "", unchecked)
}

/// The path of the first string or key holding NUL in `v`, outside the `unchecked` subtrees.
fn first_nul(v: &serde_json::Value, path: &str, unchecked: &dyn Fn(&str) -> bool) -> Option<String> {
    if unchecked(path) {
        return None;
    }
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match v {
        serde_json::Value::String(s) if s.contains('\0') => {
            Some(if path.is_empty() { ".".into() } else { path.to_owned() })
        }
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, x)| first_nul(x, &format!("{path}[{i}]"), unchecked))
        }
        serde_json::Value::Object(map) => map.iter().find_map(|(k, x)| {
            if k.contains('\0') { Some(join(&k.replace('\0', "\\u0000"))) } else { first_nul(x, &join(k), unchecked) }
        }),
        _ => None,
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
                // serde reports a missing field at its parent; name the field itself.
                // (An unknown field's path already ends with the field.)
                let missing = text.strip_prefix("missing field `").and_then(|r| r.split('`').next());
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
        check_query_text(query)?;
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

/// Every query value must be UTF-8 once percent-decoded and hold no control
/// character (NUL among them): no parameter takes one, and the database could
/// not store NUL. (`form_urlencoded` would quietly turn bad bytes into U+FFFD.)
fn check_query_text(query: &str) -> Result<(), ApiError> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |raw: &str| percent_encoding::percent_decode_str(&raw.replace('+', " ")).collect::<Vec<u8>>();
        let key = String::from_utf8_lossy(&decode(raw_key)).into_owned();
        let bad = |why: &str| ApiError::Invalid {
            code: "invalid_parameter",
            message: format!("query parameter {}: {why}", key.escape_debug()),
            field: Some(key.escape_debug().to_string()),
        };
        for text in [decode(raw_key), decode(raw_value)] {
            let text = std::str::from_utf8(&text).map_err(|_| bad("not valid UTF-8 once percent-decoded"))?;
            if text.chars().any(char::is_control) {
                return Err(bad("contains a control character (such as NUL, %00)"));
            }
        }
    }
    Ok(())
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
        let bad = |field: &str, why: String| ApiError::Invalid {
            code: "invalid_parameter",
            message: format!("the path is not valid: {why}"),
            field: Some(field.into()),
        };
        // Percent-decoded; invalid UTF-8 is refused by the extractor below.
        if let Ok(raw) = axum::extract::RawPathParams::from_request_parts(parts, state).await
            && let Some((name, _)) = raw.iter().find(|(_, v)| v.chars().any(char::is_control))
        {
            return Err(bad(name, format!("{name} contains a control character (such as NUL, %00)")));
        }
        let field = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|raw| raw.iter().next().map(|(name, _)| name.to_owned()))
            .unwrap_or_else(|| "id".into());
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| bad(&field, e.body_text()))
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
