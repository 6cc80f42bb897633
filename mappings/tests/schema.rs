//! The published JSON Schema: valid draft 2020-12, generated from the loader's own types, and
//! in agreement with the loader on the shipped files.

use railgate_mappings::{DEMO_YAML, builtin_profiles, json_schema, profile_json_schema};
use serde_json::{Value, json};

fn yaml_to_json(text: &str) -> Value {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).expect("yaml");
    serde_json::to_value(yaml).expect("json")
}

#[test]
fn schemas_are_valid_draft_2020_12() {
    for schema in [json_schema(), profile_json_schema()] {
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        jsonschema::meta::validate(&schema).unwrap_or_else(|e| panic!("{e}"));
        assert!(jsonschema::validator_for(&schema).is_ok());
    }
}

#[test]
fn the_demo_and_every_builtin_profile_pass_their_schema() {
    let site = jsonschema::validator_for(&json_schema()).expect("site schema");
    let demo = yaml_to_json(DEMO_YAML);
    let errors: Vec<String> = site.iter_errors(&demo).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let profile = jsonschema::validator_for(&profile_json_schema()).expect("profile schema");
    for (name, text) in builtin_profiles() {
        let doc = yaml_to_json(text);
        let errors: Vec<String> = profile.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn the_schema_guides_editors() {
    let schema = json_schema();
    let site = jsonschema::validator_for(&schema).expect("schema");
    // Unknown keys, wrong enums and durations without unit are flagged in the editor too.
    for bad in [
        json!({"inputs": [{"token": "a", "discrete_input": 0, "invrt": true}]}),
        json!({"values": [{"name": "v", "input_register": 0, "type": "float", "topic": "rg:X"}]}),
        json!({"controllers": [{"name": "c", "modbus_tcp": {"host": "h"}, "unit": 1, "address_base": 0, "poll_interval": 100}]}),
        json!({"controllers": [{"name": "c", "modbus_tcp": {"host": "h"}, "unit": 1}]}),
    ] {
        assert!(!site.is_valid(&bad), "{bad}");
    }
    assert!(site.is_valid(&json!({})));
    // Keys carry their documentation for completion pop-ups.
    let props = &schema["$defs"]["ValueSpec"]["properties"];
    assert!(
        props["byte_order"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("32-bit"))
    );
    assert_eq!(
        schema["$defs"]["ByteOrderSpec"]["oneOf"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
    assert_eq!(schema["$defs"]["Duration"]["type"], "string");
    // Optional keys do not accept an empty value (`key:` with nothing is a mistake).
    assert!(!schema.to_string().contains("\"null\""));
}
