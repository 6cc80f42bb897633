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

/// An adapter running on its own task, with the ends of its channels.
struct Running {
    rx: mpsc::Receiver<AdapterEvent>,
    commands: mpsc::Sender<railgate_adapters::Command>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), railgate_adapters::AdapterError>>,
}

impl Running {
    fn start(adapter: impl Adapter) -> Running {
        let (events, rx) = mpsc::channel(64);
        let (commands, commands_rx) = mpsc::channel(4);
        let stop = CancellationToken::new();
        let task = tokio::spawn(adapter.run(
            AdapterIo {
                events,
                commands: commands_rx,
            },
            stop.clone(),
        ));
        Running {
            rx,
            commands,
            stop,
            task,
        }
    }
}

/// Runs the adapter over `recordings` and returns the events until the link went down after
/// the last one.
async fn play(format: Format, recordings: Vec<Recording>) -> Vec<AdapterEvent> {
    let adapter = EdgeAdapter::new(config(format), Recordings(VecDeque::from(recordings)));
    let Running {
        mut rx, stop, task, ..
    } = Running::start(adapter);
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

/// A gpio-sim chip of two lines (D0, D1) made through configfs, removed on drop; its lines'
/// levels are driven through sysfs (`pull-up` idle, `pull-down` a Wiegand pulse).
struct SimChip {
    dir: std::path::PathBuf,
    chip: std::path::PathBuf,
    lines: std::path::PathBuf,
}

impl SimChip {
    fn create() -> std::io::Result<SimChip> {
        let dir = Path::new("/sys/kernel/config/gpio-sim")
            .join(format!("railgate-{}", std::process::id()));
        std::fs::create_dir(&dir)?;
        std::fs::create_dir(dir.join("bank0"))?;
        std::fs::write(dir.join("bank0/num_lines"), "2")?;
        std::fs::write(dir.join("live"), "1")?;
        let dev = std::fs::read_to_string(dir.join("dev_name"))?
            .trim()
            .to_string();
        let name = std::fs::read_to_string(dir.join("bank0/chip_name"))?
            .trim()
            .to_string();
        let sim = SimChip {
            chip: Path::new("/dev").join(&name),
            lines: Path::new("/sys/devices/platform").join(dev).join(name),
            dir,
        };
        for line in [0, 1] {
            sim.level(line, true)?;
        }
        Ok(sim)
    }

    fn level(&self, line: u32, high: bool) -> std::io::Result<()> {
        let pull = if high { "pull-up" } else { "pull-down" };
        std::fs::write(self.lines.join(format!("sim_gpio{line}/pull")), pull)
    }

    /// Sends `bits` as a Wiegand reader does: a ~1 ms low pulse on D0 (0) or D1 (1) per bit,
    /// 2 ms apart.
    async fn send(&self, bits: &railgate_adapters::wiegand::Bits) -> std::io::Result<()> {
        for i in 0..bits.len() {
            let line = u32::from(bits.bit(i).unwrap_or(false));
            self.level(line, false)?;
            tokio::time::sleep(Duration::from_millis(1)).await;
            self.level(line, true)?;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }
}

impl Drop for SimChip {
    fn drop(&mut self) {
        let _ = std::fs::write(self.dir.join("live"), "0");
        let _ = std::fs::remove_dir(self.dir.join("bank0"));
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// On a kernel with gpio-sim: a simulated chip's D0/D1 lines, read by the real GPIO source
/// (gpiocdev, kernel timestamps), carry a card read to a record. Skipped, saying so, where
/// the machine has no gpio-sim (this one has none).
#[tokio::test]
async fn a_card_read_on_a_gpio_sim_chip_becomes_a_card_record() {
    if !Path::new("/sys/kernel/config/gpio-sim").exists() {
        eprintln!(
            "SKIPPED: /sys/kernel/config/gpio-sim is absent (no gpio-sim module, or configfs not mounted): the GPIO character-device source is exercised with recorded edges only on this machine"
        );
        return;
    }
    let sim = match SimChip::create() {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!(
                "SKIPPED: gpio-sim is present but a chip cannot be made here ({e}; root is needed)"
            );
            return;
        }
    };
    let source = railgate_adapters::wiegand::GpioEdges {
        chip: sim.chip.clone(),
        d0: 0,
        d1: 1,
        consumer: "railgate-test".into(),
    };
    let adapter = EdgeAdapter::new(config(Format::H10301), source);
    let Running {
        mut rx, stop, task, ..
    } = Running::start(adapter);
    let up = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an event");
    assert!(
        matches!(&up, Some(AdapterEvent::Link(l)) if l.state == LinkState::Up),
        "{up:?}"
    );
    let bits = railgate_adapters::wiegand::encode(Format::H10301, Some(123), 4567).unwrap();
    sim.send(&bits).await.unwrap();
    let mut seen = Vec::new();
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(2), rx.recv()).await {
        seen.push(e);
        if !cards(&seen).is_empty() {
            break;
        }
    }
    assert_eq!(
        cards(&seen),
        [("123".to_string(), "4567".to_string())],
        "{seen:?}"
    );
    stop.cancel();
    task.await.expect("joins").expect("ends well");
}

/// The seam's contract where it applies to an edge source: writes refused `NotWritable`, a
/// source that cannot be opened is one `Down`, and a stop while down (in backoff) returns
/// `Ok` within 1 s.
#[tokio::test]
async fn contract_writes_refused_and_stop_while_down() {
    use railgate_adapters::{Command, WriteError, WriteRequest};
    let adapter = EdgeAdapter::new(config(Format::H10301), Recordings::default());
    let Running {
        mut rx,
        commands,
        stop,
        task,
    } = Running::start(adapter);
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
