//! What the device has been asked to do with itself once it has stopped cleanly: restart
//! (SystemReboot with a backend that does not reboot the host), or reset to factory defaults
//! and restart (SetSystemFactoryDefault: `state::factory`). The
//! handler asks; `runtime::Gateway::run` stops the gateway through its one shutdown path
//! (WS-Discovery Bye, requests finished, relays released, the event store committed and
//! closed) and the `railgate` command then starts itself again.

use tokio::sync::watch;

pub use crate::state::factory::FactoryDefault;

/// What happens after the clean stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// railgate starts itself again (the same program, arguments and environment).
    Restart,
    /// The data folder is reset (`state::factory`; Hard also deletes the event store), then
    /// railgate starts itself again.
    FactoryDefault(FactoryDefault),
}

/// The request, once made; the first one stands.
#[derive(Debug)]
pub struct Lifecycle {
    requested: watch::Sender<Option<Exit>>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            requested: watch::Sender::new(None),
        }
    }
}

impl Lifecycle {
    /// Asks for `exit`; `false` if something was asked already (that stands).
    pub fn request(&self, exit: Exit) -> bool {
        self.requested.send_if_modified(|r| {
            if r.is_some() {
                false
            } else {
                *r = Some(exit);
                true
            }
        })
    }

    /// What was asked, if anything.
    pub fn requested(&self) -> Option<Exit> {
        *self.requested.borrow()
    }

    /// Waits until something is asked.
    pub async fn wait(&self) -> Exit {
        let mut rx = self.requested.subscribe();
        loop {
            if let Some(exit) = *rx.borrow_and_update() {
                return exit;
            }
            if rx.changed().await.is_err() {
                // The sender lives as long as `self`; this is not reached.
                std::future::pending::<()>().await;
            }
        }
    }
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
