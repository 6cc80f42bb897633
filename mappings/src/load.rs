//! The entry points: a mapping file (or text) in, a [`Plan`] or every problem out.

use std::path::Path;

use crate::diag::{Diagnostic, Diagnostics, Source};
use crate::plan::Plan;
use crate::schema::{self, FileKind};

/// The demo site (`mappings/demo.yaml`): the simulated I/O module and alarm panel.
pub const DEMO_YAML: &str = include_str!("../demo.yaml");

/// A compiled mapping and the warnings found on the way (likely mistakes that do not stop
/// it from working, e.g. an address in 40001 notation; see [`crate::diag::Severity`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    /// The compiled mapping.
    pub plan: Plan,
    /// Warnings, in file and position order (empty when there are none).
    pub warnings: Diagnostics,
}

/// Reads a mapping file and compiles it, with profiles from `profiles/` next to it and the
/// built-in ones. Warnings are dropped: [`check_file`] keeps them.
pub fn load_file(path: &Path) -> Result<Plan, Diagnostics> {
    check_file(path).map(|c| c.plan)
}

/// Like [`load_file`], keeping the warnings. On error, the diagnostics hold the warnings too.
pub fn check_file(path: &Path) -> Result<Checked, Diagnostics> {
    let text = crate::profiles::read_limited(path).map_err(|e| {
        Diagnostics(vec![Diagnostic::at(
            &Source::new(path, ""),
            0,
            0,
            "",
            format!("cannot read: {e}"),
        )])
    })?;
    compile(path, &text, profile_dir(path, true))
}

/// Compiles mapping `text`; `path` names it in diagnostics, and when it names a file on disk
/// (or a path with a folder), profiles are also looked up in `profiles/` next to it.
pub fn load_str(path: &Path, text: &str) -> Result<Plan, Diagnostics> {
    check_str(path, text).map(|c| c.plan)
}

/// Like [`load_str`], keeping the warnings.
pub fn check_str(path: &Path, text: &str) -> Result<Checked, Diagnostics> {
    compile(path, text, profile_dir(path, path.is_file()))
}

/// The demo site compiled with the built-in profiles only.
pub fn load_demo() -> Result<Plan, Diagnostics> {
    compile(Path::new("<built-in>/demo.yaml"), DEMO_YAML, None).map(|c| c.plan)
}

/// The JSON Schema (draft 2020-12) of site mapping files, for editor completion
/// (`railgate schema` prints it). Generated from the types the loader deserializes.
pub fn json_schema() -> serde_json::Value {
    schema::schema(FileKind::Site).clone()
}

/// The JSON Schema of profile files (`profiles/*.yaml`).
pub fn profile_json_schema() -> serde_json::Value {
    schema::schema(FileKind::Profile).clone()
}

/// Where to look for site profiles: `<folder of path>/profiles`, when `path` has a folder or
/// is a file in the working directory; never for pseudo paths such as `<built-in demo>`.
fn profile_dir(path: &Path, exists: bool) -> Option<&Path> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => Some(dir),
        Some(_) if exists => Some(Path::new(".")),
        _ => None,
    }
}

fn compile(path: &Path, text: &str, dir: Option<&Path>) -> Result<Checked, Diagnostics> {
    let parsed = crate::parse::parse(FileKind::Site, path, text);
    crate::compile::compile(parsed, dir).map(|(plan, warnings)| Checked { plan, warnings })
}
