//! What an event is, independent of how it is stored or sent.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::xml::ns::{TNS1, TNS1_PREFIX};

/// A topic: a namespace and a path in it, e.g. (`tns1` namespace, `Device/Trigger/Relay`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Topic {
    /// The topic namespace URI.
    pub ns: String,
    /// The path below the namespace, segments separated by `/`.
    pub path: String,
}

impl Topic {
    /// A topic in the ONVIF topic namespace (`tns1:`).
    pub fn onvif(path: &str) -> Topic {
        Topic {
            ns: TNS1.to_string(),
            path: path.to_string(),
        }
    }

    /// The path's segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.path.split('/')
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ns == TNS1 {
            write!(f, "{TNS1_PREFIX}:{}", self.path)
        } else {
            write!(f, "{{{}}}{}", self.ns, self.path)
        }
    }
}

/// The `PropertyOperation` of a property event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PropertyOperation {
    /// The current state, sent when a property first becomes known, on subscription and at a
    /// synchronization point.
    Initialized,
    /// The property changed.
    Changed,
    /// The property went away.
    Deleted,
}

impl PropertyOperation {
    /// The tt:PropertyOperation spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyOperation::Initialized => "Initialized",
            PropertyOperation::Changed => "Changed",
            PropertyOperation::Deleted => "Deleted",
        }
    }

    /// Reads the tt:PropertyOperation spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Initialized" => Some(PropertyOperation::Initialized),
            "Changed" => Some(PropertyOperation::Changed),
            "Deleted" => Some(PropertyOperation::Deleted),
            _ => None,
        }
    }
}

/// One named value of a message's Source, Key or Data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Item {
    /// `tt:SimpleItem Name= Value=`.
    Simple {
        /// Name.
        name: String,
        /// Value, in its XML Schema lexical form.
        value: String,
    },
    /// `tt:ElementItem Name=` holding an element, kept as markup written with the response
    /// prefixes. The gateway's own topics use simple items only (older ONVIF schemas, as
    /// some clients ship them, reject elements they do not know).
    Element {
        /// Name.
        name: String,
        /// The child element's markup.
        xml: String,
    },
}

impl Item {
    /// A simple item.
    pub fn simple(name: impl Into<String>, value: impl Into<String>) -> Item {
        Item::Simple {
            name: name.into(),
            value: value.into(),
        }
    }

    /// The item's name.
    pub fn name(&self) -> &str {
        match self {
            Item::Simple { name, .. } | Item::Element { name, .. } => name,
        }
    }

    /// The value of a simple item.
    pub fn value(&self) -> Option<&str> {
        match self {
            Item::Simple { value, .. } => Some(value),
            Item::Element { .. } => None,
        }
    }
}

/// An event, as raised inside the gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When it happened (UTC, millisecond precision).
    pub utc: DateTime<Utc>,
    /// Its topic.
    pub topic: Topic,
    /// For property events, what happened to the property.
    pub operation: Option<PropertyOperation>,
    /// Which entity (e.g. `InputToken`).
    pub source: Vec<Item>,
    /// Key items.
    pub key: Vec<Item>,
    /// The values (e.g. `LogicalState`).
    pub data: Vec<Item>,
    /// What raised it: `railgate` or a southbound link's name.
    pub producer: String,
}

/// An event as committed to the store, with its sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the store: strictly increasing, never reused.
    pub seq: u64,
    /// The event.
    pub event: Event,
}

/// Truncates a time to what the store keeps (milliseconds).
pub fn to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// One line for people: `seq time topic [operation] source=.. data=.. (producer)`.
pub fn describe(e: &StoredEvent) -> String {
    let items = |items: &[Item]| -> String {
        items
            .iter()
            .map(|i| match i {
                Item::Simple { name, value } => format!("{name}={value}"),
                Item::Element { name, .. } => format!("{name}=<element>"),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut line = format!(
        "{:>8} {} {}",
        e.seq,
        super::time::utc(e.event.utc),
        e.event.topic
    );
    if let Some(op) = e.event.operation {
        line.push_str(&format!(" [{}]", op.as_str()));
    }
    for (label, list) in [
        ("source", &e.event.source),
        ("key", &e.event.key),
        ("data", &e.event.data),
    ] {
        if !list.is_empty() {
            line.push_str(&format!(" {label}:{}", items(list)));
        }
    }
    line.push_str(&format!(" ({})", e.event.producer));
    line
}
