//! The topic expression parser (`railgate::events::filter::topic`), both dialects.
//!
//! The input is `dialect byte`, then the expression, then after a NUL a topic path to match.
//! Invariants:
//! - no panic (parse, match);
//! - a Concrete expression means the same in ConcreteSet (a superset);
//! - the expression inside a `wsnt:TopicExpression` element (escaped, prefixes declared on the
//!   element) parses to the same filter as the text with the same prefixes;
//! - an expression written from a topic path (`tns1:` + path, or with `//.`) matches that topic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use railgate::events::filter::topic::{CONCRETE, CONCRETE_SET, TopicFilter};
use railgate::events::model::Topic;
use railgate::xml::ns::TNS1;
use railgate::xml::{Limits, XmlWriter, tree};

fn resolve(prefix: &str) -> Option<String> {
    match prefix {
        "tns1" => Some(TNS1.to_string()),
        "v" => Some("urn:v".to_string()),
        // Bound on the element of the element form below (`xml` always is), so here too.
        "wsnt" => Some("http://docs.oasis-open.org/wsn/b-2".to_string()),
        "xml" => Some(railgate::xml::ns::XML.to_string()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (expression, path) = text
        .split_once('\0')
        .unwrap_or((text, "Device/Trigger/Relay"));
    let dialect = match selector % 3 {
        0 => CONCRETE,
        1 => CONCRETE_SET,
        _ => "urn:unknown",
    };
    let parsed = TopicFilter::parse(dialect, expression, resolve);
    let topic = Topic::onvif(path);
    if let Ok(f) = &parsed {
        let _ = f.matches(&topic);
        let _ = f.matches(&Topic {
            ns: "urn:v".into(),
            path: path.to_string(),
        });
    }
    if dialect == CONCRETE {
        if let Ok(f) = &parsed {
            let set = TopicFilter::parse(CONCRETE_SET, expression, resolve);
            assert_eq!(
                set.as_ref(),
                Ok(f),
                "Concrete vs ConcreteSet: {expression:?}"
            );
        }
    }

    // The same text in an element, prefixes from the element's scope.
    if dialect != "urn:unknown" {
        let mut w = XmlWriter::new();
        w.open(
            "wsnt:TopicExpression",
            &[
                ("xmlns:wsnt", "http://docs.oasis-open.org/wsn/b-2"),
                ("xmlns:tns1", TNS1),
                ("xmlns:v", "urn:v"),
                ("Dialect", dialect),
            ],
        );
        w.text(expression);
        w.close("wsnt:TopicExpression");
        let doc = w.finish();
        if let Ok(e) = tree::parse(doc.as_bytes(), &Limits::default()) {
            let from_element = TopicFilter::from_element(&e);
            assert_eq!(
                from_element.is_ok(),
                parsed.is_ok(),
                "element {doc:?}: {from_element:?} vs text: {parsed:?}"
            );
            if let (Ok(a), Ok(b)) = (&from_element, &parsed) {
                assert_eq!(a, b, "{doc:?}");
            }
        }
    }

    // An expression written from the topic path matches it, when the path is a valid one.
    let segments: Vec<&str> = path.split('/').collect();
    let plain = |s: &&str| {
        let mut c = s.chars();
        c.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && c.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{B7}'))
    };
    if segments.iter().all(plain) {
        let exact = format!("tns1:{path}");
        let f = TopicFilter::parse(CONCRETE, &exact, resolve)
            .unwrap_or_else(|e| panic!("{exact:?}: {e}"));
        assert!(f.matches(&topic), "{exact:?}");
        let root = format!("tns1:{}//.", segments[0]);
        let f = TopicFilter::parse(CONCRETE_SET, &root, resolve)
            .unwrap_or_else(|e| panic!("{root:?}: {e}"));
        assert!(f.matches(&topic), "{root:?}");
    }
});
