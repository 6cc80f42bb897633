//! The message content filter parser (`railgate::events::filter::content`, ONVIF ItemFilter).
//!
//! The input is the expression, then after a NUL the items of a message to test, as
//! `name=value` lines (a line without `=` is an ElementItem).
//! Invariants:
//! - no panic (parse, match, display);
//! - round trip: the canonical text (`Display`) of an accepted filter parses to the same
//!   filter (or, the canonical form wrapping each path in `boolean(...)`, is refused only for
//!   nesting too deep), and is a fixed point;
//! - `not(expr)` matches exactly the messages `expr` does not;
//! - the text inside a `wsnt:MessageContent` element parses to the same filter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use railgate::events::filter::content::{ContentFilter, ContentFilterError, ITEM_FILTER};
use railgate::events::model::Item;
use railgate::xml::ns::TT;
use railgate::xml::{Limits, XmlWriter, tree};

fn resolve(prefix: &str) -> Option<String> {
    match prefix {
        "tt" | "sch" => Some(TT.to_string()),
        "x" => Some("urn:x".to_string()),
        _ => None,
    }
}

fn items(text: &str) -> Vec<Item> {
    text.lines()
        .take(16)
        .map(|l| match l.split_once('=') {
            Some((n, v)) => Item::simple(n, v),
            None => Item::Element {
                name: l.to_string(),
                xml: "<x/>".into(),
            },
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (expression, message) = text.split_once('\0').unwrap_or((text, "A=1\nB"));
    let all = items(message);
    let (source, rest) = all.split_at(all.len().min(2));
    let (key, data_items) = rest.split_at(rest.len().min(2));

    let parsed = ContentFilter::parse(ITEM_FILTER, expression, resolve);
    let Ok(filter) = &parsed else {
        check_element(expression, &parsed);
        return;
    };
    let verdict = filter.matches(source, key, data_items);

    let canonical = filter.to_string();
    match ContentFilter::parse(ITEM_FILTER, &canonical, resolve) {
        Ok(again) => {
            assert_eq!(&again, filter, "{expression:?} -> {canonical:?}");
            assert_eq!(again.to_string(), canonical, "not a fixed point");
        }
        Err(ContentFilterError::Unsupported(m)) if m.contains("nested deeper") => {}
        Err(e) => panic!("{expression:?} -> {canonical:?}: {e}"),
    }

    if let Ok(negated) = ContentFilter::parse(ITEM_FILTER, &format!("not({expression})"), resolve) {
        assert_eq!(
            negated.matches(source, key, data_items),
            !verdict,
            "not({expression:?})"
        );
    }
    check_element(expression, &parsed);
});

fn check_element(expression: &str, parsed: &Result<ContentFilter, ContentFilterError>) {
    let mut w = XmlWriter::new();
    w.open(
        "wsnt:MessageContent",
        &[
            ("xmlns:wsnt", "http://docs.oasis-open.org/wsn/b-2"),
            ("xmlns:tt", TT),
            ("xmlns:sch", TT),
            ("xmlns:x", "urn:x"),
            ("Dialect", ITEM_FILTER),
        ],
    );
    w.text(expression);
    w.close("wsnt:MessageContent");
    let doc = w.finish();
    let Ok(e) = tree::parse(doc.as_bytes(), &Limits::default()) else {
        return;
    };
    let from_element = ContentFilter::from_element(&e);
    match (&from_element, parsed) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{doc:?}"),
        (Err(_), Err(_)) => {}
        _ => panic!("element {doc:?}: {from_element:?}, text: {parsed:?}"),
    }
}
