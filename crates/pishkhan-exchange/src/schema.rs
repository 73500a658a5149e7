//! A small, strict subset of JSON Schema for inquiry requests and answers.
//!
//! The directory carries one request and one response schema per inquiry service. Only what
//! those need is supported, and anything else is refused when the schema is compiled, so a
//! regulator can never believe a keyword is enforced when it is not:
//!
//! | keyword | applies to | meaning |
//! |---|---|---|
//! | `type` | all (required) | `"object"`, `"string"`, `"boolean"` or `"integer"` |
//! | `properties` | object | member name → schema (at most [`MAX_SCHEMA_PROPERTIES`]) |
//! | `required` | object | names that must be present (each must be in `properties`) |
//! | `additionalProperties` | object | `false` refuses members not in `properties` (default `true`) |
//! | `maxLength`, `minLength` | string | bounds in Unicode scalar values, like JSON Schema |
//! | `enum` | string | the allowed values |
//! | `minimum`, `maximum` | integer | inclusive bounds |
//! | `$schema`, `$comment`, `title`, `description` | all | annotations, ignored |
//!
//! Nesting is limited to [`MAX_SCHEMA_DEPTH`]. Violations name the path (`$.national_code`)
//! and the rule, never the offending value, because values are personal data.

use std::collections::BTreeMap;

use serde_json::Value;

/// Deepest nesting of object schemas accepted.
pub const MAX_SCHEMA_DEPTH: usize = 8;
/// Most properties one object schema may declare.
pub const MAX_SCHEMA_PROPERTIES: usize = 64;
/// Most values one `enum` may list.
pub const MAX_SCHEMA_ENUM: usize = 64;

const ANNOTATIONS: [&str; 4] = ["$schema", "$comment", "title", "description"];

/// A compiled schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Object {
        properties: BTreeMap<String, Schema>,
        required: Vec<String>,
        additional: bool,
    },
    String {
        min_length: Option<u64>,
        max_length: Option<u64>,
        allowed: Option<Vec<String>>,
    },
    Boolean,
    Integer {
        minimum: Option<i64>,
        maximum: Option<i64>,
    },
}

/// A schema uses something this subset does not support, or is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schema at {path}: {reason}")]
pub struct SchemaError {
    /// Where in the schema, as `$`, `$.properties.national_code`, ...
    pub path: String,
    pub reason: String,
}

/// A value does not satisfy a schema. Never contains the value itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path} {reason}")]
pub struct SchemaViolation {
    /// Where in the value, as `$` or `$.national_code`.
    pub path: String,
    pub reason: String,
}

impl Schema {
    /// Compiles a schema, refusing unsupported keywords and inconsistent ones.
    pub fn compile(schema: &Value) -> Result<Schema, SchemaError> {
        compile_at(schema, "$", 0)
    }

    /// Checks `value` against the schema.
    pub fn validate(&self, value: &Value) -> Result<(), SchemaViolation> {
        validate_at(self, value, &mut String::from("$"))
    }

    /// The declared top-level property names of an object schema (empty otherwise).
    pub fn property_names(&self) -> impl Iterator<Item = &str> {
        let props = match &self.kind {
            Kind::Object { properties, .. } => Some(properties.keys().map(String::as_str)),
            _ => None,
        };
        props.into_iter().flatten()
    }

    /// The required top-level property names of an object schema (empty otherwise).
    pub fn required_names(&self) -> &[String] {
        match &self.kind {
            Kind::Object { required, .. } => required,
            _ => &[],
        }
    }

    /// Whether this is an object schema.
    pub fn is_object(&self) -> bool {
        matches!(self.kind, Kind::Object { .. })
    }

    /// Whether this is a string schema.
    pub fn is_string(&self) -> bool {
        matches!(self.kind, Kind::String { .. })
    }

    /// Whether this is a boolean schema.
    pub fn is_boolean(&self) -> bool {
        matches!(self.kind, Kind::Boolean)
    }

    /// The schema of a top-level property of an object schema.
    pub fn property(&self, name: &str) -> Option<&Schema> {
        match &self.kind {
            Kind::Object { properties, .. } => properties.get(name),
            _ => None,
        }
    }
}

fn err(path: &str, reason: impl Into<String>) -> SchemaError {
    SchemaError {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn compile_at(schema: &Value, path: &str, depth: usize) -> Result<Schema, SchemaError> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(err(path, format!("nested deeper than {MAX_SCHEMA_DEPTH}")));
    }
    let Value::Object(map) = schema else {
        return Err(err(path, "a schema must be a JSON object"));
    };
    let ty = match map.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => return Err(err(path, "\"type\" must be a string")),
        None => return Err(err(path, "\"type\" is required")),
    };
    let allowed: &[&str] = match ty {
        "object" => &["properties", "required", "additionalProperties"],
        "string" => &["maxLength", "minLength", "enum"],
        "boolean" => &[],
        "integer" => &["minimum", "maximum"],
        other => {
            return Err(err(
                path,
                format!("type {other:?} is not supported (object, string, boolean, integer)"),
            ));
        }
    };
    for key in map.keys() {
        if key != "type" && !allowed.contains(&key.as_str()) && !ANNOTATIONS.contains(&key.as_str())
        {
            return Err(err(
                path,
                format!("keyword {key:?} is not supported for type {ty:?}"),
            ));
        }
    }
    let kind = match ty {
        "object" => compile_object(map, path, depth)?,
        "string" => {
            let min_length = opt_u64(map, "minLength", path)?;
            let max_length = opt_u64(map, "maxLength", path)?;
            if let (Some(lo), Some(hi)) = (min_length, max_length)
                && lo > hi
            {
                return Err(err(path, "minLength is greater than maxLength"));
            }
            let allowed = match map.get("enum") {
                None => None,
                Some(Value::Array(items))
                    if !items.is_empty() && items.len() <= MAX_SCHEMA_ENUM =>
                {
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        match item {
                            Value::String(s) => out.push(s.clone()),
                            _ => return Err(err(path, "enum values must be strings")),
                        }
                    }
                    Some(out)
                }
                Some(_) => {
                    return Err(err(
                        path,
                        format!("enum must be a list of 1..={MAX_SCHEMA_ENUM} strings"),
                    ));
                }
            };
            Kind::String {
                min_length,
                max_length,
                allowed,
            }
        }
        "boolean" => Kind::Boolean,
        _ => {
            let minimum = opt_i64(map, "minimum", path)?;
            let maximum = opt_i64(map, "maximum", path)?;
            if let (Some(lo), Some(hi)) = (minimum, maximum)
                && lo > hi
            {
                return Err(err(path, "minimum is greater than maximum"));
            }
            Kind::Integer { minimum, maximum }
        }
    };
    Ok(Schema { kind })
}

fn compile_object(
    map: &serde_json::Map<String, Value>,
    path: &str,
    depth: usize,
) -> Result<Kind, SchemaError> {
    let mut properties = BTreeMap::new();
    match map.get("properties") {
        None => {}
        Some(Value::Object(props)) => {
            if props.len() > MAX_SCHEMA_PROPERTIES {
                return Err(err(
                    path,
                    format!("more than {MAX_SCHEMA_PROPERTIES} properties"),
                ));
            }
            for (name, sub) in props {
                let sub_path = format!("{path}.properties.{name}");
                properties.insert(name.clone(), compile_at(sub, &sub_path, depth + 1)?);
            }
        }
        Some(_) => return Err(err(path, "\"properties\" must be an object")),
    }
    let mut required = Vec::new();
    match map.get("required") {
        None => {}
        Some(Value::Array(names)) => {
            for name in names {
                let Value::String(name) = name else {
                    return Err(err(path, "\"required\" must list strings"));
                };
                if !properties.contains_key(name) {
                    return Err(err(
                        path,
                        format!("required property {name:?} is not declared in properties"),
                    ));
                }
                if !required.contains(name) {
                    required.push(name.clone());
                }
            }
        }
        Some(_) => return Err(err(path, "\"required\" must be an array")),
    }
    let additional = match map.get("additionalProperties") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(err(
                path,
                "only a boolean \"additionalProperties\" is supported",
            ));
        }
    };
    Ok(Kind::Object {
        properties,
        required,
        additional,
    })
}

fn opt_u64(
    map: &serde_json::Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<u64>, SchemaError> {
    match map.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| err(path, format!("{key:?} must be a non-negative integer"))),
    }
}

fn opt_i64(
    map: &serde_json::Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<i64>, SchemaError> {
    match map.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| err(path, format!("{key:?} must be an integer"))),
    }
}

fn violation(path: &str, reason: impl Into<String>) -> SchemaViolation {
    SchemaViolation {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn validate_at(schema: &Schema, value: &Value, path: &mut String) -> Result<(), SchemaViolation> {
    match (&schema.kind, value) {
        (
            Kind::Object {
                properties,
                required,
                additional,
            },
            Value::Object(map),
        ) => {
            for name in required {
                if !map.contains_key(name) {
                    return Err(violation(&format!("{path}.{name}"), "is required"));
                }
            }
            for (name, member) in map {
                let len = path.len();
                path.push('.');
                path.push_str(name);
                let result = match properties.get(name) {
                    Some(sub) => validate_at(sub, member, path),
                    None if *additional => Ok(()),
                    None => Err(violation(path, "is not allowed")),
                };
                path.truncate(len);
                result?;
            }
            Ok(())
        }
        (Kind::Object { .. }, _) => Err(violation(path, "must be an object")),
        (
            Kind::String {
                min_length,
                max_length,
                allowed,
            },
            Value::String(s),
        ) => {
            let chars = s.chars().count() as u64;
            if let Some(max) = max_length
                && chars > *max
            {
                return Err(violation(path, format!("is longer than {max} characters")));
            }
            if let Some(min) = min_length
                && chars < *min
            {
                return Err(violation(path, format!("is shorter than {min} characters")));
            }
            if let Some(allowed) = allowed
                && !allowed.iter().any(|a| a == s)
            {
                return Err(violation(path, "is not one of the allowed values"));
            }
            Ok(())
        }
        (Kind::String { .. }, _) => Err(violation(path, "must be a string")),
        (Kind::Boolean, Value::Bool(_)) => Ok(()),
        (Kind::Boolean, _) => Err(violation(path, "must be a boolean")),
        (Kind::Integer { minimum, maximum }, Value::Number(n)) => {
            let Some(i) = n.as_i64() else {
                return Err(violation(path, "must be an integer in the 64-bit range"));
            };
            if let Some(min) = minimum
                && i < *min
            {
                return Err(violation(path, format!("is less than {min}")));
            }
            if let Some(max) = maximum
                && i > *max
            {
                return Err(violation(path, format!("is greater than {max}")));
            }
            Ok(())
        }
        (Kind::Integer { .. }, _) => Err(violation(path, "must be an integer")),
    }
}
