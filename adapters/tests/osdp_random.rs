//! The OSDP secure channel's random challenges differ from one process to the next. The
//! library fills them with `osdp_fill_random`; upstream's tinyaes backend used `rand()`,
//! which nothing seeds, so every fresh process produced the same bytes (the patched copy in
//! `adapters/vendor/libosdp-sys` uses getrandom(2)). The test runs itself twice as a child
//! process, each printing the first bytes the library draws, and compares them.

#![allow(unsafe_code)] // the one C function under test, which the bindings do not expose

use std::process::Command;

// Keeps libosdp (and with it the C library) on this test's link line.
extern crate libosdp as _;

unsafe extern "C" {
    fn osdp_fill_random(buf: *mut u8, len: i32);
}

const CHILD: &str = "RAILGATE_OSDP_RANDOM_CHILD";

fn draw() -> [u8; 32] {
    let mut buf = [0u8; 32];
    // SAFETY: the library writes exactly `len` bytes into `buf`, which holds that many.
    unsafe { osdp_fill_random(buf.as_mut_ptr(), buf.len() as i32) };
    buf
}

/// In a child: prints the first draw of a fresh process.
#[test]
fn child_prints_its_first_draw() {
    if std::env::var_os(CHILD).is_some() {
        let hex: String = draw().iter().map(|b| format!("{b:02x}")).collect();
        println!("DRAW {hex}");
    }
}

fn first_draw_of_a_fresh_process() -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_prints_its_first_draw",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .expect("run the test binary again");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.split_once("DRAW ").map(|(_, hex)| hex.trim()))
        .unwrap_or_else(|| panic!("the child printed no draw:\n{text}"))
        .to_string()
}

#[test]
fn two_fresh_processes_draw_different_challenges() {
    let (a, b) = (
        first_draw_of_a_fresh_process(),
        first_draw_of_a_fresh_process(),
    );
    assert_eq!(a.len(), 64);
    assert_ne!(
        a, b,
        "two processes drew the same 32 bytes: the randomness is not seeded"
    );
    // And within one process, draws are not all one byte (a stuck source).
    let d = draw();
    assert!(d.iter().any(|&x| x != d[0]), "{d:?}");
}
