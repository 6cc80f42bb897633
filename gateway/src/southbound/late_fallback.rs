//! The event of a monostable fall-back that had to wait: `rg:Device/Trigger/RelayFallBackDelayed`
//! (a plain event, SimpleItems only), raised once the controller finally confirmed the relay
//! inactive after at least one failed write (see [`super::fallback`]).
//!
//! Source `RelayToken`; Data `Late` (xs:duration from when the fall-back was due to its
//! confirmation, to the millisecond), `Attempts` (writes it took) and `Reason` (why the last
//! failed one failed).

use chrono::Utc;
use railgate_mappings::topics::{RAILGATE_TOPICS, RELAY_FALLBACK_DELAYED};

use super::fallback::Late;
use crate::events::model::{Event, Item, Topic};
use crate::events::topics::{ItemDescription, TopicDescription, TopicRegistry};

/// `rg:Device/Trigger/RelayFallBackDelayed` (reserved in the mapping language: a value may
/// not publish on it).
pub(super) fn topic() -> Topic {
    Topic {
        ns: RAILGATE_TOPICS.to_string(),
        path: RELAY_FALLBACK_DELAYED.to_string(),
    }
}

/// Declares the topic (for GetEventProperties).
pub(super) fn register(topics: &TopicRegistry) {
    topics.register(TopicDescription {
        topic: topic(),
        is_property: false,
        source: vec![ItemDescription::simple("RelayToken", "tt:ReferenceToken")],
        key: vec![],
        data: vec![
            ItemDescription::simple("Late", "xs:duration"),
            ItemDescription::simple("Attempts", "xs:int"),
            ItemDescription::simple("Reason", "xs:string"),
        ],
    });
}

/// The event reporting `late`; `producer` is the relay's controller.
pub(super) fn event(late: &Late, producer: &str) -> Event {
    let ms = late.late.as_millis();
    Event {
        utc: Utc::now(),
        topic: topic(),
        operation: None,
        source: vec![Item::simple("RelayToken", late.token.clone())],
        key: vec![],
        data: vec![
            Item::simple("Late", format!("PT{}.{:03}S", ms / 1000, ms % 1000)),
            Item::simple("Attempts", late.attempts.to_string()),
            Item::simple("Reason", late.reason.clone()),
        ],
        producer: producer.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_event_names_the_relay_and_how_late_it_fell_back() {
        let late = Late {
            token: "Strike".into(),
            late: Duration::from_millis(7_045),
            attempts: 2,
            reason: "the link to controller \"io\" is down".into(),
        };
        let e = event(&late, "io");
        assert_eq!(e.topic, topic());
        assert_eq!(e.source, vec![Item::simple("RelayToken", "Strike")]);
        let data: Vec<(&str, Option<&str>)> =
            e.data.iter().map(|i| (i.name(), i.value())).collect();
        assert_eq!(
            data,
            vec![
                ("Late", Some("PT7.045S")),
                ("Attempts", Some("2")),
                ("Reason", Some("the link to controller \"io\" is down")),
            ]
        );
        assert_eq!(e.operation, None);
    }
}
