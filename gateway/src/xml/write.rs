//! A minimal XML writer for responses: prefixes are fixed and declared once on the envelope
//! (see [`super::ns::ENVELOPE_DECLS`]), so writing is appending escaped text to a `String`.

use super::tree::Element;

/// Appends elements to a string buffer. Tag names are written as given (`tds:Foo`).
#[derive(Debug, Default)]
pub struct XmlWriter {
    buf: String,
}

impl XmlWriter {
    /// An empty writer.
    pub fn new() -> Self {
        XmlWriter {
            buf: String::with_capacity(1024),
        }
    }

    /// `<tag a="v"...>`
    pub fn open(&mut self, tag: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(tag);
        self.attrs(attrs);
        self.buf.push('>');
        self
    }

    /// `</tag>`
    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.buf.push_str("</");
        self.buf.push_str(tag);
        self.buf.push('>');
        self
    }

    /// `<tag a="v"/>`
    pub fn empty(&mut self, tag: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(tag);
        self.attrs(attrs);
        self.buf.push_str("/>");
        self
    }

    /// `<tag>text</tag>`, with the text escaped.
    pub fn leaf(&mut self, tag: &str, text: &str) -> &mut Self {
        self.open(tag, &[]);
        self.text(text);
        self.close(tag)
    }

    /// Escaped character data.
    pub fn text(&mut self, text: &str) -> &mut Self {
        escape_into(&mut self.buf, text, false);
        self
    }

    /// Appends markup that was produced by another `XmlWriter` (or a trusted constant).
    pub fn raw(&mut self, markup: &str) -> &mut Self {
        self.buf.push_str(markup);
        self
    }

    /// `<tag>` + whatever `body` writes + `</tag>`.
    pub fn with(
        &mut self,
        tag: &str,
        attrs: &[(&str, &str)],
        body: impl FnOnce(&mut Self),
    ) -> &mut Self {
        self.open(tag, attrs);
        body(self);
        self.close(tag)
    }

    /// Writes a parsed element back (e.g. a client's WS-Addressing reference parameter),
    /// with `extra` attributes on it. Every namespace gets a prefix declared where it is used
    /// (`c<depth>` for the element, `c<depth>a<i>` for its attributes), so the copy means the
    /// same wherever it is put. The element's text is written before its children (the tree
    /// keeps no mixed-content order).
    pub fn element(&mut self, el: &Element, extra: &[(&str, &str)]) -> &mut Self {
        self.element_at(el, extra, 0)
    }

    fn element_at(&mut self, el: &Element, extra: &[(&str, &str)], depth: usize) -> &mut Self {
        let (tag, decl) = if el.ns.is_empty() {
            (el.name.to_string(), None)
        } else {
            let prefix = format!("c{depth}");
            (
                format!("{prefix}:{}", el.name),
                Some((format!("xmlns:{prefix}"), el.ns.to_string())),
            )
        };
        let mut owned: Vec<(String, String)> = Vec::new();
        if let Some(d) = decl {
            owned.push(d);
        }
        for (i, a) in el.attrs.iter().enumerate() {
            if a.ns.is_empty() {
                owned.push((a.name.clone(), a.value.clone()));
            } else {
                let prefix = format!("c{depth}a{i}");
                owned.push((format!("xmlns:{prefix}"), a.ns.to_string()));
                owned.push((format!("{prefix}:{}", a.name), a.value.clone()));
            }
        }
        let mut attrs: Vec<(&str, &str)> = owned
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        attrs.extend_from_slice(extra);
        if el.children.is_empty() && el.text.is_empty() {
            return self.empty(&tag, &attrs);
        }
        self.open(&tag, &attrs);
        self.text(&el.text);
        for child in &el.children {
            self.element_at(child, &[], depth + 1);
        }
        self.close(&tag)
    }

    /// The markup written so far.
    pub fn finish(self) -> String {
        self.buf
    }

    fn attrs(&mut self, attrs: &[(&str, &str)]) {
        for (name, value) in attrs {
            self.buf.push(' ');
            self.buf.push_str(name);
            self.buf.push_str("=\"");
            escape_into(&mut self.buf, value, true);
            self.buf.push('"');
        }
    }
}

/// `s` escaped for an attribute value written by hand (see `escape_into`).
pub fn escape_attribute(s: &str) -> String {
    let mut buf = String::with_capacity(s.len());
    escape_into(&mut buf, s, true);
    buf
}

/// Appends `s` escaped: the five markup characters as entities, and as character references
/// what a reader would not give back as written: CR in text (line ends are normalised to LF),
/// and TAB, LF and CR in attribute values (normalised to spaces). So every string the parser
/// produces reads back the same from what this writes.
fn escape_into(buf: &mut String, s: &str, attribute: bool) {
    for c in s.chars() {
        match c {
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '&' => buf.push_str("&amp;"),
            '"' => buf.push_str("&quot;"),
            '\'' => buf.push_str("&apos;"),
            '\r' => buf.push_str("&#13;"),
            '\n' if attribute => buf.push_str("&#10;"),
            '\t' if attribute => buf.push_str("&#9;"),
            c => buf.push(c),
        }
    }
}

/// `true`/`false` as xs:boolean.
pub fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes() {
        let mut w = XmlWriter::new();
        w.with("a", &[("x", "\"<&>'")], |w| {
            w.leaf("b", "1 < 2 & 3");
            w.empty("c", &[]);
        });
        assert_eq!(
            w.finish(),
            r#"<a x="&quot;&lt;&amp;&gt;&apos;"><b>1 &lt; 2 &amp; 3</b><c/></a>"#
        );
    }

    #[test]
    fn a_parsed_element_is_written_back_with_its_namespaces() {
        let doc = crate::xml::tree::parse(
            br#"<r xmlns:v="urn:v"><v:a v:k="1 &amp; 2" plain="p">t<v:b/><c>x</c></v:a></r>"#,
            &crate::xml::Limits::default(),
        )
        .unwrap();
        let mut w = XmlWriter::new();
        w.element(&doc.children[0], &[("wsa:IsReferenceParameter", "true")]);
        let out = w.finish();
        assert_eq!(
            out,
            r#"<c0:a xmlns:c0="urn:v" xmlns:c0a0="urn:v" c0a0:k="1 &amp; 2" plain="p" wsa:IsReferenceParameter="true">t<c1:b xmlns:c1="urn:v"/><c>x</c></c0:a>"#
        );
        // It parses back to the same element.
        let again = crate::xml::tree::parse(
            format!(r#"<r xmlns:wsa="urn:w">{out}</r>"#).as_bytes(),
            &crate::xml::Limits::default(),
        )
        .unwrap();
        let (a, b) = (&doc.children[0], &again.children[0]);
        assert_eq!((&*a.ns, &*a.name, &a.text), (&*b.ns, &*b.name, &b.text));
        assert_eq!(a.children.len(), b.children.len());
    }

    #[test]
    fn a_hand_written_attribute_escapes_as_the_writer_does() {
        assert_eq!(
            escape_attribute("urn:a\tb\"<&"),
            "urn:a&#9;b&quot;&lt;&amp;"
        );
    }

    /// Found by the soap_envelope fuzz target: a namespace URI with a tab (`&#9;` in the
    /// request) was written raw into an attribute, and read back with a space.
    #[test]
    fn white_space_the_reader_would_normalise_is_a_reference() {
        let mut w = XmlWriter::new();
        w.with("a", &[("x", "1\t2\n3\r4 5")], |w| {
            w.text("l1\r\nl2\rl3\n\t");
        });
        let doc = w.finish();
        assert_eq!(
            doc,
            "<a x=\"1&#9;2&#10;3&#13;4 5\">l1&#13;\nl2&#13;l3\n\t</a>"
        );
        let back = crate::xml::tree::parse(doc.as_bytes(), &crate::xml::Limits::default()).unwrap();
        assert_eq!(back.attr("", "x"), Some("1\t2\n3\r4 5"));
        assert_eq!(back.text, "l1\r\nl2\rl3\n\t");
    }
}
