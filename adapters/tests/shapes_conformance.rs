//! The conformance suite for the two other adapter shapes, with the test-only adapters of
//! `railgate_adapters::conformance`: an unsolicited line stream (an alarm panel printing
//! lines, over an in-memory duplex stream) and an edge source (Wiegand and a door contact,
//! fed recorded edges). The same checks as the Modbus adapter's, where they apply.

use std::time::Duration;

use railgate_adapters::conformance::edge::{EdgeAdapter, EdgeConfig, EdgePeer};
use railgate_adapters::conformance::line::{LineAdapter, LineConfig, LinePeer, LinePoint};
use railgate_adapters::conformance::{self, Fixture, Running, Settings, Subject};
use railgate_adapters::modbus::Backoff;
use railgate_adapters::{LinkState, PointId, Quality, Value};

fn backoff() -> Backoff {
    Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(400),
    }
}

fn id(name: &str) -> PointId {
    PointId(format!("panel/{name}"))
}

struct LineSubject {
    peer: LinePeer,
    points: Vec<LinePoint>,
}

impl Subject for LineSubject {
    type Adapter = LineAdapter;

    /// Lines arrive when they arrive: there is no poll interval to apply.
    fn build(&self, _settings: &Settings) -> LineAdapter {
        let config = LineConfig {
            name: "line-panel".into(),
            points: self.points.clone(),
            backoff: backoff(),
        };
        LineAdapter::new(config, self.peer.dialer())
    }
}

/// An alarm panel on a line: two zones (inputs), a siren and a PGM (writable outputs).
fn line_panel() -> Fixture<LinePeer, LineSubject> {
    let layout = [
        ("zone1", false, false),
        ("zone2", false, false),
        ("siren", false, true),
        ("pgm1", true, true),
    ];
    let peer = LinePeer::new(&layout);
    let points: Vec<LinePoint> = layout
        .iter()
        .map(|&(name, _, writable)| LinePoint {
            id: id(name),
            name: name.into(),
            writable,
        })
        .collect();
    Fixture {
        subject: LineSubject {
            peer: peer.clone(),
            points: points.clone(),
        },
        peer,
        points: points.iter().map(|p| p.id.clone()).collect(),
        input: id("zone1"),
        outputs: vec![id("siren"), id("pgm1")],
        refused: None,
        poll_interval: Duration::from_millis(100),
        detect_within: Duration::from_millis(200),
        recover_within: Duration::from_millis(1000),
        slack: Duration::from_millis(500),
    }
}

struct EdgeSubject {
    peer: EdgePeer,
}

impl Subject for EdgeSubject {
    type Adapter = EdgeAdapter;

    fn build(&self, _settings: &Settings) -> EdgeAdapter {
        let config = EdgeConfig {
            name: "reader".into(),
            contact: id("door"),
            card: id("card"),
            backoff: backoff(),
        };
        EdgeAdapter::new(config, self.peer.opener())
    }
}

/// A Wiegand reader with a door contact: the contact is the one state point; the card point
/// is an event point (reported per read), so it is not among the fixture's points.
fn reader() -> Fixture<EdgePeer, EdgeSubject> {
    let peer = EdgePeer::new(id("door"));
    Fixture {
        subject: EdgeSubject { peer: peer.clone() },
        peer,
        points: vec![id("door")],
        input: id("door"),
        outputs: vec![],
        refused: None,
        poll_interval: Duration::from_millis(100),
        detect_within: Duration::from_millis(200),
        recover_within: Duration::from_millis(1000),
        slack: Duration::from_millis(500),
    }
}

macro_rules! conformance_tests {
    ($($name:ident: $fixture:expr => $check:path;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fx = $fixture;
                if let Err(failure) = $check(&fx).await {
                    panic!("{}: {failure}", stringify!($check));
                }
            }
        )*
    };
}

conformance_tests! {
    line_initial_readings: line_panel() => conformance::initial_readings;
    line_input_change_reported: line_panel() => conformance::input_change_reported;
    line_repeat_not_reported: line_panel() => conformance::repeat_not_reported;
    line_peer_loss: line_panel() => conformance::peer_loss;
    line_peer_return: line_panel() => conformance::peer_return;
    line_write_round_trip: line_panel() => conformance::write_round_trip;
    line_unknown_write_refused: line_panel() => conformance::unknown_write_refused;
    line_input_write_refused: line_panel() => conformance::input_write_refused;
    line_garbage_survived: line_panel() => conformance::garbage_survived;
    line_clean_stop: line_panel() => conformance::clean_stop;
    line_stop_while_down: line_panel() => conformance::stop_while_down;
    edge_initial_readings: reader() => conformance::initial_readings;
    edge_input_change_reported: reader() => conformance::input_change_reported;
    edge_repeat_not_reported: reader() => conformance::repeat_not_reported;
    edge_peer_loss: reader() => conformance::peer_loss;
    edge_peer_return: reader() => conformance::peer_return;
    edge_write_round_trip: reader() => conformance::write_round_trip;
    edge_unknown_write_refused: reader() => conformance::unknown_write_refused;
    edge_input_write_refused: reader() => conformance::input_write_refused;
    edge_garbage_survived: reader() => conformance::garbage_survived;
    edge_clean_stop: reader() => conformance::clean_stop;
    edge_stop_while_down: reader() => conformance::stop_while_down;
}

/// Beyond the suite: a card read is reported on every occurrence (the same card twice is two
/// reads), and survives garbage in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_card_reads_are_reported_each_time() {
    let fx = reader();
    let mut running = Running::start(fx.subject.build(&Settings {
        poll_interval: fx.poll_interval,
    }));
    running
        .wait_link(LinkState::Up, Duration::from_secs(2))
        .await
        .unwrap();
    let card = id("card");
    let expected = Value::Bytes(vec![12, 0x30, 0x39]);
    for round in 0..2 {
        fx.peer.present_card(12, 12345);
        let read = running
            .wait_update(Duration::from_secs(2), |u| u.id == card)
            .await
            .unwrap_or_else(|e| panic!("read {round}: {e}"));
        assert_eq!(
            (read.value, read.quality),
            (expected.clone(), Quality::Good)
        );
        use railgate_adapters::conformance::Peer;
        fx.peer.garbage().await.unwrap();
    }
    running.stop(Duration::from_secs(1)).await.unwrap();
}
