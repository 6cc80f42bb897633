//! `{name}` placeholders in text: point ids made from a frame's fields, and the text parts
//! of command templates.
//!
//! Syntax: `{name}` is the value as it is; `{name:N}` pads it on the left with `0` to N
//! characters (`{partition:1}`, a zone `{zone:3}`); `{name:<N}` pads it on the right with `0`
//! (the IT-100 access code: a 4-digit code is sent as 6 digits ending in `00`). A value
//! longer than N is refused, never cut. `{{` and `}}` are literal braces.

/// How a placeholder's value is fitted to a width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pad {
    /// As it is.
    None,
    /// Left-padded with `'0'` to this many characters.
    Left(usize),
    /// Right-padded with `'0'` to this many characters.
    Right(usize),
}

impl Pad {
    /// `value` fitted, or `None` if it is longer than the width.
    pub fn apply(self, value: &str) -> Option<String> {
        let len = value.chars().count();
        match self {
            Pad::None => Some(value.to_owned()),
            Pad::Left(n) if len <= n => Some(format!("{}{value}", "0".repeat(n - len))),
            Pad::Right(n) if len <= n => Some(format!("{value}{}", "0".repeat(n - len))),
            _ => None,
        }
    }
}

/// One piece of a [`TextTemplate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextPart {
    /// Text as it is.
    Literal(String),
    /// A named value.
    Placeholder {
        /// The field or parameter name.
        name: String,
        /// How it is padded.
        pad: Pad,
    },
}

/// Text with `{name}` placeholders (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextTemplate {
    /// Its pieces, in order.
    pub parts: Vec<TextPart>,
}

/// Why a template does not parse or render.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{` without its `}`, a `}` alone, an empty name or a bad width.
    #[error("template {template:?}: {why}")]
    Syntax {
        /// The template text.
        template: String,
        /// What is wrong.
        why: String,
    },
    /// No value for a placeholder.
    #[error("no value for {{{0}}}")]
    Missing(String),
    /// A value that does not fit (too long, not a number, out of range).
    #[error("value {value:?} for {{{name}}}: {why}")]
    BadValue {
        /// The placeholder.
        name: String,
        /// The value given.
        value: String,
        /// Why it does not fit.
        why: String,
    },
}

impl TextTemplate {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<TextTemplate, TemplateError> {
        let syntax = |why: &str| TemplateError::Syntax {
            template: text.to_owned(),
            why: why.to_owned(),
        };
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(syntax("'}' without '{' (write '}}' for a brace)")),
                '{' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => inner.push(c),
                            None => return Err(syntax("'{' without '}'")),
                        }
                    }
                    let (name, spec) = match inner.split_once(':') {
                        Some((name, spec)) => (name.trim(), Some(spec.trim())),
                        None => (inner.trim(), None),
                    };
                    if name.is_empty() {
                        return Err(syntax("a placeholder without a name"));
                    }
                    let pad = match spec {
                        None => Pad::None,
                        Some(spec) => {
                            let (right, digits) = match spec.strip_prefix('<') {
                                Some(rest) => (true, rest),
                                None => (false, spec),
                            };
                            let n: usize = digits.parse().map_err(|_| {
                                syntax("a width is a number: {name:3} or {name:<6}")
                            })?;
                            if right { Pad::Right(n) } else { Pad::Left(n) }
                        }
                    };
                    if !literal.is_empty() {
                        parts.push(TextPart::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(TextPart::Placeholder {
                        name: name.to_owned(),
                        pad,
                    });
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(TextPart::Literal(literal));
        }
        Ok(TextTemplate { parts })
    }

    /// The placeholders' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            TextPart::Placeholder { name, .. } => Some(name.as_str()),
            TextPart::Literal(_) => None,
        })
    }

    /// The text with every placeholder replaced by `lookup(name)`.
    pub fn render(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<String, TemplateError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                TextPart::Literal(text) => out.push_str(text),
                TextPart::Placeholder { name, pad } => {
                    let value = lookup(name).ok_or_else(|| TemplateError::Missing(name.clone()))?;
                    let fitted = pad.apply(&value).ok_or_else(|| TemplateError::BadValue {
                        name: name.clone(),
                        value: value.clone(),
                        why: format!("longer than {pad:?}"),
                    })?;
                    out.push_str(&fitted);
                }
            }
        }
        Ok(out)
    }
}
