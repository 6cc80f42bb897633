//! A minimal XML writer for responses: prefixes are fixed and declared once on the envelope
//! (see [`super::ns::ENVELOPE_DECLS`]), so writing is appending escaped text to a `String`.

use quick_xml::escape::escape;

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
        self.buf.push_str(&escape(text));
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

    /// The markup written so far.
    pub fn finish(self) -> String {
        self.buf
    }

    fn attrs(&mut self, attrs: &[(&str, &str)]) {
        for (name, value) in attrs {
            self.buf.push(' ');
            self.buf.push_str(name);
            self.buf.push_str("=\"");
            self.buf.push_str(&escape(*value));
            self.buf.push('"');
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
}
