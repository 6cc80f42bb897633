//! The topics railgate can emit, with their message descriptions, for GetEventProperties:
//! the gateway's own (monitoring, each controller's link state and failing points, event
//! buffer) and whatever the configuration adds.

use parking_lot::RwLock;
use std::collections::BTreeMap;

use crate::xml::XmlWriter;
use crate::xml::ns::{TNS1, TNS1_PREFIX};

use super::controllers;
use super::model::Topic;

/// One item of a message description: name and type QName (`tt:` or `xs:` prefixed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemDescription {
    /// Item name.
    pub name: String,
    /// Type QName, e.g. `xs:boolean`, `tt:ReferenceToken`.
    pub type_name: String,
    /// Whether this is an ElementItem (else a SimpleItem).
    pub element: bool,
}

impl ItemDescription {
    /// A SimpleItem description.
    pub fn simple(name: &str, type_name: &str) -> Self {
        ItemDescription {
            name: name.into(),
            type_name: type_name.into(),
            element: false,
        }
    }
    /// An ElementItem description.
    pub fn element(name: &str, type_name: &str) -> Self {
        ItemDescription {
            name: name.into(),
            type_name: type_name.into(),
            element: true,
        }
    }
}

/// What messages on a topic look like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicDescription {
    /// The topic.
    pub topic: Topic,
    /// Whether it is a property (Initialized/Changed/Deleted).
    pub is_property: bool,
    /// Source items.
    pub source: Vec<ItemDescription>,
    /// Key items.
    pub key: Vec<ItemDescription>,
    /// Data items.
    pub data: Vec<ItemDescription>,
}

/// The topic of the event sent when reading reaches the oldest stored event.
pub fn beginning_of_buffer() -> Topic {
    Topic::onvif("EventBuffer/Begin")
}

/// The topic set.
#[derive(Debug)]
pub struct TopicRegistry {
    topics: RwLock<BTreeMap<Topic, TopicDescription>>,
}

impl Default for TopicRegistry {
    fn default() -> Self {
        let registry = TopicRegistry {
            topics: RwLock::new(BTreeMap::new()),
        };
        let token = || vec![ItemDescription::simple("Token", "tt:ReferenceToken")];
        let status = |t: &str| vec![ItemDescription::simple("Status", t)];
        registry.register(TopicDescription {
            topic: Topic::onvif("Monitoring/ProcessorUsage"),
            is_property: true,
            source: token(),
            key: vec![],
            data: vec![ItemDescription::simple("Value", "xs:float")],
        });
        for t in ["LastReboot", "LastReset", "LastClockSynchronization"] {
            registry.register(TopicDescription {
                topic: Topic::onvif(&format!("Monitoring/OperatingTime/{t}")),
                is_property: true,
                source: vec![],
                key: vec![],
                data: status("xs:dateTime"),
            });
        }
        let controller = || vec![ItemDescription::simple("Controller", "xs:string")];
        registry.register(TopicDescription {
            topic: controllers::controller_link_topic(),
            is_property: true,
            source: controller(),
            key: vec![],
            data: vec![
                ItemDescription::simple("Connected", "xs:boolean"),
                ItemDescription::simple("Reason", "xs:string"),
            ],
        });
        registry.register(TopicDescription {
            topic: controllers::failing_points_topic(),
            is_property: true,
            source: controller(),
            key: vec![],
            data: vec![
                ItemDescription::simple("Failing", "xs:string"),
                ItemDescription::simple("Count", "xs:int"),
            ],
        });
        registry.register(TopicDescription {
            topic: super::monitoring::event_storage_topic(),
            is_property: true,
            source: vec![ItemDescription::simple("Store", "xs:string")],
            key: vec![],
            data: vec![
                ItemDescription::simple("State", "xs:string"),
                ItemDescription::simple("Refused", "xs:int"),
            ],
        });
        // Advanced Security: a key pair being made, made, or failed (not a property: a
        // change, with the status before it unless the key is new).
        registry.register(TopicDescription {
            topic: Topic::onvif("Advancedsecurity/Keystore/KeyStatus"),
            is_property: false,
            source: vec![ItemDescription::simple("KeyID", "tas:KeyID")],
            key: vec![],
            data: vec![
                ItemDescription::simple("OldStatus", "tas:KeyStatus"),
                ItemDescription::simple("NewStatus", "tas:KeyStatus"),
            ],
        });
        registry.register(TopicDescription {
            topic: beginning_of_buffer(),
            is_property: false,
            source: vec![],
            key: vec![],
            data: vec![],
        });
        registry
    }
}

impl TopicRegistry {
    /// Adds (or replaces) a topic.
    pub fn register(&self, description: TopicDescription) {
        self.topics
            .write()
            .insert(description.topic.clone(), description);
    }

    /// Removes a topic (a reload: the mapping no longer emits it).
    pub fn remove(&self, topic: &Topic) {
        self.topics.write().remove(topic);
    }

    /// Every topic, in order.
    pub fn all(&self) -> Vec<TopicDescription> {
        self.topics.read().values().cloned().collect()
    }

    /// Writes the `wstop:TopicSet` element: one element per path segment, the root in its
    /// topic namespace, children unqualified (`xmlns=""`), each topic marked
    /// `wstop:topic="true"` with its `tt:MessageDescription`.
    pub fn write_topic_set(&self, w: &mut XmlWriter) {
        let topics = self.all();
        w.with(
            "wstop:TopicSet",
            &[("xmlns:xs", "http://www.w3.org/2001/XMLSchema")],
            |w| {
                write_level(w, &topics, 0, &mut Namespaces::default());
            },
        );
    }
}

/// Prefixes for topic namespaces other than `tns1`, declared where they are used.
#[derive(Default)]
struct Namespaces(Vec<String>);

impl Namespaces {
    fn prefix(&mut self, ns: &str) -> (String, Option<String>) {
        if ns == TNS1 {
            return (TNS1_PREFIX.into(), None);
        }
        let index = match self.0.iter().position(|n| n == ns) {
            Some(i) => i,
            None => {
                self.0.push(ns.to_string());
                self.0.len() - 1
            }
        };
        let prefix = format!("tnsx{index}");
        (prefix.clone(), Some(format!("xmlns:{prefix}")))
    }
}

fn write_level(w: &mut XmlWriter, topics: &[TopicDescription], depth: usize, ns: &mut Namespaces) {
    let mut i = 0;
    while i < topics.len() {
        let segment = |t: &TopicDescription| -> Option<(String, String)> {
            t.topic
                .path
                .split('/')
                .nth(depth)
                .map(|s| (t.topic.ns.clone(), s.to_string()))
        };
        let Some(key) = segment(&topics[i]) else {
            i += 1;
            continue;
        };
        let end = topics[i..]
            .iter()
            .position(|t| segment(t).as_ref() != Some(&key))
            .map(|p| i + p)
            .unwrap_or(topics.len());
        let group = &topics[i..end];
        let (ns_uri, name) = key;
        let mut attrs: Vec<(String, String)> = Vec::new();
        let tag = if depth == 0 {
            let (prefix, decl) = ns.prefix(&ns_uri);
            if let Some(d) = decl {
                attrs.push((d, ns_uri.clone()));
            }
            format!("{prefix}:{name}")
        } else {
            if depth == 1 {
                attrs.push(("xmlns".into(), String::new()));
            }
            name.clone()
        };
        let this = group
            .iter()
            .find(|t| t.topic.path.split('/').count() == depth + 1);
        if this.is_some() {
            attrs.push(("wstop:topic".into(), "true".into()));
        }
        let attr_refs: Vec<(&str, &str)> = attrs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        w.with(&tag, &attr_refs, |w| {
            if let Some(t) = this {
                write_description(w, t);
            }
            let deeper: Vec<TopicDescription> = group
                .iter()
                .filter(|t| t.topic.path.split('/').count() > depth + 1)
                .cloned()
                .collect();
            write_level(w, &deeper, depth + 1, ns);
        });
        i = end;
    }
}

fn write_description(w: &mut XmlWriter, t: &TopicDescription) {
    let is_property = if t.is_property { "true" } else { "false" };
    w.with(
        "tt:MessageDescription",
        &[("IsProperty", is_property)],
        |w| {
            for (tag, items) in [
                ("tt:Source", &t.source),
                ("tt:Key", &t.key),
                ("tt:Data", &t.data),
            ] {
                if items.is_empty() {
                    continue;
                }
                w.with(tag, &[], |w| {
                    for item in items.iter().filter(|i| !i.element) {
                        w.empty(
                            "tt:SimpleItemDescription",
                            &[("Name", &item.name), ("Type", &item.type_name)],
                        );
                    }
                    for item in items.iter().filter(|i| i.element) {
                        w.empty(
                            "tt:ElementItemDescription",
                            &[("Name", &item.name), ("Type", &item.type_name)],
                        );
                    }
                });
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_set_nests_segments_and_marks_topics() {
        let r = TopicRegistry::default();
        r.register(TopicDescription {
            topic: Topic::onvif("Device/Trigger/DigitalInput"),
            is_property: true,
            source: vec![ItemDescription::simple("InputToken", "tt:ReferenceToken")],
            key: vec![],
            data: vec![ItemDescription::simple("LogicalState", "xs:boolean")],
        });
        let mut w = XmlWriter::new();
        r.write_topic_set(&mut w);
        let xml = w.finish();
        assert!(xml.contains(r#"<tns1:Device><Trigger xmlns=""><DigitalInput wstop:topic="true"><tt:MessageDescription IsProperty="true"><tt:Source><tt:SimpleItemDescription Name="InputToken" Type="tt:ReferenceToken"/></tt:Source>"#), "{xml}");
        assert!(
            xml.contains(
                r#"<OperatingTime xmlns=""><LastClockSynchronization wstop:topic="true">"#
            ),
            "{xml}"
        );
        assert!(xml.contains(r#"<tns1:EventBuffer><Begin xmlns="" wstop:topic="true"><tt:MessageDescription IsProperty="false"></tt:MessageDescription></Begin></tns1:EventBuffer>"#), "{xml}");
        assert_eq!(
            xml.matches("<tns1:Monitoring>").count(),
            1,
            "one element per shared segment"
        );
        assert!(
            !xml.contains("LinkStatus") && !xml.contains("ElementItem"),
            "{xml}"
        );
        assert!(xml.contains(r#"<tnsx0:Monitoring xmlns:tnsx0="urn:railgate:topics"><ControllerLink xmlns="" wstop:topic="true"><tt:MessageDescription IsProperty="true"><tt:Source><tt:SimpleItemDescription Name="Controller" Type="xs:string"/></tt:Source><tt:Data><tt:SimpleItemDescription Name="Connected" Type="xs:boolean"/><tt:SimpleItemDescription Name="Reason" Type="xs:string"/></tt:Data>"#), "{xml}");
        assert!(xml.contains(r#"<FailingPoints xmlns="" wstop:topic="true"><tt:MessageDescription IsProperty="true"><tt:Source><tt:SimpleItemDescription Name="Controller" Type="xs:string"/></tt:Source><tt:Data><tt:SimpleItemDescription Name="Failing" Type="xs:string"/><tt:SimpleItemDescription Name="Count" Type="xs:int"/></tt:Data>"#), "{xml}");
    }
}
