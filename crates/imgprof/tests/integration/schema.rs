//! The report and the comparison against their JSON Schemas in docs/. Every report and
//! comparison the other tests read through `report_json` / `compare_json` is checked too;
//! here the check itself is shown to catch a disagreement.

use serde_json::Value;

use crate::common::schema::schema_errors;
use crate::common::{report_json, testdata};

#[test]
fn the_schema_catches_what_the_output_must_not_do() {
    let report = report_json(&testdata("sample/sample-app.tar"));
    assert!(schema_errors("report.schema.json", &report).is_empty());
    let version = report["schema_version"].as_u64().unwrap();
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(crate::common::root().join("docs/report.schema.json")).unwrap())
            .unwrap();
    assert!(
        schema["title"]
            .as_str()
            .unwrap()
            .ends_with(&format!("schema_version {version}")),
        "docs/report.schema.json is the schema of version {version}"
    );

    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut copy = report.clone();
        edit(&mut copy);
        schema_errors("report.schema.json", &copy)
    };
    // A finding id the table does not have, a field the schema does not name, a size
    // that is not a byte count, a required field gone, a compression no layer has.
    assert!(!broken(&|r| r["findings"][0]["id"] = "IMG999".into()).is_empty());
    assert!(!broken(&|r| r["image"]["surprise"] = 1.into()).is_empty());
    assert!(!broken(&|r| r["layers"][0]["tar_bytes"] = (-1).into()).is_empty());
    assert!(!broken(&|r| drop(r["projection"].as_object_mut().unwrap().remove("projected_bytes"))).is_empty());
    assert!(!broken(&|r| r["layers"][0]["compression"] = "brotli".into()).is_empty());
    assert!(!broken(&|r| r["findings"][0]["severity"] = "fatal".into()).is_empty());
}
