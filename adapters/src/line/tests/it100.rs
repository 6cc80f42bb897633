//! The DSC IT-100 / PowerSeries serial interface, end to end, described as data only.
//!
//! Facts used (IT-100 Data Interface Module Developer's Guide v1.0, DSC 29007363R001,
//! §2.4 and §4–5, as read through two open-source integrations of it): a frame is a 3-digit
//! command, its data, a checksum of two uppercase hex digits (the 8-bit sum of the command
//! and data characters) and CR LF. 609/610 zone open/restored carry a 3-digit zone; 601/602
//! zone alarm/restore carry a partition digit and a 3-digit zone; 652 partition armed a
//! partition and a mode digit (0 away, 1 stay, 2 away no delay, 3 stay no delay); 654 in
//! alarm, 655 disarmed, 656 exit delay a partition; 800–803 panel battery/AC trouble and
//! restore carry nothing; 500 command acknowledge carries the acknowledged command; 501
//! command error nothing; 502 system error a 3-digit error code. Commands: 000 poll, 030
//! arm away (partition), 040 disarm (partition + 6-digit code, a 4-digit code padded with
//! 00).

use std::collections::BTreeMap;
use std::time::Duration;

use regex::bytes::Regex;

use crate::line::checksum::ChecksumError;
use crate::line::{
    AckSpec, Action, Checksum, CommandTemplate, Decoded, Decoder, Framing, LineProtocol, Outcome,
    Params, Rule, Supervision, TextTemplate, command::answers,
};
use crate::point::PointId;

fn t(s: &str) -> TextTemplate {
    TextTemplate::parse(s).unwrap()
}

fn rule(name: &str, regex: &str, actions: Vec<Action>) -> Rule {
    Rule {
        name: name.into(),
        matcher: crate::line::Matcher::Text(Regex::new(regex).unwrap()),
        actions,
    }
}

fn input(point: &str, state: bool) -> Action {
    Action::InputState {
        point: t(point),
        state,
    }
}

fn event(topic: &str) -> Action {
    Action::Event {
        topic: t(topic),
        items: vec![],
    }
}

/// The IT-100 profile as the mapping compiler would hand it over.
pub(super) fn it100() -> LineProtocol {
    let command = |name: &str, template: &str, ack: &str| {
        let mut c = CommandTemplate::text(name, template).unwrap();
        c.ack = Some(AckSpec {
            key: Some(t(ack)),
            timeout: Duration::from_secs(2),
        });
        c
    };
    LineProtocol {
        name: "dsc_it100".into(),
        framing: Framing::Delimiter {
            delimiter: b"\r\n".to_vec(),
        },
        max_frame: 64,
        checksum: Some(Checksum::sum8_hex_text()),
        rules: vec![
            rule(
                "zone_open",
                r"^609(?P<zone>\d{3})$",
                vec![input("dsc/zone/{zone}", true)],
            ),
            rule(
                "zone_restored",
                r"^610(?P<zone>\d{3})$",
                vec![input("dsc/zone/{zone}", false)],
            ),
            rule(
                "zone_alarm",
                r"^601(?P<partition>\d)(?P<zone>\d{3})$",
                vec![input("dsc/zone/{zone}/alarm", true), event("dsc/ZoneAlarm")],
            ),
            rule(
                "zone_alarm_restore",
                r"^602(?P<partition>\d)(?P<zone>\d{3})$",
                vec![
                    input("dsc/zone/{zone}/alarm", false),
                    event("dsc/ZoneAlarmRestore"),
                ],
            ),
            rule(
                "partition_armed",
                r"^652(?P<partition>\d)(?P<mode>[0-3])$",
                vec![
                    input("dsc/partition/{partition}/armed", true),
                    Action::Event {
                        topic: t("dsc/PartitionArmed"),
                        items: vec![
                            ("Partition".into(), "partition".into()),
                            ("Mode".into(), "mode".into()),
                        ],
                    },
                ],
            ),
            rule(
                "partition_in_alarm",
                r"^654(?P<partition>\d)$",
                vec![input("dsc/partition/{partition}/alarm", true)],
            ),
            rule(
                "partition_disarmed",
                r"^655(?P<partition>\d)$",
                vec![
                    input("dsc/partition/{partition}/armed", false),
                    input("dsc/partition/{partition}/alarm", false),
                ],
            ),
            rule(
                "exit_delay",
                r"^656(?P<partition>\d)$",
                vec![event("dsc/ExitDelay")],
            ),
            rule(
                "battery_trouble",
                r"^800$",
                vec![input("dsc/panel/battery_trouble", true)],
            ),
            rule(
                "battery_restore",
                r"^801$",
                vec![input("dsc/panel/battery_trouble", false)],
            ),
            rule(
                "ac_trouble",
                r"^802$",
                vec![input("dsc/panel/ac_trouble", true)],
            ),
            rule(
                "ac_restore",
                r"^803$",
                vec![input("dsc/panel/ac_trouble", false)],
            ),
            rule(
                "ack",
                r"^500(?P<command>\d{3})$",
                vec![Action::Ack {
                    key: Some("command".into()),
                }],
            ),
            rule(
                "command_error",
                r"^501$",
                vec![Action::Nak {
                    key: None,
                    reason: None,
                }],
            ),
            rule(
                "system_error",
                r"^502(?P<error>\d{3})$",
                vec![Action::Nak {
                    key: None,
                    reason: Some("error".into()),
                }],
            ),
        ],
        commands: vec![
            command("poll", "000", "000"),
            command("arm_away", "030{partition:1}", "030"),
            command("disarm", "040{partition:1}{code:<6}", "040"),
        ],
        supervision: Some(Supervision {
            command: Some("poll".into()),
            every: Duration::from_secs(30),
            silence: Duration::from_secs(75),
        }),
    }
}

fn matched(decoded: &Decoded) -> &[Outcome] {
    match decoded {
        Decoded::Matched { outcomes, .. } => outcomes,
        other => panic!("not matched: {other:?}"),
    }
}

fn state(point: &str, state: bool) -> Outcome {
    Outcome::InputState {
        point: PointId(point.into()),
        state,
    }
}

fn items(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn line_it100_profile_checks() {
    it100().check().unwrap();
}

#[test]
fn line_it100_frames_become_outcomes() {
    let mut decoder = Decoder::new(&it100());
    let cases: Vec<(&str, Vec<Outcome>)> = vec![
        ("60900130\r\n", vec![state("dsc/zone/001", true)]),
        ("61000128\r\n", vec![state("dsc/zone/001", false)]),
        (
            "601100159\r\n",
            vec![
                state("dsc/zone/001/alarm", true),
                Outcome::Event {
                    topic: "dsc/ZoneAlarm".into(),
                    items: items(&[("partition", "1"), ("zone", "001")]),
                },
            ],
        ),
        (
            "60210015A\r\n",
            vec![
                state("dsc/zone/001/alarm", false),
                Outcome::Event {
                    topic: "dsc/ZoneAlarmRestore".into(),
                    items: items(&[("partition", "1"), ("zone", "001")]),
                },
            ],
        ),
        (
            "65211FF\r\n",
            vec![
                state("dsc/partition/1/armed", true),
                Outcome::Event {
                    topic: "dsc/PartitionArmed".into(),
                    items: items(&[("Partition", "1"), ("Mode", "1")]),
                },
            ],
        ),
        ("6543D2\r\n", vec![state("dsc/partition/3/alarm", true)]),
        (
            "6551D1\r\n",
            vec![
                state("dsc/partition/1/armed", false),
                state("dsc/partition/1/alarm", false),
            ],
        ),
        (
            "6561D2\r\n",
            vec![Outcome::Event {
                topic: "dsc/ExitDelay".into(),
                items: items(&[("partition", "1")]),
            }],
        ),
        ("80098\r\n", vec![state("dsc/panel/battery_trouble", true)]),
        ("80199\r\n", vec![state("dsc/panel/battery_trouble", false)]),
        ("8029A\r\n", vec![state("dsc/panel/ac_trouble", true)]),
        ("8039B\r\n", vec![state("dsc/panel/ac_trouble", false)]),
        (
            "50004029\r\n",
            vec![Outcome::Ack {
                key: Some("040".into()),
            }],
        ),
        (
            "50196\r\n",
            vec![Outcome::Nak {
                key: None,
                reason: None,
            }],
        ),
        (
            "5020212A\r\n",
            vec![Outcome::Nak {
                key: None,
                reason: Some("021".into()),
            }],
        ),
    ];
    for (frame, expected) in &cases {
        let decoded = decoder.push(frame.as_bytes());
        assert_eq!(decoded.len(), 1, "{frame:?}");
        assert_eq!(matched(&decoded[0]), expected.as_slice(), "{frame:?}");
    }
    let c = decoder.counters();
    assert_eq!(
        (c.frames, c.bad_checksum, c.unmatched),
        (cases.len() as u64, 0, 0)
    );
}

#[test]
fn line_it100_bad_checksum_and_unknown_commands_are_counted_not_events() {
    let mut decoder = Decoder::new(&it100());
    // A wrong checksum, a frame no rule knows (908 software version), a zone open split
    // across reads with line noise before it.
    let mut got = decoder.push(b"60900131\r\n908010000C2\r");
    got.extend(decoder.push(b"\n\x00\x7f6090"));
    got.extend(decoder.push(b"0130\r\n"));
    assert_eq!(got.len(), 3);
    assert!(matches!(
        &got[0],
        Decoded::BadChecksum {
            error: ChecksumError::Mismatch {
                found: 0x31,
                computed: 0x30
            },
            ..
        }
    ));
    assert!(matches!(
        &got[1],
        Decoded::Unmatched { message, why: None } if message == b"908010000"
    ));
    // Noise glued to a line makes its checksum fail: the frame is lost, not misread.
    assert!(matches!(&got[2], Decoded::BadChecksum { .. }));
    if let Decoded::BadChecksum { body, .. } = &got[2] {
        assert_eq!(crate::line::show(body), "\\x00\\x7f60900130");
    }
    assert!(!got[0].is_sign_of_life() && got[1].is_sign_of_life());
    let c = decoder.counters();
    assert_eq!((c.frames, c.bad_checksum, c.unmatched), (3, 2, 1));
    // After the noise, the stream is in step again.
    assert_eq!(
        matched(&decoder.push(b"60900130\r\n")[0]),
        [state("dsc/zone/001", true)]
    );
}

#[test]
fn line_it100_commands_render_exact_bytes() {
    let p = it100();
    let params = |pairs: &[(&str, &str)]| -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    // 040 disarm, partition 1, 4-digit code 1234 sent as 123400: sum = 0x2EF → "EF".
    assert_eq!(
        p.render("disarm", &params(&[("partition", "1"), ("code", "1234")]))
            .unwrap(),
        b"0401123400EF\r\n"
    );
    assert_eq!(
        p.render("disarm", &params(&[("partition", "1"), ("code", "123400")]))
            .unwrap(),
        b"0401123400EF\r\n"
    );
    assert_eq!(
        p.render("arm_away", &params(&[("partition", "1")]))
            .unwrap(),
        b"0301C4\r\n"
    );
    assert_eq!(p.render("poll", &Params::new()).unwrap(), b"00090\r\n");
    // Refusals: a missing parameter, a code too long, an unknown command.
    assert!(p.render("disarm", &params(&[("partition", "1")])).is_err());
    assert!(
        p.render(
            "disarm",
            &params(&[("partition", "1"), ("code", "1234567")])
        )
        .is_err()
    );
    assert!(p.render("bypass", &Params::new()).is_err());
    // A rendered command decodes back (the panel would check the same checksum).
    let mut decoder = Decoder::new(&p);
    assert!(matches!(
        &decoder.push(b"0401123400EF\r\n")[0],
        Decoded::Unmatched { message, why: None } if message == b"0401123400"
    ));
}

#[test]
fn line_it100_acknowledgements_answer_their_command() {
    let p = it100();
    let disarm = p.command("disarm").unwrap();
    let mut params = Params::new();
    params.insert("partition".into(), "1".into());
    params.insert("code".into(), "1234".into());
    let key = disarm.ack_key(&params).unwrap();
    assert_eq!(key.as_deref(), Some("040"));
    let mut decoder = Decoder::new(&p);
    let ack_of = |frame: &str, decoder: &mut Decoder| {
        let decoded = decoder.push(frame.as_bytes());
        answers(key.as_deref(), &matched(&decoded[0])[0])
    };
    assert_eq!(ack_of("50004029\r\n", &mut decoder), Some(Ok(())));
    assert_eq!(
        ack_of("50003028\r\n", &mut decoder),
        None,
        "ack of another command"
    );
    assert_eq!(
        ack_of("50196\r\n", &mut decoder),
        Some(Err("refused".into()))
    );
    assert_eq!(
        ack_of("5020242D\r\n", &mut decoder),
        Some(Err("024".into()))
    );
    assert_eq!(ack_of("60900130\r\n", &mut decoder), None);
    assert_eq!(
        p.supervision.as_ref().unwrap().command.as_deref(),
        Some("poll")
    );
}
