//! What the device has been asked to do with itself once it has stopped cleanly: restart
//! (SystemReboot with a backend that does not reboot the host), or reset to factory defaults
//! and restart (SetSystemFactoryDefault: `state::factory`). The
//! handler asks; `runtime::Gateway::run` stops the gateway through its one shutdown path
//! (WS-Discovery Bye, requests finished, relays released, the event store committed and
//! closed) and the `railgate` command then starts itself again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use crate::state::factory::FactoryDefault;

/// What happens after the clean stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// railgate starts itself again (the same program, arguments and environment).
    Restart,
    /// The host reboots (systemd backend: logind); railgate comes back with it.
    RebootHost,
    /// The data folder is reset (`state::factory`; Hard also deletes the event store), then
    /// railgate starts itself again.
    FactoryDefault(FactoryDefault),
    /// The newly installed program at this path is started in place of this one (a firmware
    /// trial: `firmware::install`).
    Upgrade(std::path::PathBuf),
}

/// How long after its answer a request that restarts the device begins the stop, so the
/// answer reaches the client first.
pub const ANSWER_DELAY: Duration = Duration::from_secs(1);

/// The request, once made; the first one stands.
#[derive(Debug)]
pub struct Lifecycle {
    requested: Arc<watch::Sender<Option<Exit>>>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            requested: Arc::new(watch::Sender::new(None)),
        }
    }
}

impl Lifecycle {
    /// Asks for `exit`; `false` if something was asked already (that stands).
    pub fn request(&self, exit: Exit) -> bool {
        ask(&self.requested, exit)
    }

    /// Asks for `exit` once [`ANSWER_DELAY`] has passed (on a task of its own), so the
    /// answer that announced it is delivered first.
    pub fn request_after_answer(&self, exit: Exit) {
        let requested = self.requested.clone();
        tokio::spawn(async move {
            tokio::time::sleep(ANSWER_DELAY).await;
            ask(&requested, exit);
        });
    }

    /// What was asked, if anything.
    pub fn requested(&self) -> Option<Exit> {
        self.requested.borrow().clone()
    }

    /// Waits until something is asked.
    pub async fn wait(&self) -> Exit {
        let mut rx = self.requested.subscribe();
        loop {
            if let Some(exit) = rx.borrow_and_update().clone() {
                return exit;
            }
            if rx.changed().await.is_err() {
                // The sender lives as long as `self`; this is not reached.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Sets `exit` unless something was asked already; whether it was set.
fn ask(requested: &watch::Sender<Option<Exit>>, exit: Exit) -> bool {
    requested.send_if_modified(|r| {
        if r.is_some() {
            false
        } else {
            *r = Some(exit);
            true
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_request_stands_and_wakes_the_waiter() {
        let l = std::sync::Arc::new(Lifecycle::default());
        let waiter = tokio::spawn({
            let l = l.clone();
            async move { l.wait().await }
        });
        tokio::task::yield_now().await;
        assert_eq!(l.requested(), None);
        assert!(l.request(Exit::Restart));
        assert!(!l.request(Exit::Restart));
        assert_eq!(waiter.await.unwrap(), Exit::Restart);
        assert_eq!(l.wait().await, Exit::Restart);
    }
}
