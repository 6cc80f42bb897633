//! The GPIO Wiegand adapter fed recorded edge sequences (adapters/tests/data/wiegand/*.txt)
//! through the same adapter code a GPIO chip drives; and a gpio-sim test that skips when
//! the machine has no gpio-sim.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use railgate_adapters::modbus::Backoff;
use railgate_adapters::wiegand::edges::FramerConfig;
use railgate_adapters::wiegand::{EdgeAdapter, EdgeConfig, Format, Recording, Recordings};
use railgate_adapters::{Adapter, AdapterEvent, AdapterIo, LinkState, PointId, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn recording(name: &str) -> Recording {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/wiegand")
        .join(name);
    Recording::parse(&std::fs::read_to_string(path).expect("recording")).expect("parses")
}

fn config(format: Format) -> EdgeConfig {
    EdgeConfig {
        name: "side".into(),
        reader: "Side".into(),
        format,
        framer: FramerConfig::default(),
        card: PointId("Side/card".into()),
        backoff: Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(50),
        },
    }
}

/// Runs the adapter over `recordings` and returns the events until the link went down after
/// the last one.
async fn play(format: Format, recordings: Vec<Recording>) -> Vec<AdapterEvent> {
    let adapter = EdgeAdapter::new(config(format), Recordings(VecDeque::from(recordings)));
    let (events, mut rx) = mpsc::channel(64);
    let (_commands, commands_rx) = mpsc::channel(4);
    let stop = CancellationToken::new();
    let task = tokio::spawn(adapter.run(
        AdapterIo {
            events,
            commands: commands_rx,
        },
        stop.clone(),
    ));
    let mut out = Vec::new();
    let mut downs = 0;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
        if let AdapterEvent::Link(l) = &e
            && l.state == LinkState::Down
        {
            downs += 1;
        }
        out.push(e);
        if downs >= 1
            && out
                .iter()
                .filter(|e| matches!(e, AdapterEvent::Link(_)))
                .count()
                >= 2
        {
            break;
        }
    }
    stop.cancel();
    task.await.expect("joins").expect("ends well");
    out
}

fn cards(events: &[AdapterEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            AdapterEvent::Point(p) => match &p.value {
                Value::Record(f) => Some((
                    f.get("FacilityCode").cloned().unwrap_or_default(),
                    f["CardNumber"].clone(),
                )),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_clean_recorded_read_becomes_a_card_record() {
    let events = play(Format::H10301, vec![recording("clean_h10301.txt")]).await;
    assert!(
        matches!(&events[0], AdapterEvent::Link(l) if l.state == LinkState::Up),
        "{events:?}"
    );
    assert_eq!(cards(&events), [("123".to_string(), "4567".to_string())]);
    assert!(matches!(events.last(), Some(AdapterEvent::Link(l)) if l.state == LinkState::Down));
}

#[tokio::test]
async fn back_to_back_reads_and_noise() {
    let events = play(Format::H10301, vec![recording("back_to_back.txt")]).await;
    assert_eq!(
        cards(&events),
        [
            ("1".to_string(), "556".to_string()),
            ("11".to_string(), "637".to_string())
        ]
    );
    let events = play(Format::H10301, vec![recording("noisy.txt")]).await;
    // The noise is dropped (counted, no event); the good read that follows decodes.
    assert_eq!(cards(&events).len(), 1, "{events:?}");
}

#[tokio::test]
async fn jittery_corporate_1000_read() {
    let events = play(
        Format::Corporate35,
        vec![recording("jitter_corporate35.txt")],
    )
    .await;
    assert_eq!(cards(&events), [("222".to_string(), "12345".to_string())]);
}

#[test]
fn gpio_sim_is_needed_for_a_real_chip() {
    if !Path::new("/sys/kernel/config/gpio-sim").exists() {
        eprintln!(
            "SKIPPED: /sys/kernel/config/gpio-sim is absent (no gpio-sim module, or configfs not mounted): the GPIO character-device source is not exercised on this machine"
        );
        return;
    }
    eprintln!(
        "gpio-sim is present, but the GPIO character-device source (gpiocdev) is not built yet: nothing to run"
    );
}

/// The seam's contract where it applies to an edge source: writes refused `NotWritable`, a
/// source that cannot be opened is one `Down`, and a stop while down (in backoff) returns
/// `Ok` within 1 s.
#[tokio::test]
async fn contract_writes_refused_and_stop_while_down() {
    use railgate_adapters::{Command, WriteError, WriteRequest};
    let adapter = EdgeAdapter::new(config(Format::H10301), Recordings::default());
    let (events, mut rx) = mpsc::channel(64);
    let (commands, commands_rx) = mpsc::channel(4);
    let stop = CancellationToken::new();
    let task = tokio::spawn(adapter.run(
        AdapterIo {
            events,
            commands: commands_rx,
        },
        stop.clone(),
    ));
    let first = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .expect("an event")
        .expect("open channel");
    assert!(
        matches!(first, AdapterEvent::Link(ref l) if l.state == LinkState::Down),
        "{first:?}"
    );
    let (req, answer) = WriteRequest::new(PointId("Side/card".into()), Value::Bool(true));
    commands.send(Command::Write(req)).await.expect("sent");
    let answered = tokio::time::timeout(Duration::from_secs(2), answer)
        .await
        .expect("answered")
        .expect("reply");
    assert!(
        matches!(answered, Err(WriteError::NotWritable(_))),
        "{answered:?}"
    );
    // Still down, one Down event only.
    tokio::time::sleep(Duration::from_millis(200)).await;
    while let Ok(e) = rx.try_recv() {
        assert!(
            !matches!(e, AdapterEvent::Link(_)),
            "a second link event: {e:?}"
        );
    }
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .expect("stops within 1 s")
        .expect("joins")
        .expect("Ok");
}
