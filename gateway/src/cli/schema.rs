//! `railgate schema`: the JSON Schema of the mapping language, for editor completion.

use std::process::ExitCode;

use super::EX_SOFTWARE;
use super::out::{self, OutError};

/// Prints the schema.
pub(crate) fn run() -> Result<ExitCode, OutError> {
    match serde_json::to_string_pretty(&railgate_mappings::json_schema()) {
        Ok(text) => {
            out::line(text)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            out::note(format_args!("railgate schema: {e}"));
            Ok(ExitCode::from(EX_SOFTWARE))
        }
    }
}
