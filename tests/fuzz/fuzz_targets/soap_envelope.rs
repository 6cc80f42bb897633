//! The SOAP envelope parser (`railgate::soap::parse_envelope`) and the element tree under it
//! (`railgate::xml::tree::parse`), on arbitrary bytes.
//!
//! Invariants:
//! - no panic, whatever the bytes;
//! - an accepted document respects the limits (depth, element count, attributes per element),
//!   and its names, text and attribute values hold only characters XML 1.0 allows (a
//!   character a conformant client cannot read must never reach a response);
//! - round trip: an accepted tree written back with the response writer (`XmlWriter`, fresh
//!   prefixes, every namespace declared on the root) parses to the same tree, and
//!   `parse_envelope` gives the same answer (same request, or the same fault code) for both.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use railgate::soap::{Envelope, SoapFault, parse_envelope};
use railgate::xml::ns::XML;
use railgate::xml::{Element, Limits, XmlWriter, tree};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let envelope = parse_envelope(data, &limits);
    let Ok(root) = tree::parse(data, &limits) else {
        assert!(envelope.is_err(), "an envelope without a tree");
        return;
    };
    let mut elements = 0;
    check_limits(&root, 1, &limits, &mut elements);

    let text = write_document(&root);
    let again = tree::parse(text.as_bytes(), &limits)
        .unwrap_or_else(|e| panic!("the re-written tree does not parse: {e}\n{text}"));
    assert_same(&root, &again, &text);

    let envelope_again = parse_envelope(text.as_bytes(), &limits);
    assert_same_envelope(&envelope, &envelope_again, &text);
});

fn check_limits(e: &Element, depth: usize, limits: &Limits, elements: &mut usize) {
    *elements += 1;
    assert!(depth <= limits.max_depth, "depth {depth}");
    assert!(*elements <= limits.max_elements, "{elements} elements");
    assert!(e.attrs.len() <= limits.max_attributes);
    let strings = [&*e.name, &*e.ns, &e.text].into_iter().chain(
        e.attrs
            .iter()
            .flat_map(|a| [a.name.as_str(), a.value.as_str()]),
    );
    for s in strings {
        assert!(
            s.chars().all(is_xml_char),
            "not an XML 1.0 character in {s:?}"
        );
    }
    for c in &e.children {
        check_limits(c, depth + 1, limits, elements);
    }
}

/// XML 1.0, production [2] Char.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Every namespace URI of the tree (elements and attributes), but "" and `xml`.
fn collect_namespaces(e: &Element, out: &mut BTreeMap<String, String>) {
    let uris = std::iter::once(&*e.ns).chain(e.attrs.iter().map(|a| &*a.ns));
    for uri in uris {
        if !uri.is_empty() && uri != XML && !out.contains_key(uri) {
            let prefix = format!("p{}", out.len());
            out.insert(uri.to_string(), prefix);
        }
    }
    for c in &e.children {
        collect_namespaces(c, out);
    }
}

fn qname(prefixes: &BTreeMap<String, String>, ns: &str, local: &str) -> String {
    if ns.is_empty() {
        local.to_string()
    } else if ns == XML {
        format!("xml:{local}")
    } else {
        format!("{}:{local}", prefixes[ns])
    }
}

fn write_document(root: &Element) -> String {
    let mut prefixes = BTreeMap::new();
    collect_namespaces(root, &mut prefixes);
    let mut w = XmlWriter::new();
    let decls: Vec<(String, String)> = prefixes
        .iter()
        .map(|(uri, p)| (format!("xmlns:{p}"), uri.clone()))
        .collect();
    write_element(&mut w, root, &prefixes, &decls);
    w.finish()
}

fn write_element(
    w: &mut XmlWriter,
    e: &Element,
    prefixes: &BTreeMap<String, String>,
    decls: &[(String, String)],
) {
    let tag = qname(prefixes, &e.ns, &e.name);
    let names: Vec<String> = e
        .attrs
        .iter()
        .map(|a| qname(prefixes, &a.ns, &a.name))
        .collect();
    let mut attrs: Vec<(&str, &str)> = decls
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    attrs.extend(
        names
            .iter()
            .zip(&e.attrs)
            .map(|(n, a)| (n.as_str(), a.value.as_str())),
    );
    w.open(&tag, &attrs);
    w.text(&e.text);
    for c in &e.children {
        write_element(w, c, prefixes, &[]);
    }
    w.close(&tag);
}

fn assert_same(a: &Element, b: &Element, doc: &str) {
    assert_eq!((&*a.ns, &*a.name), (&*b.ns, &*b.name), "name in {doc}");
    assert_eq!(a.attrs, b.attrs, "attributes of {} in {doc}", a.name);
    assert_eq!(a.text, b.text, "text of {} in {doc}", a.name);
    assert_eq!(a.children.len(), b.children.len(), "children of {}", a.name);
    for (x, y) in a.children.iter().zip(&b.children) {
        assert_same(x, y, doc);
    }
}

fn assert_same_envelope(
    a: &Result<Envelope, SoapFault>,
    b: &Result<Envelope, SoapFault>,
    doc: &str,
) {
    match (a, b) {
        (Ok(x), Ok(y)) => {
            assert_eq!(x.headers.len(), y.headers.len(), "headers in {doc}");
            for (h, k) in x.headers.iter().zip(&y.headers) {
                assert_same(h, k, doc);
            }
            assert_same(&x.body, &y.body, doc);
        }
        (Err(x), Err(y)) => {
            assert_eq!(x.code, y.code, "fault code for {doc}");
            assert_eq!(x.subcodes, y.subcodes, "fault subcodes for {doc}");
            assert_eq!(
                x.not_understood, y.not_understood,
                "NotUnderstood for {doc}"
            );
        }
        _ => panic!(
            "parse_envelope: {:?} for the original, {:?} re-written: {doc}",
            a.as_ref().err(),
            b.as_ref().err()
        ),
    }
}
