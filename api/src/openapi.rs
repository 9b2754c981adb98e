//! The OpenAPI document served at `/openapi.json`, and the one rule derived
//! from it: a request may carry only the query parameters its operation
//! documents.
//!
//! The route annotations (`#[utoipa::path]`) say what is particular to each
//! operation. What the server does for every operation alike is added here,
//! once, so that no annotation can forget it: the answers of the shared
//! extractors and middleware (400 for a malformed or unknown parameter, 401
//! without a valid token, 413/415/422 for a JSON body, 404 for a record named
//! in the path, 503 when the database is away), a description for every
//! response, and an operationId unique across the document (`places_list`:
//! the tag, then the handler's name).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// HTTP methods an OpenAPI path item may hold, as its keys.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The shared answers, as reusable responses (`#/components/responses/...`).
const SHARED: [(&str, &str, &str); 7] = [
    (
        "400",
        "BadRequest",
        "A malformed or unknown query parameter, a malformed path parameter or JSON body (`invalid_parameter`, `invalid_json`, `invalid_cursor`); `details.field` names it",
    ),
    ("401", "Unauthorized", "No valid access token (`unauthorized`): sign in, or refresh"),
    ("404", "NotFound", "Absent, or outside the caller's scope (`not_found`)"),
    ("413", "PayloadTooLarge", "The body is larger than the server accepts (`payload_too_large`)"),
    ("415", "UnsupportedMediaType", "The body is not sent as JSON (`unsupported_media_type`)"),
    (
        "422",
        "UnprocessableEntity",
        "The body is well-formed JSON but breaks a rule (`validation_failed`); `details.field` names the field",
    ),
    (
        "503",
        "ServiceUnavailable",
        "The database is unavailable for now (`unavailable`): retry later; re-sending the same mutation ids is safe",
    ),
];

/// A description for a response the annotation left without one (OpenAPI
/// requires one on every response).
fn default_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "204" => "Done; no content",
        "403" => "The caller's role may not do this (`forbidden`)",
        "409" => "Conflicts with the current state: a duplicate, a stale `version`, or a state that does not allow it",
        "426" => "The app is too old for this; update it (`upgrade_required`)",
        "429" => "Too many attempts; wait `Retry-After` seconds",
        other => SHARED.iter().find(|(s, _, _)| *s == other).map_or("See the error code", |(_, _, d)| d),
    }
}

/// Completes the document utoipa built from the annotations; see the module docs.
pub fn complete(doc: &mut Value) {
    let components =
        doc.as_object_mut().expect("the document is an object").entry("components").or_insert_with(|| json!({}));
    let responses =
        components.as_object_mut().expect("components is an object").entry("responses").or_insert_with(|| json!({}));
    for (_, name, description) in SHARED {
        responses[name] = json!({
            "description": description,
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } },
        });
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let shared_params = item.get("parameters").cloned();
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else { continue };
            complete_operation(path, op, shared_params.as_ref());
        }
    }
}

fn complete_operation(path: &str, op: &mut Map<String, Value>, shared_params: Option<&Value>) {
    let tag = op.get("tags").and_then(|t| t.get(0)).and_then(Value::as_str).unwrap_or("api").replace('-', "_");
    if let Some(id) = op.get("operationId").and_then(Value::as_str)
        && !id.starts_with(&format!("{tag}_"))
    {
        let unique = format!("{tag}_{id}");
        op.insert("operationId".into(), unique.into());
    }
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|reqs| reqs.iter().any(|r| r.as_object().is_some_and(|o| !o.is_empty())));
    let json_body = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .is_some_and(|c| c.keys().any(|mime| mime == "application/json" || mime.ends_with("+json")));
    let params = || {
        op.get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(shared_params.and_then(Value::as_array).into_iter().flatten())
    };
    let path_param = params().any(|p| p["in"] == "path");
    // The liveness probe and the local store's signed URLs never touch the
    // database; everything else can find it away.
    let uses_database = path != "/healthz" && !path.starts_with("/v1/blobs/");

    let mut shared: Vec<&str> = vec!["400"];
    if secured {
        shared.push("401");
    }
    if path_param {
        shared.push("404");
    }
    if json_body {
        shared.extend(["413", "415", "422"]);
    }
    if uses_database {
        shared.push("503");
    }
    let responses = op.entry("responses").or_insert_with(|| json!({})).as_object_mut().expect("responses is an object");
    for status in shared {
        if !responses.contains_key(status) {
            let name = SHARED.iter().find(|(s, _, _)| *s == status).map(|(_, n, _)| *n).expect("a shared status");
            responses.insert(status.into(), json!({ "$ref": format!("#/components/responses/{name}") }));
        }
    }
    for (status, response) in responses.iter_mut() {
        if let Some(r) = response.as_object_mut()
            && !r.contains_key("$ref")
            && r.get("description").and_then(Value::as_str).is_none_or(str::is_empty)
        {
            r.insert("description".into(), default_description(status).into());
        }
    }
}

/// The query parameters each operation documents, by method and path
/// template, from the completed document.
#[derive(Debug, Default)]
pub struct QueryRules {
    allowed: HashMap<(Method, String), BTreeSet<String>>,
}

impl QueryRules {
    pub fn from_document(doc: &Value) -> Self {
        let mut allowed = HashMap::new();
        for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let names = [op.get("parameters"), item.get("parameters")]
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter(|p| p["in"] == "query")
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect();
                let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).expect("an HTTP method");
                // A suffix after a parameter (`{y}.mvt`) is routed as the bare parameter.
                allowed.insert((method, path.replace("}.mvt", "}")), names);
            }
        }
        Self { allowed }
    }

    /// The parameters of the operation routed at `template` (axum's form:
    /// `{*key}` is OpenAPI's `{key}`), or `None` when it is not documented.
    pub fn allowed(&self, method: &Method, template: &str) -> Option<&BTreeSet<String>> {
        let method = if method == Method::HEAD { &Method::GET } else { method };
        let key = (method.clone(), template.replace("{*", "{"));
        self.allowed.get(&key)
    }

    /// The names in `query` that the operation does not take, each once, in order.
    pub fn unknown(&self, method: &Method, template: &str, query: &str) -> Vec<String> {
        let Some(allowed) = self.allowed(method, template) else { return Vec::new() };
        let mut unknown: Vec<String> = Vec::new();
        for (name, _) in form_urlencoded::parse(query.as_bytes()) {
            if !allowed.contains(name.as_ref()) && !unknown.iter().any(|u| *u == name) {
                unknown.push(name.into_owned());
            }
        }
        unknown
    }
}

/// Middleware: a query parameter the operation does not document is a 400
/// naming it, before any handler runs (a write that ignored `?crs=gcj02`
/// stored GCJ-02 coordinates as WGS84). Routes outside the document (the
/// documentation pages) pass.
pub async fn refuse_unknown_query(rules: Arc<QueryRules>, req: Request, next: Next) -> Response {
    if let (Some(query), Some(template)) = (req.uri().query(), req.extensions().get::<MatchedPath>()) {
        let unknown = rules.unknown(req.method(), template.as_str(), query);
        if let Some(first) = unknown.first() {
            let allowed = rules
                .allowed(req.method(), template.as_str())
                .map(|a| a.iter().map(String::as_str).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            let names = unknown.iter().map(|u| u.escape_debug().to_string()).collect::<Vec<_>>().join(", ");
            let takes = if allowed.is_empty() {
                "this endpoint takes no query parameters".to_owned()
            } else {
                format!("this endpoint takes: {allowed}")
            };
            let noun = if unknown.len() == 1 { "parameter" } else { "parameters" };
            return ApiError::Invalid {
                code: "invalid_parameter",
                message: format!("unknown query {noun} {names}; {takes}"),
                field: Some(first.escape_debug().to_string()),
            }
            .into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        json!({
            "openapi": "3.1.0",
            "paths": {
                "/v1/places": {
                    "get": { "tags": ["places"], "operationId": "list", "security": [{"bearer": []}],
                        "parameters": [{"name": "crs", "in": "query"}, {"name": "limit", "in": "query"}],
                        "responses": { "200": { "content": {} } } },
                    "post": { "tags": ["places"], "operationId": "create", "security": [{"bearer": []}],
                        "requestBody": { "content": { "application/json": {} } },
                        "responses": { "201": { "description": "the new place" } } },
                },
                "/v1/blobs/{key}": {
                    "put": { "tags": ["blobs"], "operationId": "put", "parameters": [{"name": "key", "in": "path"}, {"name": "sig", "in": "query"}],
                        "requestBody": { "content": { "application/octet-stream": {} } }, "responses": { "200": { "description": "stored" } } },
                },
            },
        })
    }

    #[test]
    fn the_shared_answers_are_added_where_they_apply() {
        let mut d = doc();
        complete(&mut d);
        let list = &d["paths"]["/v1/places"]["get"];
        assert_eq!(list["operationId"], "places_list");
        assert_eq!(list["responses"]["200"]["description"], "OK", "a missing description is filled in");
        let statuses = |op: &Value| op["responses"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(statuses(list), ["200", "400", "401", "503"]);
        let create = &d["paths"]["/v1/places"]["post"];
        assert_eq!(create["responses"]["201"]["description"], "the new place", "a given description is kept");
        assert_eq!(statuses(create), ["201", "400", "401", "413", "415", "422", "503"]);
        // Not secured, not JSON, no database: a path parameter is still looked up.
        assert_eq!(statuses(&d["paths"]["/v1/blobs/{key}"]["put"]), ["200", "400", "404"]);
        assert!(d["components"]["responses"]["BadRequest"]["description"].is_string());
    }

    #[test]
    fn only_documented_query_parameters_pass() {
        let mut d = doc();
        complete(&mut d);
        let rules = QueryRules::from_document(&d);
        assert_eq!(rules.unknown(&Method::GET, "/v1/places", "crs=gcj02&limit=5"), Vec::<String>::new());
        assert_eq!(rules.unknown(&Method::HEAD, "/v1/places", "crs=gcj02"), Vec::<String>::new(), "HEAD is GET");
        assert_eq!(rules.unknown(&Method::POST, "/v1/places", "crs=gcj02&crs=bd09&x"), ["crs", "x"]);
        assert_eq!(
            rules.unknown(&Method::PUT, "/v1/blobs/{*key}", "sig=1&size=2"),
            ["size"],
            "axum's wildcard is the document's parameter"
        );
        assert_eq!(
            rules.unknown(&Method::GET, "/docs/{*rest}", "anything=1"),
            Vec::<String>::new(),
            "undocumented routes pass"
        );
    }
}
