//! A small element tree built with quick-xml's namespace-aware reader.
//!
//! Every element carries its namespace URI and local name (never a prefix), its attributes
//! resolved the same way, its direct text, and the namespace bindings in scope (needed to
//! resolve QName *values* such as topic expressions). Parsing is bounded: nesting depth and
//! element count are capped, DTDs are refused (so no entity can be declared, let alone
//! expanded), and only the five predefined entities and character references are accepted.
//! Every character, written or referenced (`&#1;`), must be one XML 1.0 allows (production
//! [2] `Char`): quick-xml does not check, and a control character stored from one request
//! (a scope, a user name) would make later responses unreadable to conformant clients.

use std::sync::Arc;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::ns::XML;

/// The namespace declarations made on one element, linked to those of its ancestors; an
/// element that declares nothing shares its parent's node, so a document costs one node per
/// declaring element, whatever its depth.
#[derive(Debug)]
pub struct ScopeNode {
    /// (prefix, URI) declared on the element; the default namespace has prefix "".
    pub declared: Vec<(Arc<str>, Arc<str>)>,
    /// The enclosing declarations.
    pub parent: Scope,
}

/// In-scope namespace bindings: `None` at the top of the document.
pub type Scope = Option<Arc<ScopeNode>>;

/// An attribute, by namespace and local name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Namespace URI; empty for unqualified attributes.
    pub ns: Arc<str>,
    /// Local name.
    pub name: String,
    /// Unescaped value.
    pub value: String,
}

/// One element of a parsed document.
#[derive(Clone, Debug)]
pub struct Element {
    /// Namespace URI; empty when the element is in no namespace. Shared between the
    /// elements of one document (a request repeats a handful of namespaces many times).
    pub ns: Arc<str>,
    /// Local name.
    pub name: Box<str>,
    /// Attributes other than namespace declarations.
    pub attrs: Vec<Attribute>,
    /// Child elements in document order.
    pub children: Vec<Element>,
    /// The element's own character data (text and CDATA), concatenated, untrimmed.
    pub text: String,
    /// Namespace bindings in scope at this element.
    pub scope: Scope,
}

/// Bounds on what a request may contain.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest element nesting accepted (the root is depth 1).
    pub max_depth: usize,
    /// Most elements accepted in one document.
    pub max_elements: usize,
    /// Most namespace declarations (`xmlns` attributes) accepted in one document.
    pub max_declarations: usize,
    /// Most attributes accepted on one element (duplicate checks are quadratic).
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 32,
            max_elements: 10_000,
            max_declarations: 256,
            max_attributes: 64,
        }
    }
}

/// Why a document was refused. Every variant means "not acceptable XML" to the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// Not UTF-8.
    #[error("the document is not UTF-8")]
    NotUtf8,
    /// Not well-formed.
    #[error("not well-formed: {0}")]
    Syntax(String),
    /// A document type declaration (and with it, any entity declaration).
    #[error("DTDs are not accepted")]
    Doctype,
    /// A character XML 1.0 does not allow (a C0 control other than tab, LF and CR; U+FFFE,
    /// U+FFFF), written or as a character reference.
    #[error("character U+{0:04X} is not allowed in XML")]
    NotXmlChar(u32),
    /// An entity other than the five predefined ones.
    #[error("unknown entity &{0};")]
    UnknownEntity(String),
    /// A prefix without a namespace declaration.
    #[error("unbound namespace prefix {0}")]
    UnboundPrefix(String),
    /// Nesting deeper than the limit.
    #[error("elements nested deeper than {0}")]
    TooDeep(usize),
    /// More elements than the limit.
    #[error("more than {0} elements")]
    TooManyElements(usize),
    /// More attributes on one element than the limit.
    #[error("more than {0} attributes on one element")]
    TooManyAttributes(usize),
    /// More namespace declarations than the limit.
    #[error("more than {0} namespace declarations")]
    TooManyDeclarations(usize),
    /// No root element, or content after it.
    #[error("{0}")]
    Structure(&'static str),
}

impl Element {
    /// The first child with this namespace and local name.
    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// Every child with this namespace and local name.
    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// Whether this element has this namespace and local name.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        &*self.ns == ns && &*self.name == name
    }

    /// The element's text with surrounding XML white space removed.
    pub fn text_trim(&self) -> &str {
        self.text
            .trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
    }

    /// The value of an attribute (namespace "" for unqualified ones).
    pub fn attr(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| &*a.ns == ns && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// Resolves a QName value (`prefix:local` or `local`) against this element's scope.
    /// Returns (namespace URI, local name); an unprefixed name takes the default namespace.
    pub fn resolve_qname<'a>(&self, qname: &'a str) -> Option<(String, &'a str)> {
        let (prefix, local) = match qname.split_once(':') {
            Some((p, l)) => (p, l),
            None => ("", qname),
        };
        if local.is_empty() {
            return None;
        }
        if prefix == "xml" {
            return Some((super::ns::XML.to_string(), local));
        }
        let mut node = self.scope.as_deref();
        while let Some(n) = node {
            if let Some((_, uri)) = n.declared.iter().rev().find(|(p, _)| &**p == prefix) {
                return Some((uri.to_string(), local));
            }
            node = n.parent.as_deref();
        }
        prefix.is_empty().then(|| (String::new(), local))
    }
}

/// Parses a whole document and returns its root element.
pub fn parse(input: &[u8], limits: &Limits) -> Result<Element, ParseError> {
    let text = std::str::from_utf8(input).map_err(|_| ParseError::NotUtf8)?;
    check_chars(text)?;
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    config.check_comments = true;

    let mut ns = Namespaces {
        max_declarations: limits.max_declarations,
        max_attributes: limits.max_attributes,
        ..Namespaces::default()
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| ParseError::Syntax(e.to_string()))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(ParseError::Structure("content after the root element"));
                }
                count += 1;
                if count > limits.max_elements {
                    return Err(ParseError::TooManyElements(limits.max_elements));
                }
                if stack.len() + 1 > limits.max_depth {
                    return Err(ParseError::TooDeep(limits.max_depth));
                }
                let parent_scope = stack.last().map(|p: &Element| p.scope.clone());
                let element = ns.start(&start, parent_scope)?;
                stack.push(element);
            }
            Event::End(_) => {
                ns.end();
                let done = stack
                    .pop()
                    .ok_or(ParseError::Structure("unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(current) => current.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(ParseError::Structure("text outside the root element")),
                }
            }
            Event::CData(c) => match stack.last_mut() {
                Some(current) => current.text.push_str(&c.xml10_content()),
                None => return Err(ParseError::Structure("CDATA outside the root element")),
            },
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) if !is_xml_char(c) => {
                        return Err(ParseError::NotXmlChar(u32::from(c)));
                    }
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => quick_xml::escape::resolve_predefined_entity(&r)
                        .ok_or_else(|| ParseError::UnknownEntity(r.to_string()))?
                        .to_string(),
                    Err(e) => return Err(ParseError::Syntax(e.to_string())),
                };
                match stack.last_mut() {
                    Some(current) => current.text.push_str(&resolved),
                    None => {
                        return Err(ParseError::Structure("reference outside the root element"));
                    }
                }
            }
            Event::DocType(_) => return Err(ParseError::Doctype),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Empty(_) => unreachable!("expand_empty_elements is set"),
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(ParseError::Syntax("unexpected end of document".into()));
    }
    root.ok_or(ParseError::Structure("no root element"))
}

/// XML 1.0, production [2]: `#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
/// [#x10000-#x10FFFF]` (surrogates cannot be in a `str`).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Every character of `s` is a `Char`. ASCII goes 64 bytes at a time (a branch-free test the
/// compiler vectorises; SOAP requests are ASCII in practice): its only non-`Char`s are the C0
/// controls other than TAB, LF and CR. From the first block holding anything else (a boundary:
/// every byte before it is ASCII), character by character.
fn check_chars(s: &str) -> Result<(), ParseError> {
    let plain = |b: u8| (0x20..0x80).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r');
    let clean = s
        .as_bytes()
        .chunks(64)
        .take_while(|block| block.iter().fold(true, |all, &b| all & plain(b)))
        .count()
        * 64;
    match s
        .get(clean..)
        .unwrap_or("")
        .chars()
        .find(|&c| !is_xml_char(c))
    {
        Some(c) => Err(ParseError::NotXmlChar(u32::from(c))),
        None => Ok(()),
    }
}

/// Namespace resolution for one document: the bindings in force (a stack, with a mark per
/// open element), and the URIs seen; prefixes and URIs are shared rather than copied into
/// every element and scope node.
#[derive(Default)]
struct Namespaces {
    bindings: Vec<(Arc<str>, Arc<str>)>,
    marks: Vec<usize>,
    uris: Vec<Arc<str>>,
    declarations: usize,
    max_declarations: usize,
    max_attributes: usize,
}

impl Namespaces {
    fn intern(&mut self, uri: &str) -> Arc<str> {
        if let Some(found) = self.uris.iter().find(|u| &***u == uri) {
            return found.clone();
        }
        let new: Arc<str> = Arc::from(uri);
        self.uris.push(new.clone());
        new
    }

    /// The URI bound to `prefix` ("" for the default namespace; an empty URI when unbound).
    fn resolve(&mut self, prefix: &str) -> Result<Arc<str>, ParseError> {
        if prefix == "xml" {
            return Ok(self.intern(XML));
        }
        match self.bindings.iter().rev().find(|(p, _)| &**p == prefix) {
            Some((_, uri)) => Ok(uri.clone()),
            None if prefix.is_empty() => Ok(self.intern("")),
            None => Err(ParseError::UnboundPrefix(prefix.to_string())),
        }
    }

    /// Opens an element: records its declarations, resolves its name and attributes.
    fn start(
        &mut self,
        start: &BytesStart<'_>,
        parent_scope: Option<Scope>,
    ) -> Result<Element, ParseError> {
        self.marks.push(self.bindings.len());
        let mut raw_attrs: Vec<(&str, String)> = Vec::new();
        for (i, attr) in start.attributes().enumerate() {
            if i >= self.max_attributes {
                return Err(ParseError::TooManyAttributes(self.max_attributes));
            }
            let attr = attr.map_err(|e| ParseError::Syntax(e.to_string()))?;
            let key: &str = attr.key.into_inner();
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| ParseError::Syntax(e.to_string()))?;
            // Written characters were checked with the document; references resolve here.
            check_chars(&value)?;
            let declared = if key == "xmlns" {
                Some("")
            } else {
                key.strip_prefix("xmlns:")
            };
            match declared {
                Some(prefix) if !prefix.is_empty() && !is_ncname(prefix) => {
                    return Err(ParseError::Syntax(format!(
                        "{prefix:?} cannot be declared as a prefix"
                    )));
                }
                Some(prefix) => {
                    self.declarations += 1;
                    if self.declarations > self.max_declarations {
                        return Err(ParseError::TooManyDeclarations(self.max_declarations));
                    }
                    if !prefix.is_empty() && value.is_empty() {
                        return Err(ParseError::Syntax(format!(
                            "the prefix {prefix} cannot be undeclared"
                        )));
                    }
                    let uri = self.intern(&value);
                    self.bindings.push((prefix.into(), uri));
                }
                None => raw_attrs.push((key, value.into_owned())),
            }
        }
        let (prefix, name) = split_qname(start.name().into_inner())?;
        let ns = self.resolve(prefix)?;
        let mut attrs = Vec::with_capacity(raw_attrs.len());
        for (key, value) in raw_attrs {
            let (prefix, local) = split_qname(key)?;
            // Unprefixed attributes are in no namespace, whatever the default namespace is.
            let ns = if prefix.is_empty() {
                self.intern("")
            } else {
                self.resolve(prefix)?
            };
            attrs.push(Attribute {
                ns,
                name: local.to_string(),
                value,
            });
        }
        let mark = *self.marks.last().unwrap_or(&0);
        let scope = if self.bindings.len() > mark {
            Some(Arc::new(ScopeNode {
                declared: self.bindings[mark..].to_vec(),
                parent: parent_scope.flatten(),
            }))
        } else {
            parent_scope.flatten()
        };
        Ok(Element {
            ns,
            name: name.into(),
            attrs,
            children: Vec::new(),
            text: String::new(),
            scope,
        })
    }

    /// Closes the innermost element: its declarations go out of scope.
    fn end(&mut self) {
        let mark = self.marks.pop().unwrap_or(0);
        self.bindings.truncate(mark);
    }
}

/// `prefix:local` or `local`, each part an NCName (Namespaces in XML 1.0, [4]); quick-xml
/// takes any bytes between `<` and white space as a name.
fn split_qname(qname: &str) -> Result<(&str, &str), ParseError> {
    let (prefix, local) = qname.split_once(':').unwrap_or(("", qname));
    let prefix_ok = is_ncname(prefix) || (prefix.is_empty() && !qname.contains(':'));
    if is_ncname(local) && prefix_ok {
        Ok((prefix, local))
    } else {
        Err(ParseError::Syntax(format!(
            "{qname:?} is not a qualified name"
        )))
    }
}

/// An XML name without a colon: a NameStartChar, then NameChars (XML 1.0, [4] and [4a]).
fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start_char) && chars.all(is_name_char)
}

fn is_name_start_char(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Element, ParseError> {
        parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn resolves_namespaces_not_prefixes() {
        let a = p(r#"<a:x xmlns:a="urn:1"><y xmlns="urn:2" q="1"/></a:x>"#).unwrap();
        let b = p(r#"<x xmlns="urn:1"><b:y xmlns:b="urn:2" q="1"></b:y></x>"#).unwrap();
        for root in [&a, &b] {
            assert!(root.is("urn:1", "x"));
            let y = root.child("urn:2", "y").expect("child by namespace");
            assert_eq!(y.attr("", "q"), Some("1"));
        }
    }

    #[test]
    fn text_with_references_and_cdata() {
        let e = p("<a>1 &lt; 2 &amp;&#65;&#x42;<![CDATA[<c>]]></a>").unwrap();
        assert_eq!(e.text, "1 < 2 &AB<c>");
    }

    #[test]
    fn refuses_doctype_and_custom_entities() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "bbbbbbbb">]><a>&b;</a>"#;
        assert_eq!(p(bomb).unwrap_err(), ParseError::Doctype);
        assert!(matches!(
            p("<a>&b;</a>").unwrap_err(),
            ParseError::UnknownEntity(_)
        ));
    }

    #[test]
    fn bounds_depth_and_count() {
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert_eq!(p(&deep).unwrap_err(), ParseError::TooDeep(32));
        let many = format!("<a>{}</a>", "<b/>".repeat(20));
        let limits = Limits {
            max_depth: 8,
            max_elements: 10,
            max_declarations: 256,
            max_attributes: 64,
        };
        assert_eq!(
            parse(many.as_bytes(), &limits).unwrap_err(),
            ParseError::TooManyElements(10)
        );
    }

    #[test]
    fn refuses_malformed_input() {
        for bad in [
            "<a>",
            "<a></b>",
            "",
            "text",
            "<a/><b/>",
            "<p:a/>",
            "<a x='1' x='2'/>",
            "\u{feff}\u{0}",
        ] {
            assert!(p(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            parse(&[0xff, 0xfe, 0x3c], &Limits::default()).unwrap_err(),
            ParseError::NotUtf8
        );
    }

    /// Found by the soap_envelope fuzz target: `&#1;` (or a raw control character) was
    /// accepted and could be stored, then written into responses no conformant client reads.
    #[test]
    fn refuses_characters_xml_does_not_allow() {
        for bad in [
            "<a>&#1;</a>",
            "<a>&#x1F;</a>",
            "<a>\u{1}</a>",
            "<a x='&#8;'/>",
            "<a x='\u{b}'/>",
            "<a>&#xFFFE;</a>",
            "<a>\u{ffff}</a>",
            "<a\u{1}/>",
            "<a xmlns:p='urn:&#2;'/>",
        ] {
            assert!(
                matches!(p(bad), Err(ParseError::NotXmlChar(_))),
                "{bad:?}: {:?}",
                p(bad)
            );
        }
        // Past the ASCII blocks too: at every offset around a block boundary.
        let pad = "x".repeat(200);
        for at in [0, 1, 62, 63, 64, 65, 127, 128, 190] {
            for (bad, code) in [
                ("\u{1}", 1),
                ("\u{1f}", 0x1f),
                ("\u{fffe}", 0xfffe),
                ("\u{ffff}", 0xffff),
            ] {
                let doc = format!("<a>{}{bad}{}</a>", &pad[..at], &pad[at..]);
                assert_eq!(
                    p(&doc).unwrap_err(),
                    ParseError::NotXmlChar(code),
                    "{at} {bad:?}"
                );
            }
            let fine = format!(
                "<a>{}é\u{7f}\u{fffd}\u{10000}漢\t\r\n{}</a>",
                &pad[..at],
                &pad[at..]
            );
            assert!(p(&fine).is_ok(), "{at}");
        }
        let ok = p("<a x='&#9;&#10;&#13;'>&#9;&#10;&#13;&#x10FFFF;\u{e000}\t</a>").unwrap();
        assert_eq!(ok.text, "\t\n\r\u{10FFFF}\u{e000}\t");
        assert_eq!(ok.attr("", "x"), Some("\t\n\r"));
    }

    /// Found by the soap_envelope fuzz target: quick-xml reads any bytes up to white space as
    /// a name, so `<%10/x'>` was an element named `%10/x'`, which no response can echo.
    #[test]
    fn names_are_ncnames() {
        for bad in [
            "<%10/events/x'/>",
            "<a '''4='1'/>",
            "<a b\"='1'/>",
            "<1a/>",
            "<-a/>",
            "<a:/>",
            "<:a/>",
            "<a:b:c xmlns:a='urn:a'/>",
            "<a xmlns:1p='urn:x'/>",
            "<a xmlns:p:q='urn:x'/>",
            "<a xmlns:p='urn:x' p:='1'/>",
        ] {
            assert!(p(bad).is_err(), "{bad:?} was accepted");
        }
        let ok = p("<_a.b-c\u{b7}1 xmlns:é='urn:x' é:ñ='1'><\u{10000}/></_a.b-c\u{b7}1>").unwrap();
        assert_eq!(&*ok.name, "_a.b-c\u{b7}1");
        assert_eq!(ok.attr("urn:x", "ñ"), Some("1"));
    }

    #[test]
    fn resolves_qname_values_in_scope() {
        let e = p(r#"<a xmlns:t="urn:t" xmlns="urn:d"><b>t:X</b></a>"#).unwrap();
        let b = &e.children[0];
        assert_eq!(b.resolve_qname("t:X"), Some(("urn:t".to_string(), "X")));
        assert_eq!(b.resolve_qname("Y"), Some(("urn:d".to_string(), "Y")));
        assert_eq!(b.resolve_qname("u:Z"), None);
    }

    #[test]
    fn namespace_edge_cases() {
        let e =
            p(r#"<a xmlns="urn:d"><b xmlns=""><c/></b><x:d xmlns:x="urn:x" xml:lang="en"/></a>"#)
                .unwrap();
        assert!(e.is("urn:d", "a"));
        let b = &e.children[0];
        assert!(b.is("", "b"), "xmlns=\"\" takes the default namespace away");
        assert!(b.children[0].is("", "c"));
        let d = &e.children[1];
        assert!(d.is("urn:x", "d"));
        assert_eq!(d.attr(crate::xml::ns::XML, "lang"), Some("en"));
        // Declarations end with their element.
        assert!(matches!(
            p(r#"<a><x:b xmlns:x="urn:x"/><x:c/></a>"#),
            Err(ParseError::UnboundPrefix(_))
        ));
        assert!(
            p(r#"<a xmlns:x=""/>"#).is_err(),
            "prefixes cannot be undeclared in XML 1.0"
        );
        assert!(p("<a:b:c xmlns:a='urn:a'/>").is_err());
    }

    #[test]
    fn namespace_declarations_are_bounded() {
        // One declaration per element, many elements: memory stays linear (one scope node per
        // declaring element, holding only its own declarations), and the count is capped.
        let many: String = (0..300)
            .map(|i| format!("<e xmlns:p{i}=\"urn:{i}\"/>"))
            .collect();
        let doc = format!("<r>{many}</r>");
        assert_eq!(p(&doc).unwrap_err(), ParseError::TooManyDeclarations(256));
        let fewer: String = (0..200)
            .map(|i| format!("<p{i}:e xmlns:p{i}=\"urn:{i}\"/>"))
            .collect();
        let root = p(&format!("<r xmlns:t=\"urn:t\">{fewer}</r>")).unwrap();
        let last = root.children.last().unwrap();
        assert!(last.is("urn:199", "e"));
        assert_eq!(
            last.resolve_qname("t:x"),
            Some(("urn:t".to_string(), "x")),
            "ancestors' declarations are seen"
        );
        assert_eq!(last.scope.as_ref().unwrap().declared.len(), 1);
    }

    #[test]
    fn attributes_per_element_are_bounded() {
        let attrs: String = (0..100).map(|i| format!(" a{i}=\"x\"")).collect();
        assert_eq!(
            p(&format!("<r{attrs}/>")).unwrap_err(),
            ParseError::TooManyAttributes(64)
        );
    }
}
