//! The OpenAPI document against what the server really does: parameters where the handlers
//! read them, the refusals the extractors answer before any handler runs, the request bodies
//! the handlers parse, and patterns on the identifiers clients must get right.

use std::collections::BTreeSet;

use serde_json::Value;

use serde_json::json;

use crate::support::{DEMO_OFFICE, DEMO_PASSWORD, TestApp, assert_problem_shape};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Identifiers with a fixed shape, by the name they go by in a body, a query or a path.
const SHAPED: [&str; 10] = [
    "national_code",
    "mobile",
    "office",
    "service",
    "service_code",
    "tracking_code",
    "date",
    "from",
    "effective_from",
    "day",
];

fn operations(doc: &Value) -> Vec<(String, &'static str, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((path.clone(), method, op));
            }
        }
    }
    out
}

fn template_params(path: &str) -> BTreeSet<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

fn schema<'a>(doc: &'a Value, maybe_ref: &'a Value) -> &'a Value {
    match maybe_ref["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            &doc["components"]["schemas"][name]
        }
        None => maybe_ref,
    }
}

fn is_string(schema: &Value) -> bool {
    match &schema["type"] {
        Value::String(t) => t == "string",
        Value::Array(ts) => ts.iter().any(|t| t == "string"),
        _ => false,
    }
}

fn documents_problem(op: &Value, status: &str) -> bool {
    op["responses"][status]["content"]
        .get("application/problem+json")
        .is_some()
}

#[test]
fn parameters_are_where_the_handlers_read_them() {
    let doc = pishkhan_web::openapi_json();
    for (path, method, op) in operations(&doc) {
        let template = template_params(&path);
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let in_path: BTreeSet<String> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            in_path, template,
            "{method} {path}: `in: path` parameters must be exactly the path template's"
        );
        for p in params.iter().filter(|p| p["in"] == "path") {
            assert_eq!(
                p["required"], true,
                "{method} {path}: {} is required",
                p["name"]
            );
        }
    }
}

#[test]
fn malformed_input_and_wrong_media_types_are_documented_problems() {
    let doc = pishkhan_web::openapi_json();
    for (path, method, op) in operations(&doc) {
        let has_body = op.get("requestBody").is_some();
        let has_params = op["parameters"].as_array().is_some_and(|p| !p.is_empty());
        if has_body || has_params {
            assert!(
                documents_problem(op, "400"),
                "{method} {path} takes input but documents no 400 problem"
            );
        }
        if has_body {
            assert!(
                documents_problem(op, "415"),
                "{method} {path} takes a body but documents no 415 problem"
            );
        }
    }
}

#[test]
fn the_citizen_code_body_is_what_the_handler_parses() {
    let doc = pishkhan_web::openapi_json();
    let body = &doc["paths"]["/api/v1/citizen/code"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    let body = schema(&doc, body);
    let fields: BTreeSet<&str> = body["properties"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        fields,
        BTreeSet::from(["national_code", "mobile"]),
        "citizen code body: {body}"
    );
    assert_eq!(
        body["properties"]["national_code"]["pattern"], "^[0-9]{10}$",
        "citizen code body: {body}"
    );
}

#[test]
fn shaped_identifiers_carry_a_pattern() {
    let doc = pishkhan_web::openapi_json();
    let mut checked = 0;
    for (path, method, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or_default();
            let shaped = SHAPED.contains(&name) || (p["in"] == "path" && name == "code");
            if shaped && is_string(&p["schema"]) {
                checked += 1;
                assert!(
                    p["schema"]["pattern"].is_string(),
                    "{method} {path}: parameter {name} has no pattern: {p}"
                );
            }
        }
        let body = &op["requestBody"]["content"]["application/json"]["schema"];
        let body = schema(&doc, body);
        for (name, field) in body["properties"].as_object().into_iter().flatten() {
            if SHAPED.contains(&name.as_str()) && is_string(field) {
                checked += 1;
                assert!(
                    field["pattern"].is_string(),
                    "{method} {path}: body field {name} has no pattern: {field}"
                );
            }
        }
    }
    assert!(checked > 30, "only {checked} shaped identifiers found");
}

#[tokio::test]
async fn a_path_segment_that_does_not_parse_is_a_problem() {
    for app in TestApp::all().await {
        let be = app.be();
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        let resp = app
            .get_as("/api/v1/exchange/proof/abc", Some(&regulator))
            .await;
        assert!((400..500).contains(&resp.status), "[{be}] {resp:?}");
        assert_problem_shape(&resp);
        app.stop().await;
    }
}

/// A body schema that allowed keys the handler does not read would let a client believe an
/// extra field did something; the handlers refuse unknown keys, and the document says so.
#[test]
fn request_bodies_declare_they_take_no_other_keys() {
    let doc = pishkhan_web::openapi_json();
    let mut checked = 0;
    for (path, method, op) in operations(&doc) {
        let body = &op["requestBody"]["content"]["application/json"]["schema"];
        let body = schema(&doc, body);
        if body["properties"].is_object() {
            checked += 1;
            assert_eq!(
                body["additionalProperties"], false,
                "{method} {path}: the body schema allows other keys: {body}"
            );
        }
    }
    assert!(checked > 20, "only {checked} object bodies found");
}

/// A bound the document declares on a query parameter is a refusal, not a silent clamp.
#[tokio::test]
async fn a_declared_bound_is_refused_outside_it() {
    for app in TestApp::all().await {
        let be = app.be();
        let regulator = app.login("regulator", DEMO_PASSWORD).await;
        for limit in ["0", "501"] {
            app.get_as(&format!("/api/v1/payments?limit={limit}"), Some(&regulator))
                .await
                .problem(422, "invalid_limit");
        }
        for limit in ["1", "500"] {
            let r = app
                .get_as(&format!("/api/v1/payments?limit={limit}"), Some(&regulator))
                .await;
            assert_eq!(r.status, 200, "[{be}] limit={limit}: {}", r.text);
        }
        app.stop().await;
    }
}

/// JSON Schema counts `1.0` as an integer, so a client may send it for one; `1.5` is not.
#[tokio::test]
async fn a_whole_number_with_a_fraction_part_is_an_integer() {
    for app in TestApp::all().await {
        let be = app.be();
        let operator = app.login("operator", DEMO_PASSWORD).await;
        let base = format!("/api/v1/offices/{DEMO_OFFICE}/queue");
        let (node, operator) = (&app, operator.as_str());
        let post = |path: String, body: serde_json::Value| async move {
            node.post_json(&path, Some(operator), &body).await
        };
        let walk_in = post(format!("{base}/walk-in"), json!({ "service": "PSP-001" })).await;
        assert_eq!(walk_in.status, 200, "[{be}] {}", walk_in.text);
        let ticket = walk_in.json()["ticket"].clone();
        post(format!("{base}/call-next"), json!({ "counter": 1.5 }))
            .await
            .problem(422, "invalid_body");
        let called = post(format!("{base}/call-next"), json!({ "counter": 1.0 })).await;
        assert_eq!(called.status, 200, "[{be}] {}", called.text);
        assert_eq!(called.json()["ticket"], ticket, "[{be}]");
        app.stop().await;
    }
}
