//! Output checked against the JSON Schemas in docs/ (generated from the report's wire
//! types). Stricter than the published schemas in one way: no object may carry a property
//! the schema does not name, so a field the output gains without the schema fails here.

use std::sync::OnceLock;

use serde_json::Value;

fn strict(mut schema: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                    map.insert("additionalProperties".into(), Value::Bool(false));
                }
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    schema
}

fn validator(name: &str) -> jsonschema::Validator {
    let path = super::root().join("docs").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&strict(schema)).unwrap_or_else(|e| panic!("{name} is not a valid schema: {e}"))
}

/// Where `document` disagrees with docs/`schema` (`report.schema.json`, ...), one line
/// per error.
pub fn schema_errors(schema: &str, document: &Value) -> Vec<String> {
    static REPORT: OnceLock<jsonschema::Validator> = OnceLock::new();
    static COMPARE: OnceLock<jsonschema::Validator> = OnceLock::new();
    let validator = match schema {
        "report.schema.json" => REPORT.get_or_init(|| validator(schema)),
        "compare.schema.json" => COMPARE.get_or_init(|| validator(schema)),
        other => panic!("no schema {other}"),
    };
    validator
        .iter_errors(document)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

pub fn assert_schema(schema: &str, document: &Value) {
    let errors = schema_errors(schema, document);
    assert!(
        errors.is_empty(),
        "output disagrees with docs/{schema}:\n{}",
        errors.join("\n")
    );
}
