//! The railgate mapping language.
//!
//! Integrators describe in YAML how a legacy controller's points become ONVIF relays, digital
//! inputs and events. This crate owns that language: its types, validation with precise
//! diagnostics, and the engine that turns point updates into model changes. Only the loader does
//! I/O (it reads the mapping file and its profiles); nothing needs an async runtime.
//!
//! Layout:
//! - [`diag`]: [`Diagnostic`]s with file, line, column and key path, rendered with the source
//!   line and a caret. The gateway's own configuration loader reports through it too, and
//!   points into its file with the same node index ([`Doc`]).
//! - [`plan`]: the compiled mapping the loader produces and the engine and gateway run.
//! - [`load_file`] / [`load_str`]: the loader. A file goes through `parse` (YAML with node
//!   positions from `yaml`, duplicate keys, the JSON Schema from `schema`, typed `model`
//!   items) and then `compile` (controllers, `profiles`, inputs, relays, values with their
//!   [`topics`], commands, overlaps) into a [`plan::Plan`], or into every problem at once.
//! - [`json_schema`]: the language's JSON Schema, generated from the `model` types.
//! - The language itself is documented for integrators in `mappings/README.md`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod diag;
pub mod engine;
pub mod plan;

mod compile;
mod doc;
mod line_model;
mod load;
mod model;
mod model_common;
mod model_readers;
mod parse;
mod profiles;
mod schema;
mod suggest;
pub mod topics;
mod yaml;

pub use load::{
    Checked, DEMO_YAML, check_file, check_str, json_schema, load_demo, load_file, load_str,
    profile_json_schema,
};
pub use profiles::builtin_profiles;

pub use diag::{Diagnostic, Diagnostics, Severity, Source};
pub use doc::Doc;
