//! The gateway's monitoring properties about each southbound controller, in railgate's own
//! topic namespace (`rg:`, [`RAILGATE_TOPICS`]: ONVIF defines no topic for the state of a
//! field-bus link or of a device's points):
//!
//! - `rg:Monitoring/ControllerLink`: Source `Controller` (the controller's name in the
//!   mapping), Data `Connected` (xs:boolean) and `Reason` (xs:string: `connected`,
//!   `not yet connected`, or why the link is down, as the adapter said it).
//! - `rg:Monitoring/FailingPoints`: Source `Controller`, Data `Failing` (xs:string: the
//!   ids of the points whose reads keep failing, space-separated, empty when none) and
//!   `Count` (xs:int).
//!
//! Both exist for every controller from start (`Connected=false`, `not yet connected`;
//! `Count=0`) and change only on transitions. Simple items only, so the messages validate
//! under the current ONVIF schemas and the older ones clients ship.

use chrono::Utc;
use railgate_mappings::topics::{CONTROLLER_LINK, FAILING_POINTS, RAILGATE_TOPICS};

use super::model::{Event, Item, Topic};

/// `Reason` of a link that is up.
pub const CONNECTED: &str = "connected";
/// `Reason` of a link not up since start.
pub const NOT_YET_CONNECTED: &str = "not yet connected";

/// `rg:Monitoring/ControllerLink`.
pub fn controller_link_topic() -> Topic {
    Topic {
        ns: RAILGATE_TOPICS.to_string(),
        path: CONTROLLER_LINK.to_string(),
    }
}

/// `rg:Monitoring/FailingPoints`.
pub fn failing_points_topic() -> Topic {
    Topic {
        ns: RAILGATE_TOPICS.to_string(),
        path: FAILING_POINTS.to_string(),
    }
}

fn property(topic: Topic, controller: &str, data: Vec<Item>) -> Event {
    Event {
        utc: Utc::now(),
        topic,
        operation: None,
        source: vec![Item::simple("Controller", controller)],
        key: vec![],
        data,
        producer: controller.to_string(),
    }
}

/// The link state property of `controller`; `reason` is [`CONNECTED`] when it is up.
pub fn controller_link(controller: &str, connected: bool, reason: &str) -> Event {
    let data = vec![
        Item::simple("Connected", if connected { "true" } else { "false" }),
        Item::simple("Reason", reason),
    ];
    property(controller_link_topic(), controller, data)
}

/// The failing points property of `controller`.
pub fn failing_points<S: AsRef<str>>(controller: &str, points: &[S]) -> Event {
    let failing: Vec<&str> = points.iter().map(AsRef::as_ref).collect();
    let data = vec![
        Item::simple("Failing", failing.join(" ")),
        Item::simple("Count", points.len().to_string()),
    ];
    property(failing_points_topic(), controller, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_simple_and_named_as_documented() {
        let e = controller_link("panel", false, NOT_YET_CONNECTED);
        assert_eq!(e.topic.path, "Monitoring/ControllerLink");
        assert_eq!(e.source, vec![Item::simple("Controller", "panel")]);
        assert_eq!(
            e.data,
            vec![
                Item::simple("Connected", "false"),
                Item::simple("Reason", "not yet connected")
            ]
        );
        let e = failing_points("panel", &["panel/holding/61", "panel/coil/3"]);
        assert_eq!(
            e.data,
            vec![
                Item::simple("Failing", "panel/holding/61 panel/coil/3"),
                Item::simple("Count", "2")
            ]
        );
        let none: [&str; 0] = [];
        assert_eq!(
            failing_points("panel", &none).data,
            vec![Item::simple("Failing", ""), Item::simple("Count", "0")]
        );
    }
}
