//! Events as XML: `wsnt:NotificationMessage` holding a `tt:Message`.

use crate::xml::XmlWriter;
use crate::xml::ns::{TNS1, TNS1_PREFIX};

use super::filter::topic::CONCRETE_SET;
use super::model::{Event, Item};
use super::time::utc;

fn write_items(w: &mut XmlWriter, tag: &str, items: &[Item]) {
    if items.is_empty() {
        return;
    }
    w.with(tag, &[], |w| {
        // The schema wants every SimpleItem before any ElementItem.
        for item in items {
            if let Item::Simple { name, value } = item {
                w.empty("tt:SimpleItem", &[("Name", name), ("Value", value)]);
            }
        }
        for item in items {
            if let Item::Element { name, xml } = item {
                w.with("tt:ElementItem", &[("Name", name)], |w| {
                    w.raw(xml);
                });
            }
        }
    });
}

/// Writes one `wsnt:NotificationMessage`; `subscription` is the subscription manager address
/// (included for Notify, left out for PullMessages).
pub fn write_notification(w: &mut XmlWriter, event: &Event, subscription: Option<&str>) {
    w.with("wsnt:NotificationMessage", &[], |w| {
        if let Some(address) = subscription {
            w.with("wsnt:SubscriptionReference", &[], |w| {
                w.leaf("wsa:Address", address);
            });
        }
        let topic_text;
        let declaration;
        let mut attrs: Vec<(&str, &str)> = vec![("Dialect", CONCRETE_SET)];
        if event.topic.ns == TNS1 {
            topic_text = format!("{TNS1_PREFIX}:{}", event.topic.path);
        } else {
            declaration = event.topic.ns.clone();
            attrs.push(("xmlns:tnsx", &declaration));
            topic_text = format!("tnsx:{}", event.topic.path);
        }
        w.open("wsnt:Topic", &attrs)
            .text(&topic_text)
            .close("wsnt:Topic");
        w.with("wsnt:Message", &[], |w| {
            let time = utc(event.utc);
            let mut attrs = vec![("UtcTime", time.as_str())];
            if let Some(op) = event.operation {
                attrs.push(("PropertyOperation", op.as_str()));
            }
            w.with("tt:Message", &attrs, |w| {
                write_items(w, "tt:Source", &event.source);
                write_items(w, "tt:Key", &event.key);
                write_items(w, "tt:Data", &event.data);
            });
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::model::{PropertyOperation, Topic};

    #[test]
    fn message_shape() {
        let e = Event {
            utc: chrono::DateTime::from_timestamp_millis(1_767_225_600_500).unwrap(),
            topic: Topic::onvif("Device/Trigger/Relay"),
            operation: Some(PropertyOperation::Changed),
            source: vec![Item::simple("RelayToken", "door&1")],
            key: vec![],
            data: vec![Item::simple("LogicalState", "active")],
            producer: "p".into(),
        };
        let mut w = XmlWriter::new();
        write_notification(&mut w, &e, None);
        assert_eq!(
            w.finish(),
            concat!(
                r#"<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">tns1:Device/Trigger/Relay</wsnt:Topic>"#,
                r#"<wsnt:Message><tt:Message UtcTime="2026-01-01T00:00:00.500Z" PropertyOperation="Changed">"#,
                r#"<tt:Source><tt:SimpleItem Name="RelayToken" Value="door&amp;1"/></tt:Source>"#,
                r#"<tt:Data><tt:SimpleItem Name="LogicalState" Value="active"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>"#
            )
        );
    }
}
