//! Reload (SIGHUP: `systemctl reload railgate`, `railgate reload`): the configuration file and its mapping are
//! read and checked again, whole, before anything else. An invalid one is logged problem by
//! problem with file:line:column and the gateway keeps running on what it has. A valid one is
//! compared with what runs: [`Changes`] names the configuration sections, controllers and
//! points that differ.
//!
//! What is applied, live:
//! - the mapping ([`crate::southbound::Southbound::reload`]): links that did not change keep
//!   running, changed ones are restarted, points keep their state where their definition did
//!   not change, removed properties are `Deleted` and new ones `Initialized` once read;
//!   GetEventProperties lists the new mapping's topics;
//! - `metrics.listen` ([`Live::metrics`]): the status page and metrics turned on, moved or off;
//! - `security`: the UsernameToken rules, the lockout, the authentication rate and the Digest
//!   nonce lifetime, for the next request ([`crate::security::settings`] lists what is read
//!   only at start: the realm and the user directory's limits).
//!
//! - `events`: the subscription limits and `consumer_networks` ([`crate::events::settings`]
//!   lists the store bounds, read only at start);
//! - `discovery`: the WS-Discovery task says Bye and starts again with the new settings.
//!
//! Subscriptions, pull points and the event store are not touched. The sections `server`
//! (listeners and limits), `device`, `host` and `data_dir`, the start-only keys of `security`
//! and `events`, and the mapping's serial ports are read at start: a reload names those that
//! differ and says that a restart applies them; they are compared with what runs again at the
//! next reload.

use std::collections::BTreeSet;
use std::sync::Arc;

use railgate_mappings::Diagnostics;
use railgate_mappings::plan::Plan;

use crate::app::App;
use crate::config::Config;
use crate::events::settings as events_settings;
use crate::listen::Relisten;
use crate::security::settings::{self, GateSettings};
use crate::southbound::Reloaded;

/// What a reload found.
#[derive(Debug)]
pub enum Outcome {
    /// The built-in demo runs: there is no file to read again.
    Demo,
    /// The new files do not check: every problem, with file:line:column.
    Invalid(Diagnostics),
    /// Valid, and the same as what runs.
    Unchanged,
    /// Valid, and different: how, and the new configuration and mapping.
    Changed(Changes, Box<(Config, Plan)>),
}

/// How a valid new configuration differs from the running one.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Configuration sections that differ (`server`, `security`, ...).
    pub sections: Vec<&'static str>,
    /// Controllers in the new mapping only.
    pub controllers_added: Vec<String>,
    /// Controllers in the running mapping only.
    pub controllers_removed: Vec<String>,
    /// Controllers in both whose settings differ.
    pub controllers_changed: Vec<String>,
    /// Points (`kind name`) in the new mapping only: they would be Initialized.
    pub points_added: Vec<String>,
    /// Points in the running mapping only: they would be Deleted.
    pub points_removed: Vec<String>,
}

impl Changes {
    /// One line for the log.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        let mut part = |what: &str, list: &[String]| {
            if !list.is_empty() {
                parts.push(format!("{what}: {}", list.join(", ")));
            }
        };
        let sections: Vec<String> = self.sections.iter().map(|s| s.to_string()).collect();
        part("sections", &sections);
        part("controllers added", &self.controllers_added);
        part("controllers removed", &self.controllers_removed);
        part("controllers changed", &self.controllers_changed);
        part("points added", &self.points_added);
        part("points removed", &self.points_removed);
        if parts.is_empty() {
            "points changed in place".to_string()
        } else {
            parts.join("; ")
        }
    }
}

/// Reads and checks the files `running` came from, and compares them with it and `plan`.
pub fn check(running: &Config, plan: &Plan) -> Outcome {
    let Some(source) = &running.source else {
        return Outcome::Demo;
    };
    let mut config = match Config::load(source) {
        Ok(c) => c,
        Err(d) => return Outcome::Invalid(d),
    };
    config.override_with(running.overrides.clone());
    let new_plan = match config.checked_mapping() {
        Ok(checked) => checked.map(|c| c.plan).unwrap_or_default(),
        Err(d) => return Outcome::Invalid(d),
    };
    let changes = compare(running, plan, &config, &new_plan);
    if changes == Changes::default() && new_plan == *plan {
        Outcome::Unchanged
    } else {
        Outcome::Changed(changes, Box::new((config, new_plan)))
    }
}

fn compare(old: &Config, old_plan: &Plan, new: &Config, new_plan: &Plan) -> Changes {
    let mut sections = Vec::new();
    let mut section = |name, differs: bool| {
        if differs {
            sections.push(name);
        }
    };
    section("device", old.device != new.device);
    section("server", old.server != new.server);
    section("security", old.security != new.security);
    section("events", old.events != new.events);
    section("discovery", old.discovery != new.discovery);
    section("host", old.host != new.host);
    section("metrics", old.metrics != new.metrics);
    section("data_dir", old.data_dir != new.data_dir);
    section("mapping", old.mapping != new.mapping);

    let names =
        |p: &Plan| -> BTreeSet<String> { p.controllers.iter().map(|c| c.name.clone()).collect() };
    let (before, after) = (names(old_plan), names(new_plan));
    let controllers_changed = before
        .intersection(&after)
        .filter(|name| {
            let find = |p: &Plan| p.controllers.iter().find(|c| &c.name == *name).cloned();
            find(old_plan) != find(new_plan)
        })
        .cloned()
        .collect();
    let (points_before, points_after) = (points(old_plan), points(new_plan));
    Changes {
        sections,
        controllers_added: after.difference(&before).cloned().collect(),
        controllers_removed: before.difference(&after).cloned().collect(),
        controllers_changed,
        points_added: points_after.difference(&points_before).cloned().collect(),
        points_removed: points_before.difference(&points_after).cloned().collect(),
    }
}

/// Every point a client sees, as `kind name`.
fn points(plan: &Plan) -> BTreeSet<String> {
    let inputs = plan.inputs.iter().map(|p| format!("input {}", p.token));
    let relays = plan.relays.iter().map(|p| format!("relay {}", p.token));
    let values = plan.values.iter().map(|p| format!("value {}", p.name));
    let records = plan.records.iter().map(|p| format!("record {}", p.name));
    inputs.chain(relays).chain(values).chain(records).collect()
}

/// What a reload can change besides the mapping.
#[derive(Debug)]
pub struct Live {
    /// The metrics listener (`metrics.listen`, with the status page).
    pub metrics: Arc<Relisten>,
}

/// Runs a reload, applies what can change live and logs what it found and did (the SIGHUP
/// handler). `running` is the configuration in force; it takes the mapping when that is
/// applied.
pub async fn on_hangup(app: &App, running: &mut Config, live: &Live) -> Outcome {
    let plan = app.io.plan();
    let outcome = check(running, &plan);
    match &outcome {
        Outcome::Demo => tracing::info!("SIGHUP: the built-in demo runs; nothing to reload"),
        Outcome::Invalid(d) => {
            for problem in &d.0 {
                tracing::error!("reload refused: {}", problem.to_string().trim_end());
            }
            tracing::error!(
                problems = d.0.len(),
                "SIGHUP: the configuration or mapping is invalid; still running on the previous one"
            );
        }
        Outcome::Unchanged => tracing::info!("SIGHUP: configuration and mapping unchanged"),
        Outcome::Changed(changes, next) => {
            let (config, new_plan) = &**next;
            let mut restart: Vec<&str> = changes
                .sections
                .iter()
                .copied()
                .filter(|s| {
                    !matches!(
                        *s,
                        "mapping" | "metrics" | "security" | "events" | "discovery"
                    )
                })
                .collect();
            if config.discovery != running.discovery {
                app.discovery.send_replace(config.discovery.clone());
                running.discovery = config.discovery.clone();
                tracing::info!(interfaces = ?config.discovery.interfaces, "SIGHUP: WS-Discovery starts again with the new settings");
            }
            if config.events != running.events {
                let ev = &config.events;
                app.subscriptions.set_limits(events_settings::limits(ev));
                app.consumer_policy
                    .set_networks(events_settings::consumer_networks(ev));
                restart.extend(events_settings::read_at_start(&running.events, ev));
                running.events = events_settings::applied(&running.events, ev);
                tracing::info!("SIGHUP: the subscription limits and consumer networks are applied");
            }
            if config.security != running.security {
                app.gate.reconfigure(
                    &GateSettings::of(&config.security),
                    crate::http::soap::device_now(app),
                );
                restart.extend(settings::read_at_start(&running.security, &config.security));
                running.security = settings::applied(&running.security, &config.security);
                tracing::info!("SIGHUP: the security settings are applied to the next request");
            }
            if config.metrics != running.metrics {
                match live.metrics.change(&config.metrics.listen) {
                    Ok(served) => {
                        if served.is_empty() {
                            tracing::info!("SIGHUP: the metrics listener is off");
                        }
                        for addr in served {
                            tracing::info!(%addr, "SIGHUP: serving metrics at http://{addr}/metrics");
                        }
                        running.metrics = config.metrics.clone();
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "SIGHUP: the metrics listener is unchanged")
                    }
                }
            }
            let mut applied = None;
            if *new_plan != *plan {
                match app.io.reload(new_plan.clone()).await {
                    Ok(reloaded) => {
                        crate::southbound::publish::reregister_topics(
                            &plan,
                            &app.io.plan(),
                            &app.topics,
                        );
                        if reloaded.serial_ports_kept {
                            restart.push("the mapping's serial ports");
                        }
                        applied = Some(reloaded);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "SIGHUP: the new mapping was not applied");
                        return outcome;
                    }
                }
            }
            running.mapping = config.mapping.clone();
            log_changed(changes, applied.as_ref(), &restart);
        }
    }
    outcome
}

fn log_changed(changes: &Changes, applied: Option<&Reloaded>, restart: &[&str]) {
    let links = applied.map(|r| {
        format!(
            "links started: {}; stopped: {}",
            none_if_empty(&r.started),
            none_if_empty(&r.stopped)
        )
    });
    tracing::info!(
        changes = %changes.summary(),
        links = links.as_deref().unwrap_or("unchanged"),
        "SIGHUP: reloaded"
    );
    if !restart.is_empty() {
        tracing::warn!(
            sections = %restart.join(", "),
            "SIGHUP: these changed and are read only at start: restart railgate to apply them"
        );
    }
}

fn none_if_empty(list: &[String]) -> String {
    if list.is_empty() {
        "none".to_string()
    } else {
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn write(dir: &Path, config: &str, mapping: &str) -> Config {
        std::fs::write(dir.join("railgate.yaml"), config).unwrap();
        std::fs::write(dir.join("site.yaml"), mapping).unwrap();
        Config::load(&dir.join("railgate.yaml")).unwrap()
    }

    const MAPPING: &str = "controllers:\n  - name: panel\n    modbus_tcp: {host: 127.0.0.1, port: 1502}\n    unit: 1\n    address_base: 0\ninputs:\n  - {token: Door, discrete_input: 1}\n";

    fn plan(config: &Config) -> Plan {
        railgate_mappings::check_file(config.mapping.as_ref().unwrap())
            .unwrap()
            .plan
    }

    #[test]
    fn the_demo_has_nothing_to_reload() {
        assert!(matches!(
            check(&Config::demo(), &Plan::default()),
            Outcome::Demo
        ));
    }

    #[test]
    fn an_invalid_mapping_is_refused_with_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let running = write(dir.path(), "mapping: site.yaml\n", MAPPING);
        let plan = plan(&running);
        assert!(matches!(check(&running, &plan), Outcome::Unchanged));
        std::fs::write(
            dir.path().join("site.yaml"),
            format!("{MAPPING}  - {{token: Window, discrete_inptu: 2}}\n"),
        )
        .unwrap();
        let Outcome::Invalid(d) = check(&running, &plan) else {
            panic!("accepted")
        };
        let text = d.to_string();
        assert!(text.contains("site.yaml:8:"), "{text}");
    }

    #[test]
    fn changes_name_sections_controllers_and_points() {
        let dir = tempfile::tempdir().unwrap();
        let running = write(dir.path(), "mapping: site.yaml\n", MAPPING);
        let plan = plan(&running);
        write(
            dir.path(),
            "mapping: site.yaml\nsecurity: {allow_password_text: true}\n",
            &MAPPING
                .replace("port: 1502", "port: 1503")
                .replace("token: Door", "token: Gate"),
        );
        let Outcome::Changed(c, _) = check(&running, &plan) else {
            panic!("not seen as changed")
        };
        assert_eq!(c.sections, vec!["security"]);
        assert_eq!(c.controllers_changed, vec!["panel".to_string()]);
        assert_eq!(c.points_added, vec!["input Gate".to_string()]);
        assert_eq!(c.points_removed, vec!["input Door".to_string()]);
        assert!(c.summary().contains("points removed: input Door"));
    }
}
