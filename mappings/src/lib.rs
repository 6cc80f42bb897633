//! The railgate mapping language.
//!
//! Integrators describe in YAML how a legacy controller's points become ONVIF relays, digital
//! inputs and events. This crate owns that language: its types, validation with precise
//! diagnostics, and the engine that turns point updates into model changes. It does no I/O and
//! needs no async runtime.
//!
//! Layout:
//! - [`diag`]: [`Diagnostic`]s with file, line, column and key path, rendered with the source
//!   line and a caret. The gateway's own configuration loader reports through it too.
//! - [`plan`]: the compiled mapping the loader produces and the engine and gateway run.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod diag;
pub mod engine;
pub mod plan;

pub use diag::{Diagnostic, Diagnostics, Source};
