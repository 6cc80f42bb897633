//! The keystore's event: `tns1:Advancedsecurity/Keystore/KeyStatus`, raised when a key
//! pair starts being made and when it is made or its making fails (Source `KeyID`; Data
//! `OldStatus` unless the key is new, `NewStatus`).

use chrono::Utc;

use super::core::EventCore;
use super::model::{Event, Item, Topic};
use crate::keystore::{KeyStatus, StatusListener};

/// The event of one status change.
pub fn key_status(key: &str, old: Option<KeyStatus>, new: KeyStatus) -> Event {
    let mut data = Vec::new();
    if let Some(old) = old {
        data.push(Item::simple("OldStatus", old.as_str()));
    }
    data.push(Item::simple("NewStatus", new.as_str()));
    Event {
        utc: Utc::now(),
        topic: Topic::onvif("Advancedsecurity/Keystore/KeyStatus"),
        operation: None,
        source: vec![Item::simple("KeyID", key)],
        key: vec![],
        data,
        producer: "railgate".into(),
    }
}

/// A listener for `Keystore::on_key_status` that raises the event through `events` (on
/// the runtime the change happened on: a handler's or a key-making blocking thread's).
pub fn status_listener(events: EventCore) -> StatusListener {
    Box::new(move |key, old, new| {
        let event = key_status(key, old, new);
        let events = events.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = events.raise(event).await {
                        tracing::warn!(error = %e, "the KeyStatus event could not be stored");
                    }
                });
            }
            Err(_) => tracing::debug!(key, "no runtime: the KeyStatus event is not raised"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_status_is_left_out_only_for_a_new_key() {
        let new = key_status("key-1", None, KeyStatus::Generating);
        assert_eq!(new.data, vec![Item::simple("NewStatus", "generating")]);
        let done = key_status("key-1", Some(KeyStatus::Generating), KeyStatus::Ok);
        assert_eq!(
            done.data,
            vec![
                Item::simple("OldStatus", "generating"),
                Item::simple("NewStatus", "ok")
            ]
        );
        assert_eq!(done.source, vec![Item::simple("KeyID", "key-1")]);
    }
}
