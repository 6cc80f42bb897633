//! The conformance suite for the declarative line adapter (`railgate_adapters::line`): the
//! test panel of `conformance::line` (one ASCII line per point, `SET name=0|1` answered by
//! `OK` or `ERR reason`), described as a `LineProtocol` — data only, as the mapping compiler
//! would produce it — and spoken by the real `LineAdapter`.

use std::sync::Arc;
use std::time::Duration;

use regex::bytes::Regex;

use railgate_adapters::conformance::line::LinePeer;
use railgate_adapters::conformance::{self, Fixture, Settings, Subject};
use railgate_adapters::line::adapter::{BoxedStream, Opener};
use railgate_adapters::line::{
    AckSpec, Action, CommandTemplate, Framing, LineAdapter, LineConfig, LineProtocol,
    LineTransport, LineWrite, Matcher, Rule, TextTemplate,
};
use railgate_adapters::modbus::Backoff;
use railgate_adapters::{PointId, Value};

const LAYOUT: [(&str, bool, bool); 4] = [
    ("zone1", false, false),
    ("zone2", false, false),
    ("siren", false, true),
    ("pgm1", true, true),
];

fn id(name: &str) -> PointId {
    PointId(format!("panel/{name}"))
}

fn t(s: &str) -> TextTemplate {
    TextTemplate::parse(s).unwrap()
}

fn rule(name: &str, regex: &str, action: Action) -> Rule {
    Rule {
        name: name.into(),
        matcher: Matcher::Text(Regex::new(regex).unwrap()),
        actions: vec![action],
    }
}

/// The test panel's protocol, declared.
fn protocol() -> LineProtocol {
    let set = |name: &str, template: &str| {
        let mut c = CommandTemplate::text(name, template).unwrap();
        c.ack = Some(AckSpec {
            key: None,
            timeout: Duration::from_secs(1),
        });
        c
    };
    LineProtocol {
        name: "conformance-line".into(),
        framing: Framing::Delimiter {
            delimiter: b"\n".to_vec(),
        },
        max_frame: 256,
        checksum: None,
        rules: vec![
            rule(
                "on",
                r"^(?P<name>[a-z0-9]+)=1$",
                Action::InputState {
                    point: t("panel/{name}"),
                    state: true,
                },
            ),
            rule(
                "off",
                r"^(?P<name>[a-z0-9]+)=0$",
                Action::InputState {
                    point: t("panel/{name}"),
                    state: false,
                },
            ),
            rule("ok", r"^OK$", Action::Ack { key: None }),
            rule(
                "err",
                r"^ERR (?P<reason>.*)$",
                Action::Nak {
                    key: None,
                    reason: Some("reason".into()),
                },
            ),
        ],
        commands: vec![
            set("set_on", "SET {name}=1"),
            set("set_off", "SET {name}=0"),
        ],
        supervision: None,
    }
}

struct Declared {
    peer: LinePeer,
}

impl Subject for Declared {
    type Adapter = LineAdapter;

    fn build(&self, _settings: &Settings) -> LineAdapter {
        let dialer = self.peer.dialer();
        let opener: Opener = Arc::new(move || {
            let dialed = dialer.dial();
            Box::pin(async move { dialed.map(|s| Box::new(s) as BoxedStream) })
        });
        let mut writes = Vec::new();
        for (name, _, writable) in LAYOUT {
            if !writable {
                continue;
            }
            for (value, command) in [(true, "set_on"), (false, "set_off")] {
                writes.push(LineWrite {
                    point: id(name),
                    value: Value::Bool(value),
                    command: command.into(),
                    params: [("name".to_string(), name.to_string())].into(),
                });
            }
        }
        LineAdapter::new(LineConfig {
            name: "line-panel".into(),
            transport: LineTransport::Custom(opener),
            protocol: protocol(),
            writes,
            inter_frame: Duration::ZERO,
            backoff: Backoff {
                initial: Duration::from_millis(100),
                max: Duration::from_millis(400),
            },
            on_connect: Vec::new(),
        })
    }
}

fn panel() -> Fixture<LinePeer, Declared> {
    let peer = LinePeer::new(&LAYOUT);
    Fixture {
        subject: Declared { peer: peer.clone() },
        peer,
        points: LAYOUT.iter().map(|(n, _, _)| id(n)).collect(),
        input: id("zone1"),
        outputs: vec![id("siren"), id("pgm1")],
        refused: None,
        poll_interval: Duration::from_millis(100),
        detect_within: Duration::from_millis(200),
        recover_within: Duration::from_millis(1000),
        slack: Duration::from_millis(500),
    }
}

macro_rules! conformance_tests {
    ($($name:ident => $check:path;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fx = panel();
                if let Err(failure) = $check(&fx).await {
                    panic!("{}: {failure}", stringify!($check));
                }
            }
        )*
    };
}

conformance_tests! {
    declared_line_initial_readings => conformance::initial_readings;
    declared_line_input_change_reported => conformance::input_change_reported;
    declared_line_repeat_not_reported => conformance::repeat_not_reported;
    declared_line_peer_loss => conformance::peer_loss;
    declared_line_peer_return => conformance::peer_return;
    declared_line_write_round_trip => conformance::write_round_trip;
    declared_line_unknown_write_refused => conformance::unknown_write_refused;
    declared_line_input_write_refused => conformance::input_write_refused;
    declared_line_garbage_survived => conformance::garbage_survived;
    declared_line_clean_stop => conformance::clean_stop;
    declared_line_stop_while_down => conformance::stop_while_down;
}
