//! The bus task against an in-process tokio-modbus RTU device on a pseudo-terminal pair: units
//! 5 and 6 answer, unit 7 never does.

use std::future;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::time::Instant;
use tokio_modbus::server::Service;
use tokio_modbus::{ExceptionCode, Response, SlaveRequest};

use super::*;

/// Every request the device saw: (unit, when).
type Seen = Arc<Mutex<Vec<(u8, Instant)>>>;

/// Units 5 and 6 hold `unit × 100` in HR0 and acknowledge coil writes; others are silent.
#[derive(Clone)]
struct Device {
    seen: Seen,
}

impl Service for Device {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = future::Ready<Result<Option<Response>, ExceptionCode>>;

    fn call(&self, req: SlaveRequest<'static>) -> Self::Future {
        self.seen.lock().push((req.slave, Instant::now()));
        let answer = match (req.slave, req.request) {
            (5 | 6, Request::ReadHoldingRegisters(0, 1)) => {
                Ok(Some(Response::ReadHoldingRegisters(vec![
                    u16::from(req.slave) * 100,
                ])))
            }
            (5 | 6, Request::WriteSingleCoil(a, v)) => Ok(Some(Response::WriteSingleCoil(a, v))),
            (5 | 6, _) => Err(ExceptionCode::IllegalDataAddress),
            _ => Ok(None),
        };
        future::ready(answer)
    }
}

/// A bus on one end of a pty pair (the opener counts how often it is asked), the device on the
/// other end.
fn bus(gap: Duration) -> (BusTask, BusHandle, Seen, Arc<AtomicUsize>) {
    let (master, slave) = SerialStream::pair().expect("a pseudo-terminal pair");
    let seen = Seen::default();
    let device = Device { seen: seen.clone() };
    tokio::spawn(tokio_modbus::server::rtu::Server::new(slave).serve_forever(device));
    let opens = Arc::new(AtomicUsize::new(0));
    let mut master = Some(master);
    let counter = opens.clone();
    let opener: Opener = Box::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        master.take().ok_or_else(|| "the pty is gone".to_string())
    });
    let (task, handle) = BusTask::with_opener(PathBuf::from("/dev/test-pty"), gap, 5, opener);
    (task, handle, seen, opens)
}

const READ: Request<'static> = Request::ReadHoldingRegisters(0, 1);
const LIMIT: Duration = Duration::from_millis(300);

async fn read(handle: &BusHandle, unit: u8, limit: Duration) -> Result<Vec<u16>, String> {
    let stop = CancellationToken::new();
    match handle.exchange(unit, &READ, limit, &stop).await {
        Some(Ok(Call::Answer(Response::ReadHoldingRegisters(words)))) => Ok(words),
        Some(Ok(other)) => Err(format!("unexpected {other:?}")),
        Some(Err(e)) => Err(e),
        None => Err("stopped".into()),
    }
}

#[test]
fn writes_go_first_then_units_take_turns() {
    // Nothing pending: no turn.
    assert_eq!(next_turn(std::iter::empty(), None), None);
    // Round-robin after the unit served last, wrapping around.
    let reads = [(5, false), (6, false), (7, false)];
    assert_eq!(next_turn(reads.into_iter(), None), Some(0));
    assert_eq!(next_turn(reads.into_iter(), Some(5)), Some(1));
    assert_eq!(next_turn(reads.into_iter(), Some(6)), Some(2));
    assert_eq!(next_turn(reads.into_iter(), Some(7)), Some(0));
    // The unit served last waits for the others, even if it asked first.
    assert_eq!(
        next_turn([(6, false), (5, false)].into_iter(), Some(6)),
        Some(1)
    );
    // A write of any unit before every read.
    assert_eq!(
        next_turn([(6, false), (7, false), (5, true)].into_iter(), Some(5)),
        Some(2)
    );
    // Two writes: round-robin between them too.
    assert_eq!(
        next_turn([(5, true), (6, true)].into_iter(), Some(5)),
        Some(1)
    );
    // The same unit twice: the older first.
    assert_eq!(
        next_turn([(5, false), (5, false)].into_iter(), None),
        Some(0)
    );
}

#[tokio::test]
async fn a_silent_unit_fails_alone_and_the_port_stays_open() {
    let (task, handle, seen, opens) = bus(Duration::from_millis(2));
    let running = tokio::spawn(task.run());
    assert_eq!(read(&handle, 5, LIMIT).await, Ok(vec![500]));
    assert_eq!(read(&handle, 6, LIMIT).await, Ok(vec![600]));
    let e = read(&handle, 7, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(e.contains("no response within 100 ms"), "{e}");
    // The others answer at once after it, on the same port.
    assert_eq!(read(&handle, 5, LIMIT).await, Ok(vec![500]));
    assert_eq!(read(&handle, 6, LIMIT).await, Ok(vec![600]));
    assert_eq!(opens.load(Ordering::SeqCst), 1, "the port was reopened");
    let units: Vec<u8> = seen.lock().iter().map(|&(u, _)| u).collect();
    assert_eq!(units, [5, 6, 7, 5, 6]);
    // An exception is an answer, not a failure.
    let stop = CancellationToken::new();
    let answer = handle
        .exchange(6, &Request::ReadInputRegisters(9, 1), LIMIT, &stop)
        .await;
    assert!(
        matches!(
            answer,
            Some(Ok(Call::Exception(ExceptionCode::IllegalDataAddress)))
        ),
        "{answer:?}"
    );
    // The task ends with its last handle.
    drop(handle);
    tokio::time::timeout(Duration::from_secs(2), running)
        .await
        .expect("the bus task ended")
        .unwrap();
}

#[tokio::test]
async fn frames_of_all_units_keep_the_gap_and_alternate() {
    let gap = Duration::from_millis(15);
    let (task, handle, seen, _) = bus(gap);
    tokio::spawn(task.run());
    let poll = |unit: u8| {
        let handle = handle.clone();
        tokio::spawn(async move {
            for _ in 0..6 {
                assert_eq!(
                    read(&handle, unit, LIMIT).await,
                    Ok(vec![u16::from(unit) * 100])
                );
            }
        })
    };
    let (a, b) = (poll(5), poll(6));
    a.await.unwrap();
    b.await.unwrap();
    let seen = seen.lock().clone();
    assert_eq!(seen.len(), 12);
    for pair in seen.windows(2) {
        let [(_, t0), (_, t1)] = pair else { continue };
        assert!(
            t1.duration_since(*t0) >= gap,
            "frames {:?} apart, the gap is {gap:?}",
            t1.duration_since(*t0)
        );
    }
    // Both pollers always had a request pending: they take turns.
    let units: Vec<u8> = seen.iter().map(|&(u, _)| u).collect();
    for pair in units.windows(2).skip(1) {
        assert_ne!(
            pair[0], pair[1],
            "one unit served twice in a row: {units:?}"
        );
    }
}

#[tokio::test]
async fn a_write_waits_for_no_read() {
    let (task, handle, seen, _) = bus(Duration::from_millis(30));
    tokio::spawn(task.run());
    // Prime the bus so the next turn starts with a gap, during which three requests queue.
    assert_eq!(read(&handle, 5, LIMIT).await, Ok(vec![500]));
    let stop = CancellationToken::new();
    let write = Request::WriteSingleCoil(1, true);
    let (r5, r6, w6) = tokio::join!(
        read(&handle, 5, LIMIT),
        read(&handle, 6, LIMIT),
        handle.exchange(6, &write, LIMIT, &stop)
    );
    assert_eq!(r5, Ok(vec![500]));
    assert_eq!(r6, Ok(vec![600]));
    assert!(matches!(w6, Some(Ok(Call::Answer(_)))), "{w6:?}");
    let units: Vec<u8> = seen.lock().iter().map(|&(u, _)| u).collect();
    // The write (unit 6) first; then round-robin after 6: unit 5, then 6.
    assert_eq!(units, [5, 6, 5, 6]);
}

#[tokio::test]
async fn a_port_that_cannot_open_fails_the_exchange_with_the_reason() {
    let opener: Opener = Box::new(|| Err("open /dev/ttyGONE: No such file or directory".into()));
    let (task, handle) =
        BusTask::with_opener(PathBuf::from("/dev/ttyGONE"), Duration::ZERO, 1, opener);
    tokio::spawn(task.run());
    let e = read(&handle, 1, LIMIT).await.unwrap_err();
    assert!(e.contains("/dev/ttyGONE"), "{e}");
}

#[tokio::test]
async fn a_stopped_requester_is_not_waited_for() {
    let (task, handle, _, _) = bus(Duration::ZERO);
    tokio::spawn(task.run());
    let stop = CancellationToken::new();
    let silent = {
        let handle = handle.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            handle
                .exchange(7, &READ, Duration::from_secs(30), &stop)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.cancel();
    assert!(silent.await.unwrap().is_none());
    // The bus abandoned unit 7's 30 s wait: unit 5 is answered at once.
    let started = Instant::now();
    assert_eq!(read(&handle, 5, LIMIT).await, Ok(vec![500]));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn controllers_on_one_device_share_one_bus() {
    let rtu = |name: &str, unit: u8, device: &str, delay_ms: u64| {
        let transport = Transport::Rtu {
            device: PathBuf::from(device),
            line: crate::serial::LineSettings {
                baud: 19200,
                parity: super::super::Parity::Even,
                data_bits: 8,
                stop_bits: 1,
                rs485: Default::default(),
            },
        };
        let mut config = ModbusConfig::new(name, transport, unit);
        config.inter_frame_delay = Duration::from_millis(delay_ms);
        config
    };
    let mut buses = Buses::new();
    let door = buses.adapter(rtu("door", 5, "/dev/ttyA", 0));
    let alarm = buses.adapter(rtu("alarm", 6, "/dev/ttyA", 10));
    let other = buses.adapter(rtu("other", 1, "/dev/ttyB", 0));
    let tcp = buses.adapter(ModbusConfig::new(
        "tcp",
        Transport::Tcp {
            host: "127.0.0.1".into(),
            port: 502,
        },
        1,
    ));
    assert!(door.bus.is_some() && alarm.bus.is_some() && other.bus.is_some());
    assert!(tcp.bus.is_none());
    let tasks = buses.into_tasks();
    let summary: Vec<(&Path, Duration, &[u8])> = tasks
        .iter()
        .map(|t| (t.device(), t.gap(), t.units.as_slice()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                Path::new("/dev/ttyA"),
                Duration::from_millis(10),
                &[5u8, 6][..]
            ),
            (Path::new("/dev/ttyB"), rtu_silence(19200), &[1u8][..]),
        ]
    );
}
