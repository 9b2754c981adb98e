//! `POST /v1/places/import`: a file of places from another office, as
//! multipart form data (`file`, and `options` as JSON). The same code path as
//! `fieldvisit import places` ([`fieldvisit_sync::places::import`]).

use axum::Json;
use axum::extract::{Multipart, State};
use fieldvisit_sync::places::import::{self, Format, ImportOptions, Report};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ApiResult};

/// The largest file taken (a register of 100,000 enterprises is about 20 MB as CSV).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// The form of an import.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ImportForm {
    /// The file: GeoJSON, CSV, XLSX, or a zip of a shapefile.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// JSON: `{source, crs?, kind?, mapping?, dry_run?, deactivate_missing?, repair?}`.
    #[schema(value_type = ImportOptions)]
    pub options: String,
    /// geojson, csv, xlsx or shapefile; absent: told from the file.
    pub format: Option<Format>,
    /// The text encoding of a CSV or a shapefile's attributes (UTF-8, GBK, GB18030 …); absent: detected.
    pub encoding: Option<String>,
}

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(field, message)
}

/// Import places from a file (planners). Rows match on (source, external
/// id): new ones are created, changed ones updated, unchanged ones left
/// alone; refused rows are reported with their line and reason. All or
/// nothing; `dry_run` changes nothing.
#[utoipa::path(post, path = "/v1/places/import", tag = "places",
    request_body(content = ImportForm, content_type = "multipart/form-data"), security(("bearer" = [])),
    responses((status = 200, body = Report), (status = 403, body = super::ErrorBody), (status = 413, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn import(State(state): State<AppState>, caller: Caller, mut form: Multipart) -> ApiResult<Json<Report>> {
    caller.require(Permission::EditPlaces)?;
    let (mut file, mut name, mut options, mut format, mut encoding) = (None, None, None, None, None);
    while let Some(field) = form.next_field().await.map_err(|e| bad("file", format!("the form: {}", e.body_text())))? {
        let field_name = field.name().unwrap_or_default().to_owned();
        match field_name.as_str() {
            "file" => {
                name = field.file_name().map(str::to_owned);
                let bytes = field.bytes().await.map_err(|e| bad("file", format!("the file: {}", e.body_text())))?;
                if bytes.len() > MAX_FILE_BYTES {
                    return Err(ApiError::PayloadTooLarge(MAX_FILE_BYTES));
                }
                file = Some(bytes);
            }
            "options" | "format" | "encoding" => {
                let text = field.text().await.map_err(|e| bad(&field_name, e.body_text()))?;
                match field_name.as_str() {
                    "options" => {
                        let o: ImportOptions =
                            serde_json::from_str(&text).map_err(|e| bad("options", format!("options: {e}")))?;
                        options = Some(o);
                    }
                    "format" => {
                        let f: Format = serde_json::from_value(serde_json::Value::String(text.trim().to_owned()))
                            .map_err(|_| bad("format", "format is geojson, csv, xlsx or shapefile"))?;
                        format = Some(f);
                    }
                    _ => encoding = Some(text),
                }
            }
            other => return Err(bad(other, format!("unknown form field {other:?}"))),
        }
    }
    let file = file.ok_or_else(|| bad("file", "the form has no file"))?;
    let options = options.ok_or_else(|| bad("options", "the form has no options (at least {\"source\": …})"))?;
    let prepared = tokio::task::spawn_blocking(move || {
        import::prepare(&file, name.as_deref(), format, encoding.as_deref(), options)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    Ok(Json(import::run(&state.db, caller.person_id, prepared).await?))
}
