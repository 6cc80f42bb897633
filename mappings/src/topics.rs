//! Event topics: the standard ones a panel can feed, the reserved ones, and topic syntax.
//!
//! A value that names a topic of [`CATALOG`] gets the standard's items by default (the
//! integrator writes just the topic, and a VMS that knows the topic needs no configuration);
//! contradicting them is an error. The items are those of ONVIF Core's event chapter (see
//! `OPERATIONS.md` §5 in the shared notes).

use crate::plan::TopicName;

// The topic namespaces and their prefixes are defined here and nowhere else: the gateway
// re-exports them (`xml::ns::TNS1`, `xml::ns::TNS1_PREFIX`) for the prefixes of its responses
// and topic sets, so a mapping's `tns1:` and a response's `tns1:` cannot drift apart.

/// The ONVIF topic namespace, written [`ONVIF_PREFIX`].
pub const ONVIF_TOPICS: &str = "http://www.onvif.org/ver10/topics";
/// `tns1`: the prefix of [`ONVIF_TOPICS`], in mapping files and in railgate's responses.
pub const ONVIF_PREFIX: &str = "tns1";
/// railgate's own vendor topics, written [`RAILGATE_PREFIX`] in mapping files.
pub const RAILGATE_TOPICS: &str = "urn:railgate:topics";
/// `rg`: the prefix of [`RAILGATE_TOPICS`] in mapping files.
pub const RAILGATE_PREFIX: &str = "rg";

/// The prefixes every file knows without declaring them.
pub const BUILTIN_PREFIXES: &[(&str, &str)] = &[
    (ONVIF_PREFIX, ONVIF_TOPICS),
    (RAILGATE_PREFIX, RAILGATE_TOPICS),
];

/// A standard topic's message description.
#[derive(Clone, Copy, Debug)]
pub struct StandardTopic {
    /// Path below `tns1:`.
    pub path: &'static str,
    /// Whether its events are property events.
    pub property: bool,
    /// Source items (name, type QName as the standard declares it).
    pub source: &'static [(&'static str, &'static str)],
    /// The data item (name, type QName).
    pub data: (&'static str, &'static str),
    /// What the data item's number measures, when the standard says (None for booleans).
    pub quantity: Option<Quantity>,
}

/// What a standard topic's number measures: a value's `unit:` and its decoded range are
/// checked against it (warnings: a mismatch is almost surely the wrong topic or scale).
#[derive(Clone, Copy, Debug)]
pub struct Quantity {
    /// The unit as usually written, e.g. `%`; None when the standard names none.
    pub unit: Option<&'static str>,
    /// Spellings of the unit a value's `unit:` may use (compared ignoring case).
    pub spellings: &'static [&'static str],
    /// The lowest and highest value that makes sense (either may be infinite).
    pub range: (f64, f64),
}

impl Quantity {
    /// Whether a value's `unit:` names this quantity's unit (any unit when it has none).
    pub fn accepts(&self, unit: &str) -> bool {
        self.unit.is_none()
            || self
                .spellings
                .iter()
                .any(|s| s.eq_ignore_ascii_case(unit.trim()))
    }
}

const PERCENT: Quantity = Quantity {
    unit: Some("%"),
    spellings: &["%", "percent", "pct", "%rh", "rh"],
    range: (0.0, 100.0),
};

/// The standard topics a controller's values may feed, with the standard's items.
pub const CATALOG: &[StandardTopic] = &[
    StandardTopic {
        path: "Monitoring/BatteryCapacity",
        property: true,
        source: &[],
        data: ("PercentageRemainingCapacity", "xs:float"),
        quantity: Some(PERCENT),
    },
    StandardTopic {
        path: "Monitoring/EnvironmentalConditions/Temperature",
        property: true,
        source: &[],
        data: ("Status", "xs:float"),
        quantity: Some(Quantity {
            // ONVIF Core names no unit; physics still gives a lower bound.
            unit: None,
            spellings: &[],
            range: (-273.15, f64::INFINITY),
        }),
    },
    StandardTopic {
        path: "Monitoring/EnvironmentalConditions/RelativeHumidity",
        property: true,
        source: &[],
        data: ("Status", "xs:float"),
        quantity: Some(PERCENT),
    },
    StandardTopic {
        path: "Device/HardwareFailure/PowerSupplyFailure",
        property: true,
        source: &[("Token", "tt:ReferenceToken")],
        data: ("Failed", "xs:boolean"),
        quantity: None,
    },
    StandardTopic {
        path: "Device/HardwareFailure/FanFailure",
        property: true,
        source: &[("Token", "tt:ReferenceToken")],
        data: ("Failed", "xs:boolean"),
        quantity: None,
    },
    StandardTopic {
        path: "Device/HardwareFailure/TemperatureCritical",
        property: true,
        source: &[],
        data: ("Critical", "xs:boolean"),
        quantity: None,
    },
];

/// Topics the gateway itself emits: a value may not publish on them.
pub const RESERVED: &[(&str, &str)] = &[
    (
        "Device/Trigger/DigitalInput",
        "the gateway emits it for every digital input; map the point as an input instead",
    ),
    (
        "Device/Trigger/Relay",
        "the gateway emits it for every relay output; map the point as a relay instead",
    ),
    (
        "Monitoring/ProcessorUsage",
        "the gateway reports its own processor usage",
    ),
    (
        "Monitoring/OperatingTime/LastReboot",
        "the gateway reports its own reboots",
    ),
    (
        "Monitoring/OperatingTime/LastReset",
        "the gateway reports its own resets",
    ),
    (
        "Monitoring/OperatingTime/LastClockSynchronization",
        "the gateway reports its own clock",
    ),
    ("EventBuffer/Begin", "the gateway's event store uses it"),
];

/// `rg:Device/Trigger/RelayFallBackDelayed`: a monostable relay's fall-back confirmed only
/// after failed writes (the gateway raises it).
pub const RELAY_FALLBACK_DELAYED: &str = "Device/Trigger/RelayFallBackDelayed";

/// `rg:Monitoring/ControllerLink`: a controller link's state (Source `Controller`, Data
/// `Connected`, `Reason`), a property the gateway keeps for every controller.
pub const CONTROLLER_LINK: &str = "Monitoring/ControllerLink";

/// `rg:Monitoring/FailingPoints`: a controller's points whose reads keep failing (Source
/// `Controller`, Data `Failing`, `Count`), a property the gateway keeps for every controller.
pub const FAILING_POINTS: &str = "Monitoring/FailingPoints";

/// `rg:Monitoring/EventStorage`: whether the event store can write (Source `Store`, Data
/// `State` `Ok`|`Full`, `Refused`), a property the gateway keeps from start.
pub const EVENT_STORAGE: &str = "Monitoring/EventStorage";

/// `rg:CardReader/CardRead`: card reads of the mapping's card readers (no standard ONVIF topic
/// is a bare read: the `tns1:AccessControl/*` topics report access decisions, which a reader
/// does not make).
pub const CARD_READ: &str = "CardReader/CardRead";
/// `rg:CardReader/Keypad`: keypad input of the mapping's card readers.
pub const KEYPAD: &str = "CardReader/Keypad";

/// Topics of [`RAILGATE_TOPICS`] the gateway itself emits: a value may not publish on them.
pub const RESERVED_RAILGATE: &[(&str, &str)] = &[
    (
        RELAY_FALLBACK_DELAYED,
        "the gateway reports a monostable relay's delayed fall-back on it",
    ),
    (
        CONTROLLER_LINK,
        "the gateway reports each controller link's state on it",
    ),
    (
        FAILING_POINTS,
        "the gateway reports each controller's failing points on it",
    ),
    (
        EVENT_STORAGE,
        "the gateway reports whether its event store can write on it",
    ),
    (
        CARD_READ,
        "card readers (`card_readers`) publish their reads on it",
    ),
    (
        KEYPAD,
        "card readers (`card_readers`) publish their keypad input on it",
    ),
];

/// Why a path in namespace `ns` is reserved, if it is ([`RESERVED`] for `tns1:`,
/// [`RESERVED_RAILGATE`] for `rg:`).
pub fn reserved_in(ns: &str, path: &str) -> Option<&'static str> {
    let table = match ns {
        ONVIF_TOPICS => RESERVED,
        RAILGATE_TOPICS => RESERVED_RAILGATE,
        _ => return None,
    };
    table.iter().find(|(p, _)| *p == path).map(|(_, why)| *why)
}

/// The catalog entry for a `tns1:` path.
pub fn standard(path: &str) -> Option<&'static StandardTopic> {
    CATALOG.iter().find(|t| t.path == path)
}

/// Why a `tns1:` path is reserved, if it is.
pub fn reserved(path: &str) -> Option<&'static str> {
    reserved_in(ONVIF_TOPICS, path)
}

/// Whether `s` is an XML NCName in ASCII (topic path segments and prefixes are element names
/// and namespace prefixes in the topic set).
pub fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Splits `prefix:A/B/C` into its prefix and path, checking the syntax (not the prefix).
pub(crate) fn split(topic: &str) -> Result<(&str, &str), String> {
    let Some((prefix, path)) = topic.split_once(':') else {
        return Err(format!(
            "`{topic}` has no namespace prefix: write e.g. `rg:{topic}` or `tns1:...`"
        ));
    };
    if !is_ncname(prefix) {
        return Err(format!("`{prefix}` is not a valid namespace prefix"));
    }
    if path.is_empty() {
        return Err(format!("`{topic}` has no path after the prefix"));
    }
    for seg in path.split('/') {
        if seg.is_empty() {
            return Err(format!(
                "`{topic}` has an empty path segment (`//` or a trailing `/`)"
            ));
        }
        if !is_ncname(seg) {
            return Err(format!(
                "`{seg}` in `{topic}` is not a valid topic segment: letters, digits, `_`, `-`, `.`, not starting with a digit"
            ));
        }
    }
    Ok((prefix, path))
}

/// A topic name from a namespace URI and a path.
pub(crate) fn name(namespace: &str, path: &str) -> TopicName {
    TopicName {
        namespace: namespace.to_string(),
        path: path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_the_standard_items() {
        let b = standard("Monitoring/BatteryCapacity").expect("battery");
        assert!(b.source.is_empty() && b.property);
        assert_eq!(b.data, ("PercentageRemainingCapacity", "xs:float"));
        let p = standard("Device/HardwareFailure/PowerSupplyFailure").expect("psu");
        assert_eq!(p.source, &[("Token", "tt:ReferenceToken")]);
        assert_eq!(p.data, ("Failed", "xs:boolean"));
        assert_eq!(
            standard("Device/HardwareFailure/TemperatureCritical").map(|t| t.data),
            Some(("Critical", "xs:boolean"))
        );
        for t in ["Temperature", "RelativeHumidity"] {
            let s = standard(&format!("Monitoring/EnvironmentalConditions/{t}")).expect(t);
            assert_eq!(s.data, ("Status", "xs:float"));
        }
        assert!(reserved("Device/Trigger/DigitalInput").is_some());
        assert!(reserved("Device/Trigger/Relay").is_some());
        assert!(CATALOG.iter().all(|t| reserved(t.path).is_none()));
        assert!(reserved_in(RAILGATE_TOPICS, RELAY_FALLBACK_DELAYED).is_some());
        assert!(reserved(RELAY_FALLBACK_DELAYED).is_none());
        assert!(reserved_in("urn:other", RELAY_FALLBACK_DELAYED).is_none());
        assert!(reserved_in(RAILGATE_TOPICS, CONTROLLER_LINK).is_some());
        assert!(reserved_in(RAILGATE_TOPICS, FAILING_POINTS).is_some());
        assert!(reserved(CONTROLLER_LINK).is_none());
        assert!(reserved_in("urn:other", CONTROLLER_LINK).is_none());
        assert!(reserved_in(RAILGATE_TOPICS, EVENT_STORAGE).is_some());
        assert!(reserved(EVENT_STORAGE).is_none());
        // Numbers have a quantity, booleans none.
        for t in CATALOG {
            assert_eq!(t.quantity.is_some(), t.data.1 == "xs:float", "{}", t.path);
        }
        let q = b.quantity.expect("battery is a percentage");
        assert!(q.accepts("%") && q.accepts("Percent") && !q.accepts("V"));
        assert_eq!(q.range, (0.0, 100.0));
    }

    #[test]
    fn topic_syntax() {
        assert_eq!(split("rg:Panel/State"), Ok(("rg", "Panel/State")));
        assert!(split("Panel/State").is_err());
        assert!(split("rg:").is_err());
        assert!(split("rg:A//B").is_err());
        assert!(split("rg:A/1B").is_err());
        assert!(split("1x:A").is_err());
        assert!(is_ncname("a.b-c_d") && !is_ncname("") && !is_ncname("-a"));
    }
}
