//! Topic filters: the `wsnt:TopicExpression` of a subscription.
//!
//! Two dialects are supported, the two ONVIF Core ("Get event properties") makes mandatory:
//!
//! - [`CONCRETE`] (WS-Topics 1.3): one topic, `prefix:Root/Child/...`, matched exactly.
//! - [`CONCRETE_SET`] (ONVIF Core, "Topic Filter"): Concrete paths joined by `|`, each
//!   optionally ending in `//.`, which selects the topic *and all its descendants*:
//!
//! ```text
//! TopicExpression ::= TopicPath ('|' TopicPath)*
//! TopicPath       ::= RootTopic ('/' ChildTopicName)* ('//.')?
//! RootTopic       ::= QName            ChildTopicName ::= QName | NCName
//! ```
//!
//! White space is accepted around `|` and `/` and at either end. The root prefix is resolved
//! to its namespace URI when the filter is parsed and matching compares URIs, so any prefix
//! bound to the ONVIF topic namespace works like `tns1`; an unprefixed root takes the default
//! namespace (none: the empty URI). A child may be a QName: its prefix must be bound, and, as
//! ONVIF Core says, only its local part has to correspond to a topic name (the event model
//! keeps one namespace per topic). Wildcards (`*`), `//` inside a path, `.` and `..` belong
//! to the WS-Topics Full dialect, which is not supported, and are refused with a message
//! saying so; so is anything else outside the grammar.

use crate::events::model::Topic;
use crate::xml::Element;

/// The ONVIF ConcreteSet dialect: Concrete paths, `|` alternatives and `//.` sub-trees.
pub const CONCRETE_SET: &str = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet";
/// The WS-Topics 1.3 Concrete dialect: exactly one topic.
pub const CONCRETE: &str = "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete";

/// Why a topic expression was refused; the service maps these to the WS-BaseNotification
/// faults `TopicExpressionDialectUnknownFault` and `InvalidTopicExpressionFault`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TopicFilterError {
    /// The Dialect is neither [`CONCRETE`] nor [`CONCRETE_SET`].
    #[error("topic expression dialect {0} is not supported")]
    UnknownDialect(String),
    /// The expression is not valid in its dialect.
    #[error("invalid topic expression: {0}")]
    Invalid(String),
}

/// A parsed topic expression: matches a topic when any of its alternatives does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicFilter {
    alternatives: Vec<TopicPath>,
}

/// One alternative: a topic, or with `subtree` the topic and every topic below it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TopicPath {
    ns: String,
    segments: Vec<String>,
    subtree: bool,
}

impl TopicFilter {
    /// Parses `expression` in `dialect`. `resolve` maps a prefix ("" for none) to a namespace
    /// URI, from the TopicExpression element's scope; `None` means unbound (for "": no default
    /// namespace).
    pub fn parse(
        dialect: &str,
        expression: &str,
        resolve: impl Fn(&str) -> Option<String>,
    ) -> Result<TopicFilter, TopicFilterError> {
        let set = match dialect.trim_matches(is_xml_space) {
            CONCRETE_SET => true,
            CONCRETE => false,
            other => return Err(TopicFilterError::UnknownDialect(other.to_string())),
        };
        let mut alternatives = Vec::new();
        for (i, text) in expression.split('|').enumerate() {
            if i > 0 && !set {
                return Err(invalid(format!(
                    "`|` alternatives need the ConcreteSet dialect, not Concrete: {expression:?}"
                )));
            }
            alternatives.push(parse_path(text.trim_matches(is_xml_space), set, &resolve)?);
        }
        Ok(TopicFilter { alternatives })
    }

    /// Parses a `wsnt:TopicExpression` element: its `Dialect` attribute and its text, with
    /// prefixes resolved in the element's scope. WS-BaseNotification makes `Dialect`
    /// mandatory; a missing one is read as [`CONCRETE_SET`], a superset of [`CONCRETE`] that
    /// gives every Concrete expression its Concrete meaning.
    pub fn from_element(e: &Element) -> Result<TopicFilter, TopicFilterError> {
        let dialect = e.attr("", "Dialect").unwrap_or(CONCRETE_SET);
        TopicFilter::parse(dialect, &e.text, |prefix| resolve_prefix(e, prefix))
    }

    /// Whether `topic` is selected: same namespace URI and same path, or for a `//.`
    /// alternative a path that starts with the alternative's segments.
    pub fn matches(&self, topic: &Topic) -> bool {
        self.alternatives.iter().any(|alt| {
            let mut segments = topic.segments();
            alt.ns == topic.ns
                && alt
                    .segments
                    .iter()
                    .all(|s| segments.next() == Some(s.as_str()))
                && (alt.subtree || segments.next().is_none())
        })
    }
}

/// The namespace bound to `prefix` ("" for the default namespace) in the element's scope.
pub(crate) fn resolve_prefix(e: &Element, prefix: &str) -> Option<String> {
    let probe = if prefix.is_empty() {
        "x".to_string()
    } else {
        format!("{prefix}:x")
    };
    e.resolve_qname(&probe).map(|(ns, _)| ns)
}

fn parse_path(
    text: &str,
    set: bool,
    resolve: &impl Fn(&str) -> Option<String>,
) -> Result<TopicPath, TopicFilterError> {
    if text.is_empty() {
        return Err(invalid("empty topic path".to_string()));
    }
    let (body, subtree) = match text.strip_suffix("//.") {
        Some(_) if !set => {
            return Err(invalid(format!(
                "`//.` sub-trees need the ConcreteSet dialect, not Concrete: {text:?}"
            )));
        }
        Some(body) => (body.trim_matches(is_xml_space), true),
        None => (text, false),
    };
    if body.contains("//") {
        return Err(invalid(format!(
            "`//` is only allowed as the final `//.` (descendant paths belong to the Full \
             dialect): {text:?}"
        )));
    }
    let (mut root_ns, mut segments) = (String::new(), Vec::new());
    for (i, raw) in body.split('/').enumerate() {
        let name = raw.trim_matches(is_xml_space);
        if name.contains('*') || name == "." || name == ".." {
            return Err(invalid(format!(
                "`{name}` belongs to the WS-Topics Full dialect, which is not supported: {text:?}"
            )));
        }
        let (prefix, local) = name.split_once(':').unwrap_or(("", name));
        if name.is_empty() || !is_ncname(local) || (!prefix.is_empty() && !is_ncname(prefix)) {
            let what = if name.is_empty() {
                "empty topic name"
            } else {
                "not a topic name"
            };
            return Err(invalid(format!("{what} {name:?} in {text:?}")));
        }
        let ns = match resolve(prefix) {
            Some(ns) => ns,
            None if prefix.is_empty() => String::new(),
            None => return Err(invalid(format!("unbound prefix `{prefix}` in {text:?}"))),
        };
        if i == 0 {
            root_ns = ns;
        }
        segments.push(local.to_string());
    }
    Ok(TopicPath {
        ns: root_ns,
        segments,
        subtree,
    })
}

fn invalid(message: String) -> TopicFilterError {
    TopicFilterError::Invalid(message)
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// An XML NCName (letters as Unicode sees them; close enough to the XML name tables).
fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{B7}'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::ns::TNS1;
    use crate::xml::tree::{Limits, parse};

    fn resolve(prefix: &str) -> Option<String> {
        match prefix {
            "tns1" | "o" => Some(TNS1.to_string()),
            "v" => Some("urn:v".to_string()),
            _ => None,
        }
    }

    /// The alternatives, `tns1:` standing for the ONVIF namespace, or the error kind.
    fn render(dialect: &str, expr: &str) -> String {
        match TopicFilter::parse(dialect, expr, resolve) {
            Ok(f) => f
                .alternatives
                .iter()
                .map(|a| {
                    let ns = if a.ns == TNS1 {
                        "tns1:".into()
                    } else {
                        format!("{{{}}}", a.ns)
                    };
                    format!(
                        "{ns}{}{}",
                        a.segments.join("/"),
                        if a.subtree { "//." } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join(" | "),
            Err(TopicFilterError::UnknownDialect(_)) => "dialect".into(),
            Err(TopicFilterError::Invalid(_)) => "invalid".into(),
        }
    }

    #[test]
    fn parses_the_dialects() {
        #[rustfmt::skip]
        let set: &[(&str, &str)] = &[
            ("tns1:Device/Trigger/Relay", "tns1:Device/Trigger/Relay"),
            // The examples of ONVIF Core, "Topic Filter".
            ("tns1:RuleEngine/FieldDetector//.", "tns1:RuleEngine/FieldDetector//."),
            ("\ntns1:VideoAnalytics//.\n", "tns1:VideoAnalytics//."),
            ("tns1:VideoAnalytics//.|tns1:RuleEngine//.", "tns1:VideoAnalytics//. | tns1:RuleEngine//."),
            ("tns1:RuleEngine/FieldDetector//.|tns1:RuleEngine/LineDetector//.",
             "tns1:RuleEngine/FieldDetector//. | tns1:RuleEngine/LineDetector//."),
            (" o:Door / State //. | v:X ", "tns1:Door/State//. | {urn:v}X"),
            ("tns1:Device/v:Sensor/PIR", "tns1:Device/Sensor/PIR"),
            ("Device", "{}Device"),
        ];
        let bad = [
            "",
            "tns1:A||tns1:B",
            "tns1:A/",
            "tns1:A//B",
            "tns1:A//.//.",
            "tns1:A/*",
            "tns1:*",
            "tns1:A/./B",
            "tns1:A/..",
            "x:A",
            "tns1:A/x:B",
            "tns1:",
            "tns1:A B",
            "tns1:A:B",
            "tns1:1A",
        ];
        let set = set
            .iter()
            .copied()
            .chain(bad.iter().map(|b| (*b, "invalid")));
        for (expr, want) in set {
            assert_eq!(render(CONCRETE_SET, expr), want, "{expr:?}");
        }
        for (expr, want) in [
            ("tns1:Device/Trigger/Relay", "tns1:Device/Trigger/Relay"),
            ("tns1:A|tns1:B", "invalid"),
            ("tns1:A//.", "invalid"),
        ] {
            assert_eq!(render(CONCRETE, expr), want, "{expr:?}");
        }
        assert_eq!(render("urn:full", "tns1:A"), "dialect");
        let err = TopicFilter::parse(CONCRETE_SET, "tns1:A/*", resolve).unwrap_err();
        assert!(err.to_string().contains("Full dialect"), "{err}");
    }

    #[test]
    fn matches_namespaces_not_prefixes() {
        const FIELD: &str = "tns1:RuleEngine/FieldDetector//.";
        const EITHER: &str = "tns1:VideoAnalytics//.|tns1:RuleEngine//.";
        #[rustfmt::skip]
        let table: &[(&str, &str, bool)] = &[
            (FIELD, "RuleEngine/FieldDetector", true),
            (FIELD, "RuleEngine/FieldDetector/ObjectsInside", true),
            (FIELD, "RuleEngine/FieldDetectorX", false),
            (FIELD, "RuleEngine", false),
            (EITHER, "RuleEngine/LineDetector/Crossed", true),
            (EITHER, "Device/Trigger/Relay", false),
            ("o:Device/Trigger/Relay", "Device/Trigger/Relay", true),
            ("tns1:Device/Trigger", "Device/Trigger/Relay", false),
            ("tns1:Device/Trigger/Relay", "Device/Trigger", false),
            ("v:Device/Trigger/Relay", "Device/Trigger/Relay", false),
            ("Device//.", "Device/Trigger/Relay", false),
        ];
        for &(expr, path, want) in table {
            let filter = TopicFilter::parse(CONCRETE_SET, expr, resolve).unwrap();
            assert_eq!(filter.matches(&Topic::onvif(path)), want, "{expr} ~ {path}");
        }
        let vendor = Topic {
            ns: "urn:v".into(),
            path: "Device/Trigger/Relay".into(),
        };
        let filter = TopicFilter::parse(CONCRETE, "v:Device/Trigger/Relay", resolve).unwrap();
        assert!(filter.matches(&vendor));
    }

    #[test]
    fn from_element_uses_the_element_scope() {
        let doc = format!(
            r#"<wsnt:Filter xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:ev="{TNS1}">
                 <wsnt:TopicExpression Dialect=" {CONCRETE_SET} ">
                   ev:Device/Trigger//. | ev:Door/State//.
                 </wsnt:TopicExpression>
                 <wsnt:TopicExpression xmlns="{TNS1}">Device/Trigger/Relay</wsnt:TopicExpression>
                 <wsnt:TopicExpression Dialect="{CONCRETE}">tns1:Door</wsnt:TopicExpression>
                 <wsnt:TopicExpression Dialect="urn:x">ev:Door</wsnt:TopicExpression>
               </wsnt:Filter>"#
        );
        let root = parse(doc.as_bytes(), &Limits::default()).unwrap();
        let e: Vec<_> = root
            .children
            .iter()
            .map(TopicFilter::from_element)
            .collect();
        let relay = Topic::onvif("Device/Trigger/Relay");
        let first = e[0].as_ref().unwrap();
        assert!(first.matches(&relay) && first.matches(&Topic::onvif("Door/State/DoorMode")));
        assert!(
            e[1].as_ref()
                .expect("no Dialect: ConcreteSet")
                .matches(&relay)
        );
        let unbound = TopicFilterError::Invalid("unbound prefix `tns1` in \"tns1:Door\"".into());
        assert_eq!(e[2], Err(unbound));
        assert_eq!(e[3], Err(TopicFilterError::UnknownDialect("urn:x".into())));
    }

    #[test]
    fn random_input_never_panics() {
        const PIECES: &[&str] = &[
            "tns1", "o", "x", ":", "/", "//", "//.", "|", "*", ".", " ", "é", "A", "\u{0}", "-",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..4000 {
            let mut next = |n: usize| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed % n as u64) as usize
            };
            let expr: String = (0..next(12)).map(|_| PIECES[next(PIECES.len())]).collect();
            for dialect in [CONCRETE, CONCRETE_SET] {
                if let Ok(f) = TopicFilter::parse(dialect, &expr, resolve) {
                    f.matches(&Topic::onvif("A/x"));
                }
            }
        }
    }
}
