//! The exchange rules and the port task, on an in-process pseudo-terminal pair: the test plays
//! the serial device on the other end.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::modbus::Parity;

const LINE: LineSettings = LineSettings {
    baud: 9600,
    parity: Parity::None,
    data_bits: 8,
    stop_bits: 1,
    rs485: crate::serial::Rs485Mode::Keep,
};

fn pair() -> (SerialStream, SerialStream) {
    SerialStream::pair().expect("a pseudo-terminal pair")
}

fn x(data: &[u8], until: Until, wait_ms: u64) -> Exchange {
    Exchange {
        data: data.to_vec(),
        until,
        wait: Duration::from_millis(wait_ms),
    }
}

fn delimiter(d: &[u8]) -> Until {
    Until {
        length: None,
        delimiter: Some(d.to_vec()),
    }
}

fn length(n: usize) -> Until {
    Until {
        length: Some(n),
        delimiter: None,
    }
}

/// The device: reads `expect` bytes, then answers `answer` in pieces of `piece` bytes with a
/// pause between them.
fn device(mut peer: SerialStream, expect: usize, answer: &'static [u8], piece: usize) {
    tokio::spawn(async move {
        let mut got = vec![0u8; expect];
        peer.read_exact(&mut got).await.unwrap();
        for chunk in answer.chunks(piece) {
            peer.write_all(chunk).await.unwrap();
            peer.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Keep the pty open until the test ends.
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(peer);
    });
}

#[test]
fn the_end_conditions() {
    let d = delimiter(b"\r\n");
    assert_eq!(d.complete(b"OK\r", 0), None);
    assert_eq!(d.complete(b"OK\r\nmore", 3), Some(4));
    // A delimiter split across two reads is found.
    assert_eq!(d.complete(b"OK\r\n", 3), Some(4));
    // The multi-character delimiter is one: a lone \n does not end it.
    assert_eq!(d.complete(b"A\nB", 0), None);
    assert_eq!(length(3).complete(b"ab", 0), None);
    assert_eq!(length(3).complete(b"abcd", 0), Some(3));
    // Whichever comes first.
    let both = Until {
        length: Some(10),
        delimiter: Some(b";".to_vec()),
    };
    assert_eq!(both.complete(b"ab;cd", 0), Some(3));
    assert_eq!(both.complete(b"0123456789abc", 0), Some(10));
    assert!(!Until::default().is_set());
}

#[tokio::test]
async fn reads_until_the_delimiter_and_returns_it() {
    let (mut port, peer) = pair();
    device(peer, 4, b"VER 1.2\r\nTRAILING", 3);
    let answer = exchange(&mut port, &x(b"VER?", delimiter(b"\r\n"), 2000))
        .await
        .unwrap();
    assert_eq!(answer, b"VER 1.2\r\n");
}

#[tokio::test]
async fn reads_exactly_the_data_length() {
    let (mut port, peer) = pair();
    device(peer, 2, b"\x01\x02\x03\x04\x05\x06", 2);
    let started = Instant::now();
    let answer = exchange(&mut port, &x(b"\xAA\x55", length(5), 2000))
        .await
        .unwrap();
    assert_eq!(answer, b"\x01\x02\x03\x04\x05");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn answers_what_arrived_when_the_wait_is_over() {
    let (mut port, peer) = pair();
    device(peer, 1, b"partial", 7);
    let started = Instant::now();
    let answer = exchange(&mut port, &x(b"?", delimiter(b"\n"), 300))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(answer, b"partial");
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_silent_device_gives_no_data_at_the_wait() {
    let (mut port, _peer) = pair();
    let answer = exchange(&mut port, &x(b"hello", Until::default(), 200))
        .await
        .unwrap();
    assert!(answer.is_empty());
}

#[tokio::test]
async fn a_zero_wait_only_writes() {
    let (mut port, mut peer) = pair();
    let started = Instant::now();
    let answer = exchange(&mut port, &x(b"fire", Until::default(), 0))
        .await
        .unwrap();
    assert!(answer.is_empty());
    assert!(started.elapsed() < Duration::from_millis(100));
    let mut got = [0u8; 4];
    peer.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"fire");
}

/// A task on one end of a pair (the opener hands it out once, then fails).
fn task(port: SerialStream) -> (PortTask, PortHandle, Arc<AtomicUsize>) {
    let opens = Arc::new(AtomicUsize::new(0));
    let counter = opens.clone();
    let mut port = Some(port);
    let opener: Opener = Box::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        port.take().ok_or_else(|| "no such device".to_string())
    });
    let (task, handle) = PortTask::with_opener(PathBuf::from("/dev/test-pty"), LINE, opener);
    (task, handle, opens)
}

#[tokio::test]
async fn the_task_discards_stale_input_before_each_exchange() {
    let (port, mut peer) = pair();
    let (task, handle, _) = task(port);
    let stop = CancellationToken::new();
    tokio::spawn(task.run(stop.clone()));
    // A late answer to something earlier sits in the port.
    peer.write_all(b"STALE\n").await.unwrap();
    peer.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answering = tokio::spawn(async move {
        let mut got = [0u8; 3];
        peer.read_exact(&mut got).await.unwrap();
        peer.write_all(b"FRESH\n").await.unwrap();
        peer.flush().await.unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
    });
    let answer = handle
        .exchange(x(b"GET", delimiter(b"\n"), 2000))
        .await
        .unwrap();
    assert_eq!(answer, b"FRESH\n");
    stop.cancel();
    answering.abort();
}

#[tokio::test]
async fn the_task_serves_one_exchange_at_a_time() {
    let (port, mut peer) = pair();
    let (task, handle, _) = task(port);
    let stop = CancellationToken::new();
    tokio::spawn(task.run(stop.clone()));
    // The device echoes each command back, with a newline.
    tokio::spawn(async move {
        let mut buf = [0u8; 64];
        loop {
            let n = peer.read(&mut buf).await.unwrap();
            let mut answer = buf[..n].to_vec();
            answer.push(b'\n');
            peer.write_all(&answer).await.unwrap();
            peer.flush().await.unwrap();
        }
    });
    let (a, b) = tokio::join!(
        handle.exchange(x(b"first", delimiter(b"\n"), 2000)),
        handle.exchange(x(b"second", delimiter(b"\n"), 2000)),
    );
    assert_eq!(a.unwrap(), b"first\n");
    assert_eq!(b.unwrap(), b"second\n");
    stop.cancel();
}

#[tokio::test]
async fn a_failed_port_is_reported_and_reopened_later() {
    let (port, peer) = pair();
    let (task, handle, opens) = task(port);
    let stop = CancellationToken::new();
    tokio::spawn(task.run(stop.clone()));
    // The device side goes away: the exchange fails, the port is closed.
    drop(peer);
    let failed = handle.exchange(x(b"ping", length(1), 500)).await;
    assert!(
        matches!(
            failed,
            Err(PortError::Io(_)) | Err(PortError::Unavailable(_))
        ),
        "{failed:?}"
    );
    // The next exchange tries to open it again (the opener has nothing left to give).
    let again = handle.exchange(x(b"ping", length(1), 100)).await;
    assert!(matches!(again, Err(PortError::Unavailable(_))), "{again:?}");
    assert!(opens.load(Ordering::SeqCst) >= 2);
    stop.cancel();
}

#[tokio::test]
async fn new_settings_apply_to_the_open_port() {
    let (port, _peer) = pair();
    let (task, handle, _) = task(port);
    let stop = CancellationToken::new();
    tokio::spawn(task.run(stop.clone()));
    let faster = LineSettings {
        baud: 19_200,
        parity: Parity::Even,
        data_bits: 7,
        stop_bits: 2,
        rs485: crate::serial::Rs485Mode::Keep,
    };
    handle.configure(faster).await.unwrap();
    let bad = LineSettings {
        data_bits: 9,
        ..faster
    };
    assert!(matches!(
        handle.configure(bad).await,
        Err(PortError::Settings(_))
    ));
    stop.cancel();
}

#[tokio::test]
async fn a_command_whose_requester_gave_up_is_never_written() {
    let (port, mut peer) = pair();
    let (task, handle, _) = task(port);
    let stop = CancellationToken::new();
    tokio::spawn(task.run(stop.clone()));
    // The first exchange holds the port for 400 ms (the device stays silent).
    let busy = {
        let handle = handle.clone();
        tokio::spawn(async move { handle.exchange(x(b"one", Until::default(), 400)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The second requester gives up while waiting for its turn.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(100),
        handle.exchange(x(b"two", Until::default(), 100)),
    )
    .await;
    assert!(gave_up.is_err());
    assert_eq!(busy.await.unwrap().unwrap(), b"");
    // A third one goes through; the device saw "one" and "three", never "two".
    let third = handle.exchange(x(b"three", Until::default(), 0)).await;
    assert_eq!(third.unwrap(), b"");
    let mut seen = Vec::new();
    let mut buf = [0u8; 64];
    while seen.len() < b"onethree".len() {
        let n = tokio::time::timeout(Duration::from_secs(2), peer.read(&mut buf))
            .await
            .expect("the device hears the commands")
            .unwrap();
        seen.extend_from_slice(&buf[..n]);
    }
    assert_eq!(seen, b"onethree");
    stop.cancel();
}

#[tokio::test]
async fn a_port_without_a_kernel_rs485_mode_refuses_it_and_keeps_working() {
    // A pseudo-terminal has no RS-485 mode (as a USB adapter's tty has none): asking for it
    // fails with the reason, and the port goes on with its old settings.
    let (mut peer, port) = pair();
    let device = PathBuf::from(port.name().expect("the pty's name"));
    let (task, handle) = PortTask::new(device.clone(), LINE);
    // `port` stays open: the pty's slave side is never wholly closed while the task closes
    // and reopens it, so the master (the test's device) keeps its line.
    let stop = CancellationToken::new();
    tokio::spawn(task.run(stop.clone()));
    let rs485 = LineSettings {
        rs485: crate::serial::Rs485Mode::On(crate::serial::Rs485 {
            delay_after_send: Duration::from_millis(2),
            ..Default::default()
        }),
        ..LINE
    };
    let refused = handle.configure(rs485).await.unwrap_err();
    let PortError::Settings(why) = refused else {
        panic!("not a settings error: {refused:?}");
    };
    assert!(why.contains("kernel RS-485 mode"), "{why}");
    assert!(why.contains(&device.display().to_string()), "{why}");
    // Still open with the old line: a command reaches the device.
    let sent = handle
        .exchange(Exchange {
            data: b"ping".to_vec(),
            until: Until::default(),
            wait: Duration::ZERO,
        })
        .await;
    assert_eq!(sent, Ok(Vec::new()));
    let mut buf = [0u8; 4];
    timeout(Duration::from_secs(2), peer.read_exact(&mut buf))
        .await
        .expect("the command in 2 s")
        .unwrap();
    assert_eq!(&buf, b"ping");
    stop.cancel();
    drop(port);
}
