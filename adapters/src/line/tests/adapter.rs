//! The runtime adapter against a simulated IT-100 on the far end of a pseudo-terminal pair
//! (`tokio_serial::SerialStream::pair`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_serial::SerialStream;
use tokio_util::sync::CancellationToken;

use super::it100::it100;
use crate::adapter::{Adapter, AdapterIo, Command, WriteRequest};
use crate::event::{AdapterEvent, LinkState, WriteError};
use crate::line::adapter::{BoxedStream, LineAdapter, LineConfig, LineTransport, LineWrite};
use crate::line::{LineProtocol, Supervision};
use crate::modbus::Backoff;
use crate::point::{PointId, Quality, Value};

/// An IT-100 frame: message, checksum (8-bit sum as 2 uppercase hex digits), CR LF.
fn frame(message: &str) -> Vec<u8> {
    let sum = message.bytes().fold(0u8, |a, b| a.wrapping_add(b));
    format!("{message}{sum:02X}\r\n").into_bytes()
}

struct Rig {
    events: mpsc::Receiver<AdapterEvent>,
    commands: mpsc::Sender<Command>,
    panel_rx: BufReader<tokio::io::ReadHalf<SerialStream>>,
    panel_tx: tokio::io::WriteHalf<SerialStream>,
    stop: CancellationToken,
    stats: Arc<crate::stats::LinkStats>,
}

fn writes() -> Vec<LineWrite> {
    let params = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>()
    };
    vec![
        LineWrite {
            point: PointId("panel/arm/1".into()),
            value: Value::Bool(true),
            command: "arm_away".into(),
            params: params(&[("partition", "1")]),
        },
        LineWrite {
            point: PointId("panel/disarm/1".into()),
            value: Value::Bool(true),
            command: "disarm".into(),
            params: params(&[("partition", "1"), ("code", "1234")]),
        },
    ]
}

fn start(protocol: LineProtocol) -> Rig {
    let (adapter_end, panel_end) = SerialStream::pair().expect("pty pair");
    let slot = Arc::new(Mutex::new(Some(adapter_end)));
    let opener: crate::line::adapter::Opener = Arc::new(move || {
        let taken = slot.lock().take();
        Box::pin(async move {
            match taken {
                Some(s) => Ok(Box::new(s) as BoxedStream),
                None => Err(std::io::Error::other("the pty is gone")),
            }
        })
    });
    let config = LineConfig {
        name: "panel".into(),
        transport: LineTransport::Custom(opener),
        protocol,
        writes: writes(),
        inter_frame: Duration::from_millis(5),
        backoff: Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(100),
        },
        on_connect: Vec::new(),
    };
    let (events_tx, events) = mpsc::channel(64);
    let (commands, commands_rx) = mpsc::channel(8);
    let stop = CancellationToken::new();
    let io = AdapterIo {
        events: events_tx,
        commands: commands_rx,
    };
    let adapter = LineAdapter::new(config);
    let stats = adapter.stats();
    tokio::spawn(adapter.run(io, stop.clone()));
    let (rx, tx) = tokio::io::split(panel_end);
    Rig {
        events,
        commands,
        panel_rx: BufReader::new(rx),
        panel_tx: tx,
        stop,
        stats,
    }
}

impl Rig {
    async fn send(&mut self, bytes: &[u8]) {
        self.panel_tx.write_all(bytes).await.unwrap();
        self.panel_tx.flush().await.unwrap();
    }

    /// The next frame the adapter sent that is not a poll.
    async fn received(&mut self) -> String {
        loop {
            let mut line = String::new();
            tokio::time::timeout(Duration::from_secs(3), self.panel_rx.read_line(&mut line))
                .await
                .expect("a frame from the adapter")
                .unwrap();
            if line != "00090\r\n" {
                return line;
            }
        }
    }

    async fn event(&mut self) -> AdapterEvent {
        tokio::time::timeout(Duration::from_secs(3), self.events.recv())
            .await
            .expect("an adapter event")
            .expect("the adapter runs")
    }

    async fn link(&mut self, want: LinkState) {
        loop {
            if let AdapterEvent::Link(l) = self.event().await {
                assert_eq!(l.state, want, "{l:?}");
                return;
            }
        }
    }

    async fn write(&self, point: &str) -> tokio::sync::oneshot::Receiver<Result<(), WriteError>> {
        let (req, answer) = WriteRequest::new(PointId(point.into()), Value::Bool(true));
        self.commands.send(Command::Write(req)).await.unwrap();
        answer
    }
}

async fn answer(
    answer: tokio::sync::oneshot::Receiver<Result<(), WriteError>>,
) -> Result<(), WriteError> {
    tokio::time::timeout(Duration::from_secs(5), answer)
        .await
        .expect("an answer")
        .expect("answered")
}

#[tokio::test]
async fn zones_become_inputs_and_bad_frames_are_dropped() {
    let mut rig = start(it100());
    // Polled at once; the link is up once the panel answers.
    assert_eq!(rig.panel_rx_poll().await, "00090\r\n");
    rig.send(&frame("500000")).await;
    rig.link(LinkState::Up).await;
    rig.send(b"60900399\r\n").await; // bad checksum
    rig.send(&frame("999")).await; // unmatched
    rig.send(&frame("609003")).await;
    match rig.event().await {
        AdapterEvent::Point(u) => {
            assert_eq!(u.id, PointId("dsc/zone/003".into()));
            assert_eq!(u.value, Value::Bool(true));
            assert_eq!(u.quality, Quality::Good);
        }
        other => panic!("{other:?}"),
    }
    // A repeat is not reported; the restore is.
    rig.send(&frame("609003")).await;
    rig.send(&frame("610003")).await;
    match rig.event().await {
        AdapterEvent::Point(u) => assert_eq!(u.value, Value::Bool(false)),
        other => panic!("{other:?}"),
    }
    rig.stop.cancel();
}

impl Rig {
    async fn panel_rx_poll(&mut self) -> String {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(3), self.panel_rx.read_line(&mut line))
            .await
            .expect("a poll")
            .unwrap();
        line
    }

    async fn up(&mut self) {
        assert_eq!(self.panel_rx_poll().await, "00090\r\n");
        self.send(&frame("500000")).await;
        self.link(LinkState::Up).await;
    }
}

#[tokio::test]
async fn arm_and_disarm_write_exact_frames_and_honour_errors() {
    let mut rig = start(it100());
    rig.up().await;
    // The supervision poll sent at connect is a request too.
    let before = rig.stats.snapshot();
    let arm = rig.write("panel/arm/1").await;
    assert_eq!(rig.received().await, "0301C4\r\n");
    rig.send(&frame("500030")).await;
    assert_eq!(answer(arm).await, Ok(()));

    let disarm = rig.write("panel/disarm/1").await;
    let sent = rig.received().await;
    assert_eq!(sent.as_bytes(), frame("0401123400"));
    rig.send(&frame("502020")).await;
    assert_eq!(answer(disarm).await, Err(WriteError::Refused("020".into())));

    let disarm = rig.write("panel/disarm/1").await;
    rig.received().await;
    rig.send(&frame("501")).await;
    assert!(matches!(answer(disarm).await, Err(WriteError::Refused(_))));

    let unknown = rig.write("dsc/zone/001").await;
    assert!(matches!(
        answer(unknown).await,
        Err(WriteError::NotWritable(_))
    ));
    // Three commands sent (the unknown one never was), two refused.
    let counted = rig.stats.snapshot();
    assert_eq!(
        (
            counted.requests - before.requests,
            counted.failures,
            counted.timeouts,
            counted.retries
        ),
        (3, 2, 0, 0)
    );
    rig.stop.cancel();
}

#[tokio::test]
async fn an_unanswered_command_fails_in_time() {
    let mut protocol = it100();
    for c in &mut protocol.commands {
        if let Some(ack) = &mut c.ack {
            ack.timeout = Duration::from_millis(200);
        }
    }
    let mut rig = start(protocol);
    rig.up().await;
    let before = rig.stats.snapshot();
    let arm = rig.write("panel/arm/1").await;
    rig.received().await;
    assert!(matches!(answer(arm).await, Err(WriteError::LinkDown(_))));
    let counted = rig.stats.snapshot();
    assert_eq!(
        (
            counted.requests - before.requests,
            counted.timeouts,
            counted.failures
        ),
        (1, 1, 1)
    );
    rig.stop.cancel();
}

#[tokio::test]
async fn a_late_acknowledgement_is_never_taken_for_the_next_command() {
    let mut protocol = it100();
    for c in &mut protocol.commands {
        if let Some(ack) = &mut c.ack {
            ack.timeout = Duration::from_millis(300);
        }
    }
    let mut rig = start(protocol);
    rig.up().await;
    // The first arm times out; the next is asked for at once.
    let first = rig.write("panel/arm/1").await;
    assert_eq!(rig.received().await, "0301C4\r\n");
    assert!(matches!(answer(first).await, Err(WriteError::LinkDown(_))));
    let second = rig.write("panel/arm/1").await;
    // The panel's late 500 for the first arrives: it answers the first, not the second,
    // which is only sent now, and refused.
    tokio::time::sleep(Duration::from_millis(50)).await;
    rig.send(&frame("500030")).await;
    assert_eq!(rig.received().await, "0301C4\r\n");
    rig.send(&frame("501")).await;
    assert!(
        matches!(answer(second).await, Err(WriteError::Refused(_))),
        "the late acknowledgement was taken for the second command"
    );
    // A timed-out command whose answer never comes holds the line for one more timeout only.
    let third = rig.write("panel/arm/1").await;
    rig.received().await;
    assert!(matches!(answer(third).await, Err(WriteError::LinkDown(_))));
    let started = tokio::time::Instant::now();
    let fourth = rig.write("panel/arm/1").await;
    rig.received().await;
    let held = started.elapsed();
    assert!(held >= Duration::from_millis(250), "sent after {held:?}");
    rig.send(&frame("500030")).await;
    assert_eq!(answer(fourth).await, Ok(()));
    rig.stop.cancel();
}

#[tokio::test]
async fn silence_takes_the_link_down_and_stales_inputs() {
    let mut protocol = it100();
    protocol.supervision = Some(Supervision {
        command: Some("poll".into()),
        every: Duration::from_millis(100),
        silence: Duration::from_millis(400),
    });
    let mut rig = start(protocol);
    rig.up().await;
    rig.send(&frame("609001")).await;
    assert!(matches!(rig.event().await, AdapterEvent::Point(_)));
    // The panel says nothing more: down, and the zone goes stale.
    rig.link(LinkState::Down).await;
    match rig.event().await {
        AdapterEvent::Point(u) => assert_eq!(u.quality, Quality::Stale),
        other => panic!("{other:?}"),
    }
    rig.stop.cancel();
}

/// CPU time (user + system) of this process so far, from `/proc/self/stat` (clock ticks at
/// the usual 100 Hz).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// The benchmark of item 7: IT-100 zone frames blasted through a pty pair, every one a state
/// change (609/610 alternating over 64 zones), until all are reported. Prints frames/s as a
/// ratio of what a 115,200-baud 8N1 line can carry, and the process's CPU per 1,000 frames
/// (the peer writing in the same process included). Run with
/// `cargo nextest run -p railgate-adapters --run-ignored only -E 'test(line_throughput)' --no-capture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run on its own"]
async fn line_throughput() {
    const FRAMES: usize = 200_000;
    let mut rig = start(it100());
    rig.up().await;
    let mut data = Vec::new();
    let mut frame_len = 0;
    for i in 0..FRAMES {
        let zone = i % 64 + 1;
        let command = if (i / 64) % 2 == 0 { "609" } else { "610" };
        let f = frame(&format!("{command}{zone:03}"));
        frame_len = f.len();
        data.extend_from_slice(&f);
    }
    let cpu0 = cpu_seconds();
    let t0 = std::time::Instant::now();
    let writer = {
        let mut tx = rig.panel_tx;
        tokio::spawn(async move {
            for chunk in data.chunks(4096) {
                tx.write_all(chunk).await.unwrap();
            }
            tx
        })
    };
    let mut seen = 0;
    while seen < FRAMES {
        match tokio::time::timeout(Duration::from_secs(10), rig.events.recv()).await {
            Ok(Some(AdapterEvent::Point(_))) => seen += 1,
            Ok(Some(_)) => {}
            other => panic!("after {seen} frames: {other:?}"),
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let _ = writer.await;
    let fps = FRAMES as f64 / wall;
    // 8N1: 10 bits on the line per byte.
    let line_fps = 115_200.0 / 10.0 / frame_len as f64;
    println!(
        "line adapter: {FRAMES} frames of {frame_len} bytes in {wall:.3} s = {fps:.0} frames/s = {:.1}x a 115200-baud line ({line_fps:.0} frames/s); CPU {:.1} ms per 1000 frames ({:.3} of one core while a 115200 line is saturated)",
        fps / line_fps,
        cpu * 1000.0 / (FRAMES as f64 / 1000.0),
        cpu / FRAMES as f64 * line_fps,
    );
    rig.stop.cancel();
}
