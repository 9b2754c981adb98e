//! The OpenAPI document at `/openapi.json`, as served: valid OpenAPI 3.1
//! (checked here and by `openapi-spec-validator`, which `.ci/setup`
//! installs), complete for what every operation answers by design, and the
//! source of each operation's query parameters: one it does not document is
//! refused. (`.ci/test` also runs schemathesis against the demo with it.)

use std::collections::BTreeMap;

use fieldvisit_tests::{Server, error_code};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

/// A bare server (migrations, no data) and the document it serves.
async fn served_document(pool: &PgPool) -> (Server, Value) {
    let server = Server::in_process(pool).await;
    let res = server.http.get(format!("{}/openapi.json", server.base)).send().await.expect("GET /openapi.json");
    assert_eq!(res.status(), StatusCode::OK);
    let doc = res.json().await.expect("the document is JSON");
    (server, doc)
}

/// Every operation: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            if ["get", "put", "post", "delete", "patch", "head", "options", "trace"].contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), op));
            }
        }
    }
    out
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            resolve(doc, doc.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("{r} does not resolve")))
        }
        None => v,
    }
}

/// Whether `schema` refers to the component `name`, directly or through
/// `oneOf`/`allOf`/`anyOf` (as an optional field does).
fn refers_to(schema: &Value, name: &str) -> bool {
    let target = format!("#/components/schemas/{name}");
    schema["$ref"] == target.as_str()
        || ["oneOf", "allOf", "anyOf"]
            .iter()
            .any(|k| schema[k].as_array().is_some_and(|xs| xs.iter().any(|x| refers_to(x, name))))
}

/// Every `$ref` anywhere in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                out.push(r.to_owned());
            }
            map.values().for_each(|x| refs(x, out));
        }
        Value::Array(xs) => xs.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR")]
async fn the_document_is_valid_and_complete(pool: PgPool) {
    let (_server, doc) = served_document(&pool).await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "{}", doc["openapi"]);
    let mut problems = Vec::new();

    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        if doc.pointer(r.trim_start_matches('#')).is_none() {
            problems.push(format!("{r} does not resolve"));
        }
    }

    let mut ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (method, path, op) in operations(&doc) {
        let at = format!("{} {path}", method.to_uppercase());
        match op["operationId"].as_str() {
            Some(id) => ids.entry(id.to_owned()).or_default().push(at.clone()),
            None => problems.push(format!("{at}: no operationId")),
        }
        let responses = op["responses"].as_object().expect("responses");
        for (status, response) in responses {
            if resolve(&doc, response)["description"].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{at} {status}: no description"));
            }
        }
        let documents = |status: &str| responses.contains_key(status);
        // Any operation: a malformed or unknown query parameter.
        let mut wanted = vec!["400"];
        if op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.as_object().is_some_and(|o| !o.is_empty()))) {
            wanted.push("401");
        }
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        if params.iter().any(|p| p["in"] == "path") {
            wanted.push("404");
        }
        let content = &op["requestBody"]["content"];
        if content.get("application/json").is_some() {
            wanted.extend(["413", "415", "422"]);
        }
        for status in wanted {
            if !documents(status) {
                problems.push(format!("{at}: {status} is not documented"));
            }
        }
        // Binary bodies are binary strings, not arrays of numbers.
        for (mime, media) in content
            .as_object()
            .into_iter()
            .flatten()
            .chain(responses.values().filter_map(|r| resolve(&doc, r)["content"].as_object()).flatten())
        {
            if mime == "application/octet-stream" {
                let schema = resolve(&doc, &media["schema"]);
                if schema["type"] != "string" || schema["format"] != "binary" {
                    problems.push(format!("{at}: {mime} is not a binary string: {schema}"));
                }
            }
        }
        // `crs` is the enumeration wherever a query takes it.
        for p in params.iter().filter(|p| p["name"] == "crs") {
            if !refers_to(&p["schema"], "Crs") {
                problems.push(format!("{at}: the crs parameter is not the Crs enumeration: {p}"));
            }
        }
    }
    for (id, at) in &ids {
        if at.len() > 1 {
            problems.push(format!("operationId {id} is used by {}", at.join(", ")));
        }
    }
    for (name, response) in doc["components"]["responses"].as_object().into_iter().flatten() {
        if response["description"].as_str().is_none_or(str::is_empty) {
            problems.push(format!("components.responses.{name}: no description"));
        }
    }

    // Every body field named `crs`, and the review's decision, are enumerations.
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for (name, schema) in schemas {
        // A file's system may also be CGCS2000, which the import alone takes.
        if let Some(crs) = schema["properties"].get("crs")
            && !refers_to(crs, "Crs")
            && !(name == "ImportOptions" && refers_to(crs, "FileCrs"))
        {
            problems.push(format!("{name}.crs is not the Crs enumeration: {crs}"));
        }
    }
    assert_eq!(schemas["Crs"]["enum"], serde_json::json!(["wgs84", "gcj02", "bd09"]));
    assert!(refers_to(&schemas["Review"]["properties"]["decision"], "ReviewDecision"), "{}", schemas["Review"]);
    assert_eq!(schemas["ReviewDecision"]["enum"], serde_json::json!(["accepted", "rejected"]));
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));

    // And a validator of the specification itself says the same.
    let file = std::env::temp_dir().join(format!("fieldvisit-openapi-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let validator = python_tool("openapi-spec-validator");
    let out = std::process::Command::new(&validator)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", validator.display()));
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Python tool that `.ci/setup` installs (pinned) into the directory named
/// by `FIELDVISIT_PY_TOOLS`, or else one on the `PATH`.
fn python_tool(name: &str) -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("FIELDVISIT_PY_TOOLS") {
        let tool = std::path::PathBuf::from(dir).join(name);
        if tool.exists() {
            return tool;
        }
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(name)).find(|t| t.is_file()));
    on_path.unwrap_or_else(|| {
        panic!(
            "{name} is not installed: run .ci/setup, which installs it, and set FIELDVISIT_PY_TOOLS as .ci/test does"
        )
    })
}

#[sqlx::test(migrator = "fieldvisit::MIGRATOR")]
async fn every_documented_operation_refuses_an_unknown_query_parameter(pool: PgPool) {
    let (server, doc) = served_document(&pool).await;
    let mut failures = Vec::new();
    let ops = operations(&doc);
    assert!(ops.len() > 30, "the document lists every operation: {}", ops.len());
    for (method, path, op) in ops {
        // Real-looking path values: the parameter is refused before anything is looked up.
        let concrete = path.replace("{id}", &uuid::Uuid::now_v7().to_string()).replace("{key}", "photos/x.jpg");
        let known: Vec<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .map(|p| format!("{}=1", p["name"].as_str().unwrap()))
            .collect();
        // Next to the parameters it does take, whatever their values.
        let query = known.into_iter().chain(["surprise=1".to_owned()]).collect::<Vec<_>>().join("&");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let (status, body) = server.call(method.clone(), None, &format!("{concrete}?{query}"), None).await;
        let ok = status == StatusCode::BAD_REQUEST
            && body["error"]["details"]["field"] == "surprise"
            && error_code(&body) == "invalid_parameter";
        if !ok {
            failures.push(format!("{method} {path}: {status} {body}"));
        }
    }
    assert!(failures.is_empty(), "{} operations took an unknown parameter:\n{}", failures.len(), failures.join("\n"));
}
