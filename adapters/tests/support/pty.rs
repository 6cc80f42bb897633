//! Pseudo-terminal pairs made by socat, across processes as a USB serial adapter is: its two
//! ends are symlinks in a test folder, and killing socat makes both device nodes disappear
//! (the adapter unplugged); starting it again brings them back at the same paths.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// Whether socat is installed.
pub(crate) fn has_socat() -> bool {
    super::succeeds("socat", &["-V"])
}

/// Panics with what to install when socat is missing.
pub(crate) fn require_socat() {
    assert!(
        has_socat(),
        "socat is needed for the pseudo-terminal pairs of the serial tests: apt-get install socat"
    );
}

/// A socat pty pair `dir/a` ⇄ `dir/b`; killed (both nodes gone) on drop.
#[derive(Debug)]
pub(crate) struct PtyPair {
    /// The adapter's end.
    pub(crate) a: PathBuf,
    /// The device's end.
    pub(crate) b: PathBuf,
    child: Option<Child>,
}

impl PtyPair {
    /// Starts socat; returns once both nodes exist.
    pub(crate) async fn start(dir: &Path) -> PtyPair {
        require_socat();
        let mut pair = PtyPair {
            a: dir.join("a"),
            b: dir.join("b"),
            child: None,
        };
        pair.plug().await;
        pair
    }

    /// (Re)starts socat at the same paths; returns once both nodes exist.
    pub(crate) async fn plug(&mut self) {
        self.unplug().await;
        let child = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", self.a.display()))
            .arg(format!("pty,raw,echo=0,link={}", self.b.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start socat");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !(self.a.exists() && self.b.exists()) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "socat made no pty pair in 5 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Kills socat: both device nodes disappear.
    pub(crate) async fn unplug(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
        for end in [&self.a, &self.b] {
            let _ = std::fs::remove_file(end);
        }
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}
