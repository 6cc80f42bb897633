//! The binary path of line controllers end to end: a mapping (a site file and a site-local
//! protocol profile, `line_binary/binary-example.yaml`: start/length/end framing, CRC-16)
//! compiled by the real loader, the gateway's adapter for its `Link::Line`, and a peer on a
//! TCP socket sending and checking frames byte for byte.

use std::time::Duration;

use railgate_adapters::line::LineAdapter;
use railgate_adapters::{
    Adapter, AdapterEvent, AdapterIo, Command, LinkState, PointId, Value, WriteError, WriteRequest,
};
use railgate_mappings::plan::Link;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// CRC-16/Modbus, written out (independent of the adapter's `crc` crate).
fn crc16_modbus(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in bytes {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// `02 LEN payload CRClo CRChi 03`.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut body = vec![u8::try_from(payload.len()).unwrap()];
    body.extend_from_slice(payload);
    let crc = crc16_modbus(&body);
    let mut out = vec![0x02];
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc.to_le_bytes());
    out.push(0x03);
    out
}

async fn event(events: &mut mpsc::Receiver<AdapterEvent>) -> AdapterEvent {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("an event")
        .expect("running")
}

#[tokio::test]
async fn a_binary_line_protocol_from_the_mapping_runs_end_to_end() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("profiles")).unwrap();
    std::fs::write(
        dir.path().join("profiles/binary-example.yaml"),
        include_str!("line_binary/binary-example.yaml"),
    )
    .unwrap();
    let site = dir.path().join("site.yaml");
    std::fs::write(
        &site,
        format!(
            "line_controllers:\n  - name: bin\n    tcp: {{host: 127.0.0.1, port: {port}}}\n    protocol: binary-example\n    inter_frame: 0ms\n    inputs: [{{token: In5, point: bin/input/5}}]\n    relays:\n      - {{token: R2, on: {{send: relay, params: {{relay: \"2\", state: \"1\"}}}}, off: {{send: relay, params: {{relay: \"2\", state: \"0\"}}}}}}\n"
        ),
    )
    .unwrap();
    let plan = railgate_mappings::load_file(&site).unwrap_or_else(|d| panic!("{d}"));
    let Link::Line(link) = &plan.controllers[0].link else {
        panic!("not a line link")
    };
    assert_eq!(plan.relays[0].token, "R2");
    let relay = plan.relays[0].write.clone();

    let (events_tx, mut events) = mpsc::channel(64);
    let (commands, commands_rx) = mpsc::channel(8);
    let stop = CancellationToken::new();
    let adapter = LineAdapter::from_link((**link).clone());
    tokio::spawn(adapter.run(
        AdapterIo {
            events: events_tx,
            commands: commands_rx,
        },
        stop.clone(),
    ));
    let (mut peer, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .unwrap()
        .unwrap();
    match event(&mut events).await {
        AdapterEvent::Link(l) => assert_eq!(l.state, LinkState::Up),
        other => panic!("{other:?}"),
    }

    // Garbage, a bad CRC, then an input change, a reading and an alarm.
    peer.write_all(&[0xFF, 0x00, 0x02, 0x02, 0x10, 0x05, 0x00, 0x00, 0x03])
        .await
        .unwrap();
    peer.write_all(&frame(&[0x10, 0x05, 0x01])).await.unwrap();
    peer.write_all(&frame(&[0x11, 0x00, 0xFA])).await.unwrap();
    peer.write_all(&frame(&[0x20, 0x02, 0x03])).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        match event(&mut events).await {
            AdapterEvent::Point(u) => got.push((u.id, u.value)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got[0], (PointId("bin/input/5".into()), Value::Bool(true)));
    assert_eq!(got[1], (PointId("bin/reading".into()), Value::U16(250)));
    assert_eq!(
        got[2],
        (
            PointId("bin/alarm".into()),
            Value::Record(
                [
                    ("area".to_string(), "3".to_string()),
                    ("code".to_string(), "2".to_string())
                ]
                .into()
            )
        )
    );

    // A relay write: the exact frame; acknowledged, then refused.
    for (answer, want) in [
        (frame(&[0x06, 0x40]), Ok(())),
        (
            frame(&[0x15, 0x40, 0x07]),
            Err(WriteError::Refused("7".into())),
        ),
    ] {
        let (req, reply) = WriteRequest::new(relay.clone(), Value::Bool(true));
        commands.send(Command::Write(req)).await.unwrap();
        let expected = frame(&[0x40, 0x02, 0x01]);
        let mut sent = vec![0u8; expected.len()];
        tokio::time::timeout(Duration::from_secs(5), peer.read_exact(&mut sent))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sent, expected);
        peer.write_all(&answer).await.unwrap();
        let result = tokio::time::timeout(Duration::from_secs(5), reply)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(result, want);
    }
    stop.cancel();
}
