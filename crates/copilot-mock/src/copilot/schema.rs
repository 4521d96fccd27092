//! A value that satisfies a JSON Schema, for `response_format: json_schema` and tool arguments.
//!
//! Covers what structured-output schemas use: `type` (also as a list), `properties` (all emitted,
//! so `required` always holds), `items`/`minItems`, `enum`, `const`, `anyOf`/`oneOf`/`allOf`
//! (first branch), `$ref` into `$defs`/`definitions`, `minimum`, `minLength`, string `format`s.

use serde_json::{Map, Value, json};

/// Generates a deterministic instance of `schema`. `hint` seeds string values.
pub(crate) fn example(schema: &Value, hint: &str) -> Value {
    generate(schema, schema, hint, 0)
}

fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let path = reference.strip_prefix("#/")?;
    path.split('/').try_fold(root, |node, part| node.get(part))
}

fn generate(schema: &Value, root: &Value, hint: &str, depth: usize) -> Value {
    if depth > 16 {
        return Value::Null;
    }
    let Some(obj) = schema.as_object() else {
        // `true` / `{}` accept anything.
        return json!(hint);
    };
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        return match resolve(root, reference) {
            Some(target) => generate(target, root, hint, depth + 1),
            None => Value::Null,
        };
    }
    if let Some(value) = obj.get("const") {
        return value.clone();
    }
    if let Some(first) = obj
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return first.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(first) = obj.get(key).and_then(Value::as_array).and_then(|a| {
            a.iter()
                .find(|s| s.get("type").and_then(Value::as_str) != Some("null"))
                .or(a.first())
        }) {
            return generate(first, root, hint, depth + 1);
        }
    }
    let ty = match obj.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if obj.contains_key("properties") => "object",
        _ if obj.contains_key("items") => "array",
        _ => "string",
    };
    match ty {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = obj.get("properties").and_then(Value::as_object) {
                for (name, sub) in props {
                    out.insert(name.clone(), generate(sub, root, name, depth + 1));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let count = obj
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1);
            let items = obj.get("items").cloned().unwrap_or(json!({}));
            (0..count)
                .map(|_| generate(&items, root, hint, depth + 1))
                .collect()
        }
        "integer" => json!(
            obj.get("minimum")
                .and_then(Value::as_i64)
                .or_else(|| obj
                    .get("exclusiveMinimum")
                    .and_then(Value::as_i64)
                    .map(|m| m + 1))
                .unwrap_or(42)
        ),
        "number" => json!(obj.get("minimum").and_then(Value::as_f64).unwrap_or(4.2)),
        "boolean" => json!(true),
        "null" => Value::Null,
        _ => {
            let text = match obj.get("format").and_then(Value::as_str) {
                Some("date-time") => "2026-01-01T00:00:00Z".to_string(),
                Some("date") => "2026-01-01".to_string(),
                Some("email") => "octocat@example.com".to_string(),
                Some("uri") | Some("url") => "https://example.com/".to_string(),
                Some("uuid") => "00000000-0000-4000-8000-000000000000".to_string(),
                _ => format!("mock-{hint}"),
            };
            let min = obj.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
            let mut text = text;
            while text.len() < min {
                text.push('x');
            }
            if let Some(max) = obj.get("maxLength").and_then(Value::as_u64) {
                text.truncate(max as usize);
            }
            json!(text)
        }
    }
}
