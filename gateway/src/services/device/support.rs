//! GetSystemLog (System: railgate's recent log records, `logring::SYSTEM`; Access: what
//! clients did, `App::access_log`) and GetSystemSupportInformation (a text a support
//! engineer reads first: versions, host backend, links, event store, the effective
//! configuration and the mapping with every secret redacted, the recent system log).

use std::fmt::Write as _;

use crate::app::App;
use crate::logring;
use crate::services::{Ctx, OpResult, required_text};
use crate::soap::SoapFault;
use crate::xml::ns::TDS;
use crate::xml::{Element, XmlWriter};

/// Keys whose values are secrets wherever they appear in a mapping (matched on the key's
/// lower-cased name containing one of these).
const SECRET_KEYS: &[&str] = &["password", "secret", "code", "key", "token", "pin", "scbk"];

pub(super) async fn get_system_log(ctx: &Ctx, req: &Element) -> OpResult {
    let (text, fault) = match required_text(req, TDS, "LogType")? {
        "System" => (system_log(&ctx.app).await, "ter:SystemlogUnavailable"),
        "Access" => (ctx.app.access_log.text(), "ter:AccesslogUnavailable"),
        other => {
            return Err(SoapFault::invalid_args(format!(
                "LogType {other:?} is not System or Access"
            )));
        }
    };
    if text.is_empty() {
        return Err(SoapFault::new(
            crate::soap::fault::FaultCode::Sender,
            &["ter:InvalidArgs", fault],
            "nothing has been logged yet",
        ));
    }
    let mut w = XmlWriter::new();
    w.with("tds:GetSystemLogResponse", &[], |w| {
        w.with("tds:SystemLog", &[], |w| {
            w.leaf("tt:String", &text);
        });
    });
    Ok(w.finish())
}

pub(super) async fn get_system_support_information(ctx: &Ctx, _req: &Element) -> OpResult {
    let text = support_text(&ctx.app);
    let mut w = XmlWriter::new();
    w.with("tds:GetSystemSupportInformationResponse", &[], |w| {
        w.with("tds:SupportInformation", &[], |w| {
            w.leaf("tt:String", &text);
        });
    });
    Ok(w.finish())
}

/// The system log: the journal of railgate's unit under the systemd backend (when there is
/// one to read), else the in-memory ring.
pub async fn system_log(app: &App) -> String {
    match app.host.system_log().await {
        Some(journal) => journal,
        None => logring::SYSTEM.text(),
    }
}

/// The support information as text.
pub fn support_text(app: &App) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "railgate support information");
    let _ = writeln!(out, "generated: {}", logring::timestamp());
    let _ = writeln!(out, "version: {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "firmware version: {}", app.identity.firmware_version);
    let _ = writeln!(out, "serial number: {}", app.identity.serial_number);
    let _ = writeln!(out, "host backend: {}", app.host.kind().name());
    let _ = writeln!(out, "serving: {:?}", app.protocols.served());
    let _ = writeln!(out, "\n== controllers");
    for c in &app.io.plan().controllers {
        let state = if app.io.link_up(&c.name) {
            "up"
        } else {
            "down"
        };
        let _ = writeln!(out, "{}: {state}", c.name);
    }
    let _ = writeln!(out, "\n== event store");
    let _ = writeln!(out, "{:?}", app.events.store().stats());
    let _ = writeln!(out, "\n== configuration in force (it holds no secrets)");
    let _ = writeln!(out, "{:#?}", app.config);
    let _ = writeln!(out, "\n== mapping (secrets redacted)");
    match &app.config.mapping {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => out.push_str(&redacted(&text)),
            Err(e) => {
                let _ = writeln!(out, "{}: {e}", path.display());
            }
        },
        None => out.push_str("(none)\n"),
    }
    let _ = writeln!(out, "\n== recent system log");
    out.push_str(&logring::SYSTEM.text());
    out
}

/// A mapping's YAML with the value of every secret-looking key replaced; text that does not
/// parse is left out rather than shown unredacted.
fn redacted(text: &str) -> String {
    let Ok(mut value) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return "(the mapping does not parse as YAML; left out)\n".into();
    };
    redact(&mut value);
    serde_yaml::to_string(&value).unwrap_or_default()
}

fn redact(value: &mut serde_yaml::Value) {
    match value {
        serde_yaml::Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let secret = k.as_str().is_some_and(|k| {
                    let k = k.to_ascii_lowercase();
                    SECRET_KEYS.iter().any(|s| k.contains(s))
                });
                if secret && !v.is_mapping() && !v.is_sequence() {
                    *v = serde_yaml::Value::String("<redacted>".into());
                } else {
                    redact(v);
                }
            }
        }
        serde_yaml::Value::Sequence(items) => items.iter_mut().for_each(redact),
        serde_yaml::Value::Tagged(t) => redact(&mut t.value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_a_mapping_are_redacted_wherever_they_are() {
        let text = "controllers:\n  panel:\n    line: {device: /dev/ttyUSB0}\ncommands:\n  - {command: Disarm, params: {partition: \"1\", code: \"4711\"}}\nreaders:\n  - {name: r, master_key: 00112233, scbk: aabb}\n";
        let out = redacted(text);
        for secret in ["4711", "00112233", "aabb"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(
            out.contains("/dev/ttyUSB0") && out.contains("partition"),
            "{out}"
        );
        assert_eq!(out.matches("<redacted>").count(), 3, "{out}");
    }
}
