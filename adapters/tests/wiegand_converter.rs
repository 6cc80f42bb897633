//! The serial Wiegand converter adapter on a real serial line: a socat pseudo-terminal pair,
//! the test writing the converter's lines on the far end. Card reads arrive as records; the
//! device node disappearing (socat killed: the USB converter pulled) takes the link down, and
//! its return at the same path brings it up again, without a restart.

mod support;

use std::io::Write;
use std::time::Duration;

use railgate_adapters::conformance::Running;
use railgate_adapters::modbus::Backoff;
use railgate_adapters::serial::LineSettings;
use railgate_adapters::wiegand::ascii::{AsciiConfig, Encoding};
use railgate_adapters::wiegand::{ConverterAdapter, ConverterConfig, Format, encode};
use railgate_adapters::{LinkState, PointId, Value};

use support::pty::PtyPair;

const SOON: Duration = Duration::from_secs(5);

/// Writes one converter line (hex, parity included) for `card` of facility `fc`.
fn print_card(device: &std::path::Path, fc: u32, card: u64) {
    let bits = encode(Format::H10301, Some(fc), card).expect("encodes");
    let mut port = std::fs::OpenOptions::new()
        .write(true)
        .open(device)
        .expect("the converter's end");
    writeln!(port, "{bits:x}\r").expect("written");
}

async fn read_card(running: &mut Running, device: &std::path::Path, fc: u32, card: u64) {
    // The adapter may still be opening its end: print until the read arrives.
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        print_card(device, fc, card);
        if let Ok(u) = running
            .wait_update(Duration::from_millis(300), |u| u.id.0 == "r1/card")
            .await
        {
            let Value::Record(fields) = &u.value else {
                panic!("not a record: {u:?}");
            };
            assert_eq!(fields["FacilityCode"], fc.to_string());
            assert_eq!(fields["CardNumber"], card.to_string());
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no card read in 5 s"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_reads_arrive_and_an_unplugged_converter_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut pty = PtyPair::start(dir.path()).await;
    let adapter = ConverterAdapter::new(ConverterConfig {
        name: "door1".into(),
        reader: "Reader1".into(),
        device: pty.a.clone(),
        line: LineSettings::eight_n_one(9600),
        ascii: AsciiConfig {
            encoding: Encoding::Hex,
            includes_parity: true,
            bits: 26,
        },
        format: Format::H10301,
        card: PointId("r1/card".into()),
        backoff: Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(400),
        },
    });
    let mut running = Running::start(adapter);
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    read_card(&mut running, &pty.b, 123, 4567).await;

    pty.unplug().await;
    let down = running.wait_link(LinkState::Down, SOON).await.unwrap();
    assert!(down.reason.is_some(), "{down:?}");
    // Reopening fails while the node is gone (retried with backoff, no event per attempt).
    running
        .expect_no_link_event(Duration::from_millis(600))
        .await
        .unwrap();

    pty.plug().await;
    running.wait_link(LinkState::Up, SOON).await.unwrap();
    read_card(&mut running, &pty.b, 45, 999).await;
    running.stop(Duration::from_secs(1)).await.unwrap();
}
