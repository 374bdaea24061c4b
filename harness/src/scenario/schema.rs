//! The JSON Schema (draft-07) of scenario files, generated from the same types the loader uses,
//! committed at `scenarios/scenario.schema.json` for editors.

use super::Scenario;

/// The schema as pretty JSON, with a trailing newline.
pub fn scenario_schema() -> String {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<Scenario>();
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serializes");
    text.push('\n');
    text
}
