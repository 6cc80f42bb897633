//! The mapping language (`railgate_mappings::check_str`: YAML loader, schema, validator and
//! compiler, with the built-in profiles) on arbitrary text, and the Modbus poll planner on
//! every controller of a mapping it accepts.
//!
//! Invariants:
//! - no panic, and every diagnostic renders;
//! - a refusal holds at least one error (not only warnings), with positions inside the text;
//! - an accepted mapping's warnings are warnings, and each of its Modbus controllers plans
//!   (`plan_poll`): what the validator accepts, the adapter can poll;
//! - the result is deterministic (the same text gives the same plan or the same diagnostics).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use railgate_adapters::modbus::plan::plan_poll;
use railgate_mappings::plan::Link;
use railgate_mappings::{Diagnostics, check_str};

fn check_positions(text: &str, diagnostics: &Diagnostics) {
    // Lines as YAML counts them: LF, CR LF, a lone CR, NEL, LS and PS each end one.
    let breaks = text
        .replace("\r\n", "\n")
        .matches(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .count();
    let lines = breaks + 1;
    for d in &diagnostics.0 {
        let _ = d.to_string();
        assert!(d.line <= lines, "line {} of {lines}: {d}", d.line);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz-site.yaml");
    let result = check_str(path, text);
    match &result {
        Ok(checked) => {
            check_positions(text, &checked.warnings);
            assert!(checked.warnings.0.iter().all(|d| d.is_warning()));
            for c in &checked.plan.controllers {
                let Link::Modbus(config) = &c.link else {
                    continue;
                };
                if let Err(e) = plan_poll(config) {
                    panic!("controller {} was accepted but does not plan: {e}", c.name);
                }
            }
        }
        Err(diagnostics) => {
            check_positions(text, diagnostics);
            assert!(
                diagnostics.0.iter().any(|d| !d.is_warning()),
                "refused with warnings only: {diagnostics}"
            );
        }
    }
    assert_eq!(check_str(path, text), result, "not deterministic");
});
