//! Message content filters: the `wsnt:MessageContent` of a subscription.
//!
//! The one dialect supported is ONVIF's [`ITEM_FILTER`] (ONVIF Core, "Message Content
//! Filter"): a subset of XPath 1.0 that tests the Simple and Element items of a message,
//! whichever of Source, Key or Data holds them. It is the only content dialect ONVIF defines,
//! and its subset is small enough to parse and evaluate directly over the event model, with
//! no XPath engine and no XML rendering of each message. The grammar accepted:
//!
//! ```text
//! Expr    ::= AndExpr ('or' AndExpr)*       (left-associative; `and` binds tighter)
//! AndExpr ::= Unary ('and' Unary)*
//! Unary   ::= 'not' '(' Expr ')' | 'boolean' '(' Expr ')' | '(' Expr ')' | Path
//! Path    ::= '//' (Section '/')? Item ('[' Pred ']')*
//! Section ::= Prefix? ('Source' | 'Key' | 'Data')
//! Item    ::= Prefix? ('SimpleItem' | 'ElementItem')
//! Pred    ::= PAnd ('or' PAnd)*               PAnd ::= PUnary ('and' PUnary)*
//! PUnary  ::= 'not' '(' Pred ')' | '(' Pred ')' | ('@Name' | '@Value') ('=' | '!=') Literal
//! ```
//!
//! This is ONVIF's grammar with three XPath-compatible extensions: a path may name its
//! section (`//tt:Data/tt:SimpleItem[...]`), `!=` compares too, and `boolean(...)` may wrap
//! any expression (a bare path is read as `boolean(path)`, as XPath does). Literals take
//! `"` or `'`, and also the typographic quotes of the specification's own examples. `and`,
//! `or`, `not` and `boolean` are matched without regard to case. A prefix must be bound (by
//! `resolve`) to the ONVIF schema namespace; ONVIF's grammar lets it be left out, and an
//! unprefixed item name is then taken as the ONVIF one. Comparisons follow XPath: an
//! ElementItem has no `@Value`, so both `@Value="x"` and `@Value!="x"` are false on it.
//! Anything else XPath allows (other functions, axes, attributes, numbers, `|`, `<`) is
//! refused as [`ContentFilterError::Unsupported`] naming the text, so the service can fault
//! clearly; nesting is capped at [`MAX_DEPTH`].

use std::fmt;

use crate::events::model::Item;
use crate::xml::Element;
use crate::xml::ns::TT;

type Error = ContentFilterError;

/// The ONVIF ItemFilter dialect.
pub const ITEM_FILTER: &str = "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter";

/// Deepest nesting of parentheses, `not(`, `boolean(` and predicates accepted.
pub const MAX_DEPTH: usize = 32;

/// Why a message content expression was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ContentFilterError {
    /// The Dialect is not [`ITEM_FILTER`].
    #[error("message content dialect {0} is not supported")]
    UnknownDialect(String),
    /// Not a well-formed expression; `position` is a byte offset into the expression.
    #[error("invalid message content expression at {position}: {message}")]
    Invalid {
        /// Byte offset of the offending token.
        position: usize,
        /// What was expected.
        message: String,
    },
    /// Valid XPath, but outside the ItemFilter subset; the message quotes the text.
    #[error("unsupported message content expression: {0}")]
    Unsupported(String),
}

/// A parsed ItemFilter expression.
#[derive(Clone, Debug, PartialEq)]
pub struct ContentFilter {
    expr: Cond<Path>,
}

/// A boolean combination of tests: of paths for the expression, of comparisons in predicates.
#[derive(Clone, Debug, PartialEq)]
enum Cond<A> {
    Or(Vec<Cond<A>>),
    And(Vec<Cond<A>>),
    Not(Box<Cond<A>>),
    Atom(A),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Source,
    Key,
    Data,
}

/// `//[Section/]Item[pred]...`: true when some item of the section(s) passes every predicate.
#[derive(Clone, Debug, PartialEq)]
struct Path {
    section: Option<Section>,
    element_item: bool,
    predicates: Vec<Cond<Comparison>>,
}

/// `@Name = "..."`, `@Value != "..."`.
#[derive(Clone, Debug, PartialEq)]
struct Comparison {
    value: bool,
    equal: bool,
    literal: String,
}

impl ContentFilter {
    /// Parses `expression` in `dialect`. `resolve` maps a prefix to its namespace URI, from
    /// the MessageContent element's scope; `None` means unbound.
    pub fn parse(
        dialect: &str,
        expression: &str,
        resolve: impl Fn(&str) -> Option<String>,
    ) -> Result<ContentFilter, ContentFilterError> {
        let dialect = dialect.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        if dialect != ITEM_FILTER {
            return Err(ContentFilterError::UnknownDialect(dialect.to_string()));
        }
        let tokens = tokenize(expression)?;
        let mut p = Parser {
            src: expression,
            tokens,
            at: 0,
            resolve: &resolve,
        };
        if p.peek().tok == Tok::End {
            return Err(p.invalid("an expression"));
        }
        let expr = p.chain(0, Parser::expr_atom, "or")?;
        if p.peek().tok != Tok::End {
            return Err(p.unexpected("`and`, `or` or the end of the expression"));
        }
        Ok(ContentFilter { expr })
    }

    /// Parses a `wsnt:MessageContent` element: its `Dialect` attribute and its text, with
    /// prefixes resolved in the element's scope. WS-BaseNotification makes `Dialect`
    /// mandatory; a missing one is read as [`ITEM_FILTER`], the only dialect there is.
    /// Error positions are byte offsets into the element's (untrimmed) text.
    pub fn from_element(e: &Element) -> Result<ContentFilter, ContentFilterError> {
        let dialect = e.attr("", "Dialect").unwrap_or(ITEM_FILTER);
        ContentFilter::parse(dialect, &e.text, |p| super::topic::resolve_prefix(e, p))
    }

    /// Whether a message with these Source, Key and Data items passes the filter.
    pub fn matches(&self, source: &[Item], key: &[Item], data: &[Item]) -> bool {
        self.expr.eval(&|path: &Path| {
            let lists = match path.section {
                None => [source, key, data],
                Some(Section::Source) => [source, &[], &[]],
                Some(Section::Key) => [key, &[], &[]],
                Some(Section::Data) => [data, &[], &[]],
            };
            lists
                .iter()
                .flat_map(|l| l.iter())
                .any(|item| path.accepts(item))
        })
    }
}

impl<A> Cond<A> {
    fn eval(&self, test: &dyn Fn(&A) -> bool) -> bool {
        match self {
            Cond::Or(terms) => terms.iter().any(|t| t.eval(test)),
            Cond::And(terms) => terms.iter().all(|t| t.eval(test)),
            Cond::Not(inner) => !inner.eval(test),
            Cond::Atom(a) => test(a),
        }
    }
}

impl Path {
    fn accepts(&self, item: &Item) -> bool {
        matches!(item, Item::Element { .. }) == self.element_item
            && self
                .predicates
                .iter()
                .all(|p| p.eval(&|c: &Comparison| c.accepts(item)))
    }
}

impl Comparison {
    fn accepts(&self, item: &Item) -> bool {
        let actual = if self.value {
            item.value()
        } else {
            Some(item.name())
        };
        actual.is_some_and(|v| (v == self.literal) == self.equal)
    }
}

/// The canonical spelling, with `tt:` for the ONVIF schema namespace (for logs and tests).
impl fmt::Display for ContentFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

impl<A: fmt::Display> fmt::Display for Cond<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (terms, op) = match self {
            Cond::Or(terms) => (terms, " or "),
            Cond::And(terms) => (terms, " and "),
            Cond::Not(inner) => return write!(f, "not({inner})"),
            Cond::Atom(a) => return a.fmt(f),
        };
        for (i, t) in terms.iter().enumerate() {
            f.write_str(if i == 0 { "" } else { op })?;
            match t {
                Cond::Or(_) | Cond::And(_) => write!(f, "({t})")?,
                _ => write!(f, "{t}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("boolean(//")?;
        if let Some(s) = self.section {
            write!(f, "tt:{s:?}/")?;
        }
        f.write_str(if self.element_item {
            "tt:ElementItem"
        } else {
            "tt:SimpleItem"
        })?;
        for p in &self.predicates {
            write!(f, "[{p}]")?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attr = if self.value { "@Value" } else { "@Name" };
        let op = if self.equal { "=" } else { "!=" };
        let s = &self.literal;
        match (s.contains('"'), s.contains('\'')) {
            (false, _) => write!(f, "{attr}{op}\"{s}\""),
            (true, false) => write!(f, "{attr}{op}'{s}'"),
            (true, true) => write!(f, "{attr}{op}\u{201C}{s}\u{201D}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok<'a> {
    LParen,
    RParen,
    LBracket,
    RBracket,
    At,
    Slash,
    DoubleSlash,
    Eq,
    Ne,
    /// (prefix, local name).
    Name(Option<&'a str>, &'a str),
    /// A string literal's content.
    Str(&'a str),
    /// XPath outside the subset: numbers, other operators, axes, wildcards.
    Other,
    /// Past the last token.
    End,
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    tok: Tok<'a>,
    pos: usize,
    len: usize,
}

fn tokenize(src: &str) -> Result<Vec<Token<'_>>, Error> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    while let Some(c) = src.get(pos..).and_then(|rest| rest.chars().next()) {
        let rest = &src[pos..];
        let name_len = |from: usize| {
            rest[from..]
                .find(|c: char| !is_name_char(c))
                .map_or(rest.len(), |n| from + n)
        };
        let (tok, len) = match c {
            ' ' | '\t' | '\r' | '\n' => {
                pos += 1;
                continue;
            }
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            '@' => (Tok::At, 1),
            '=' => (Tok::Eq, 1),
            '/' if rest.starts_with("//") => (Tok::DoubleSlash, 2),
            '/' => (Tok::Slash, 1),
            '!' if rest.starts_with("!=") => (Tok::Ne, 2),
            '"' | '\'' | '\u{201C}' | '\u{201D}' => {
                let open = c.len_utf8();
                let close = match c {
                    '"' | '\'' => rest[open..].find(c),
                    _ => rest[open..].find(['\u{201C}', '\u{201D}']),
                };
                let Some(n) = close else {
                    return Err(invalid(pos, "unterminated string literal"));
                };
                let end = rest[open + n..].chars().next().map_or(1, char::len_utf8);
                (Tok::Str(&rest[open..open + n]), open + n + end)
            }
            '<' | '>' => (Tok::Other, if rest[1..].starts_with('=') { 2 } else { 1 }),
            ':' if rest.starts_with("::") => (Tok::Other, 2),
            '|' | ',' | '*' | '$' | '+' | '-' => (Tok::Other, 1),
            '.' | '0'..='9' => {
                let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'));
                (Tok::Other, n.unwrap_or(rest.len()))
            }
            c if is_name_start(c) => {
                let end = name_len(0);
                let after = &rest[end..];
                match after.strip_prefix(':').and_then(|a| a.chars().next()) {
                    Some(n) if is_name_start(n) => {
                        let local_end = name_len(end + 1);
                        let local = &rest[end + 1..local_end];
                        (Tok::Name(Some(&rest[..end]), local), local_end)
                    }
                    Some('*') => (Tok::Other, end + 2),
                    _ => (Tok::Name(None, &rest[..end]), end),
                }
            }
            c => return Err(invalid(pos, &format!("unexpected character {c:?}"))),
        };
        tokens.push(Token { tok, pos, len });
        pos += len;
    }
    Ok(tokens)
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{B7}')
}

/// `and`, `or`, `not` and `boolean`, in any case.
fn is_keyword(tok: Tok<'_>, keyword: &str) -> bool {
    matches!(tok, Tok::Name(None, n) if n.eq_ignore_ascii_case(keyword))
}

fn invalid(position: usize, expected: &str) -> ContentFilterError {
    ContentFilterError::Invalid {
        position,
        message: expected.to_string(),
    }
}

type Atom<'a, A> = fn(&mut Parser<'a>, usize) -> Result<Cond<A>, Error>;

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token<'a>>,
    at: usize,
    resolve: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Token<'a> {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> Token<'a> {
        let end = Token {
            tok: Tok::End,
            pos: self.src.len(),
            len: 0,
        };
        self.tokens.get(self.at + ahead).copied().unwrap_or(end)
    }

    fn bump(&mut self) {
        self.at = (self.at + 1).min(self.tokens.len());
    }

    fn text(&self, t: Token<'_>) -> &'a str {
        self.src.get(t.pos..t.pos + t.len).unwrap_or("")
    }

    /// `keyword (` next.
    fn at_call(&self, keyword: &str) -> bool {
        is_keyword(self.peek().tok, keyword) && self.peek_at(1).tok == Tok::LParen
    }

    fn expect(&mut self, tok: Tok<'_>, what: &str) -> Result<(), Error> {
        if self.peek().tok != tok {
            return Err(self.unexpected(what));
        }
        self.bump();
        Ok(())
    }

    fn invalid(&self, expected: &str) -> ContentFilterError {
        let t = self.peek();
        let found = match t.tok {
            Tok::End => "the end".to_string(),
            _ => format!("`{}`", self.text(t)),
        };
        invalid(t.pos, &format!("expected {expected}, found {found}"))
    }

    fn unsupported(&self, t: Token<'_>, what: &str) -> ContentFilterError {
        ContentFilterError::Unsupported(format!("`{}` at {}: {what}", self.text(t), t.pos))
    }

    /// The error for the next token: Unsupported when it is XPath outside the subset.
    fn unexpected(&self, expected: &str) -> ContentFilterError {
        let t = self.peek();
        match t.tok {
            Tok::Other | Tok::Eq | Tok::Ne => self.unsupported(t, "not in the ItemFilter subset"),
            Tok::Name(..)
                if self.peek_at(1).tok == Tok::LParen
                    && !is_keyword(t.tok, "boolean")
                    && !is_keyword(t.tok, "not") =>
            {
                self.unsupported(t, "the only functions are boolean() and not()")
            }
            _ => self.invalid(expected),
        }
    }

    /// `Next (op Next)*`: `or` over `and` terms, `and` over unary ones.
    fn chain<A>(&mut self, depth: usize, atom: Atom<'a, A>, op: &str) -> Result<Cond<A>, Error> {
        let next = |p: &mut Self| match op {
            "or" => p.chain(depth, atom, "and"),
            _ => p.unary(depth, atom),
        };
        let mut terms = vec![next(self)?];
        while is_keyword(self.peek().tok, op) {
            self.bump();
            terms.push(next(self)?);
        }
        Ok(match op {
            _ if terms.len() == 1 => terms.swap_remove(0),
            "or" => Cond::Or(terms),
            _ => Cond::And(terms),
        })
    }

    fn unary<A>(&mut self, depth: usize, atom: Atom<'a, A>) -> Result<Cond<A>, Error> {
        if depth > MAX_DEPTH {
            let t = self.peek();
            return Err(self.unsupported(t, &format!("nested deeper than {MAX_DEPTH} levels")));
        }
        if self.at_call("not") {
            self.at += 2;
            let inner = self.chain(depth + 1, atom, "or")?;
            self.expect(Tok::RParen, "`)` closing not(")?;
            return Ok(Cond::Not(Box::new(inner)));
        }
        if self.peek().tok == Tok::LParen {
            self.bump();
            let inner = self.chain(depth + 1, atom, "or")?;
            self.expect(Tok::RParen, "`)`")?;
            return Ok(inner);
        }
        atom(self, depth)
    }

    /// `boolean(Expr)` or a path.
    fn expr_atom(&mut self, depth: usize) -> Result<Cond<Path>, Error> {
        if self.at_call("boolean") {
            self.at += 2;
            let inner = self.chain(depth + 1, Parser::expr_atom, "or")?;
            self.expect(Tok::RParen, "`)` closing boolean(")?;
            return Ok(inner);
        }
        let t = self.peek();
        match t.tok {
            Tok::DoubleSlash => self.path(depth).map(Cond::Atom),
            Tok::Slash | Tok::At | Tok::Name(..) if self.peek_at(1).tok != Tok::LParen => {
                Err(self.unsupported(t, "paths start with //"))
            }
            _ => Err(self.unexpected("boolean(, not(, ( or a //tt:SimpleItem path")),
        }
    }

    fn path(&mut self, depth: usize) -> Result<Path, Error> {
        self.bump();
        let (first, kind) = self.step()?;
        let (section, element_item) = match kind {
            Some(element_item) => (None, element_item),
            None => {
                let section = match first.tok {
                    Tok::Name(_, "Source") => Section::Source,
                    Tok::Name(_, "Key") => Section::Key,
                    _ => Section::Data,
                };
                match self.peek().tok {
                    Tok::Slash => self.bump(),
                    Tok::DoubleSlash => {
                        return Err(self.unsupported(self.peek(), "use one `/` after a section"));
                    }
                    _ => return Err(self.invalid("`/tt:SimpleItem` or `/tt:ElementItem`")),
                };
                let (t, kind) = self.step()?;
                let Some(element_item) = kind else {
                    return Err(self.unsupported(t, "a section cannot hold a section"));
                };
                (Some(section), element_item)
            }
        };
        let mut predicates = Vec::new();
        while self.peek().tok == Tok::LBracket {
            self.bump();
            predicates.push(self.chain(depth + 1, Parser::predicate_atom, "or")?);
            self.expect(Tok::RBracket, "`]`")?;
        }
        if matches!(self.peek().tok, Tok::Slash | Tok::DoubleSlash) {
            return Err(self.unsupported(self.peek(), "nothing is selected below an item"));
        }
        Ok(Path {
            section,
            element_item,
            predicates,
        })
    }

    /// One name step, and `Some(is ElementItem)` for an item, `None` for a section.
    fn step(&mut self) -> Result<(Token<'a>, Option<bool>), Error> {
        let t = self.peek();
        let Tok::Name(prefix, local) = t.tok else {
            return Err(self.unexpected("an element name such as tt:SimpleItem"));
        };
        if let Some(prefix) = prefix {
            match (self.resolve)(prefix) {
                // ONVIF Core's own example uses `tt:` without declaring it: an undeclared
                // `tt` means the ONVIF schema namespace.
                None if prefix == "tt" => {}
                None => return Err(invalid(t.pos, &format!("unbound prefix `{prefix}`"))),
                Some(ns) if ns != TT => {
                    let message = format!("`{prefix}` is bound to {ns}, not to {TT}");
                    return Err(invalid(t.pos, &message));
                }
                Some(_) => {}
            }
        }
        self.bump();
        match local {
            "SimpleItem" => Ok((t, Some(false))),
            "ElementItem" => Ok((t, Some(true))),
            "Source" | "Key" | "Data" => Ok((t, None)),
            _ => Err(self.unsupported(t, "only SimpleItem and ElementItem can be tested")),
        }
    }

    /// `@Name|@Value (=|!=) literal`.
    fn predicate_atom(&mut self, _depth: usize) -> Result<Cond<Comparison>, Error> {
        let t = self.peek();
        if t.tok != Tok::At {
            return Err(match t.tok {
                Tok::Str(_) | Tok::Name(..) | Tok::Slash | Tok::DoubleSlash
                    if self.peek_at(1).tok != Tok::LParen =>
                {
                    self.unsupported(t, "predicates compare @Name or @Value with a string")
                }
                _ => self.unexpected("@Name or @Value"),
            });
        }
        self.bump();
        let name = self.peek();
        let value = match name.tok {
            Tok::Name(None, "Name") => false,
            Tok::Name(None, "Value") => true,
            Tok::Name(..) | Tok::Other => {
                return Err(self.unsupported(name, "the attributes are @Name and @Value"));
            }
            _ => return Err(self.invalid("Name or Value after @")),
        };
        self.bump();
        let op = self.peek();
        let equal = match op.tok {
            Tok::Eq => true,
            Tok::Ne => false,
            Tok::Other => return Err(self.unsupported(op, "compare with = or !=")),
            Tok::RBracket | Tok::RParen => {
                return Err(self.unsupported(op, "@Name and @Value must be compared"));
            }
            _ => return Err(self.invalid("`=` or `!=`")),
        };
        self.bump();
        let lit = self.peek();
        match lit.tok {
            Tok::Str(s) => {
                self.bump();
                Ok(Cond::Atom(Comparison {
                    value,
                    equal,
                    literal: s.to_string(),
                }))
            }
            Tok::Other | Tok::At => Err(self.unsupported(lit, "compare with a quoted string")),
            _ => Err(self.unexpected("a quoted string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::tree::{Limits, parse};

    fn resolve(prefix: &str) -> Option<String> {
        match prefix {
            "tt" | "sch" => Some(TT.to_string()),
            "tns1" => Some(crate::xml::ns::TNS1.to_string()),
            _ => None,
        }
    }

    /// The canonical form, `invalid@N`, or the Unsupported message.
    fn outcome(expr: &str) -> String {
        match ContentFilter::parse(ITEM_FILTER, expr, resolve) {
            Ok(f) => f.to_string(),
            Err(ContentFilterError::Invalid { position, .. }) => format!("invalid@{position}"),
            Err(e) => e.to_string(),
        }
    }

    // The examples of ONVIF Core, "Message Content Filter", typographic quotes and all.
    const SPEC: [&str; 5] = [
        "boolean(//tt:SimpleItem[@Name=”VideoSourceConfigurationToken” and @Value=”1”])",
        "not( boolean(//tt:SimpleItem[@Name=”VideoAnalyticsConfigurationToken”] ) )",
        "boolean(//tt:SimpleItem[@Name=”VideoAnalyticsConfigurationToken” and @Value=”2”] ) \n  \
         and boolean(//tt:SimpleItem[@Name=”VideoSourceConfigurationToken” and @Value=”1”] )",
        "boolean(//tt:SimpleItem[@Name=”VideoSourceConfigurationToken” and @Value=”1”] )\n  \
         and not(boolean(//tt:SimpleItem[@Name=”VideoAnalyticsConfigurationToken”] ))",
        "boolean(//tt:SimpleItem[@Name=”IsInside” and @Value=”true”] ) and \n  \
         boolean(//tt:SimpleItem[@Name=”Rule” and @Value=”myImportantField”] )",
    ];
    const A: &str = r#"boolean(//tt:SimpleItem[@Name="a"])"#;

    #[test]
    fn parse_table() {
        #[rustfmt::skip]
        let table: &[(&str, &str)] = &[
            (SPEC[1], r#"not(boolean(//tt:SimpleItem[@Name="VideoAnalyticsConfigurationToken"]))"#),
            ("//sch:Key/SimpleItem[@Name='a' or not(@Value!='b')][(@Name=\"c\")]",
             r#"boolean(//tt:Key/tt:SimpleItem[@Name="a" or not(@Value!="b")][@Name="c"])"#),
            ("//tt:ElementItem OR (NOT(//tt:Data/tt:SimpleItem) and boolean(boolean(//SimpleItem)))",
             "boolean(//tt:ElementItem) or (not(boolean(//tt:Data/tt:SimpleItem)) and boolean(//tt:SimpleItem))"),
            ("boolean(//tt:SimpleItem[@Name='\"'])", r#"boolean(//tt:SimpleItem[@Name='"'])"#),
            ("a and b", "unsupported: `a` at 0"),
            ("", "invalid@0"),
            ("  ", "invalid@2"),
            ("boolean(", "invalid@8"),
            ("boolean(//tt:SimpleItem", "invalid@23"),
            ("boolean(//tt:SimpleItem[@Name=\"a])", "invalid@30"),
            ("boolean(//tt:SimpleItem[@Name=a])", "invalid@30"),
            ("boolean(//tt:SimpleItem[@Name=\"a\"] ~)", "invalid@35"),
            (&format!("{A} {A}"), "invalid@36"),
            (&format!("{A} and"), "invalid@39"),
            (&format!("{A})"), "invalid@35"),
            ("boolean(//x:SimpleItem)", "invalid@10"),
            ("boolean(//tns1:SimpleItem)", "invalid@10"),
            ("boolean(//tt:Source)", "invalid@19"),
            ("contains(//tt:SimpleItem, 'a')", "unsupported: `contains` at 0"),
            ("boolean(//tt:SimpleItem[starts-with(@Name, 'a')])", "unsupported: `starts-with` at 24"),
            ("boolean(//tt:SimpleItem[@Type=\"a\"])", "unsupported: `Type`"),
            ("boolean(//tt:SimpleItem[@Value > 3])", "unsupported: `>`"),
            ("boolean(//tt:SimpleItem[@Value = 3])", "unsupported: `3`"),
            ("boolean(//tt:SimpleItem[1])", "unsupported: `1`"),
            ("boolean(//tt:SimpleItem[@Name])", "unsupported: `]`"),
            ("boolean(//tt:SimpleItem = \"a\")", "unsupported: `=`"),
            ("boolean(//tt:Message)", "unsupported: `tt:Message`"),
            ("boolean(//tt:*)", "unsupported: `tt:*`"),
            ("boolean(/tt:Message/tt:Source)", "unsupported: `/`"),
            ("boolean(//tt:Data//tt:SimpleItem)", "unsupported: `//`"),
            ("boolean(//tt:SimpleItem/@Value)", "unsupported: `/`"),
            ("boolean(//tt:Source/tt:Data)", "unsupported: `tt:Data`"),
            (&format!("{A} | {A}"), "unsupported: `|`"),
        ];
        for (expr, want) in table {
            let got = outcome(expr);
            match want.strip_prefix("unsupported: ") {
                Some(text) => assert!(
                    got.starts_with("unsupported") && got.contains(text),
                    "{expr}: {got}"
                ),
                None => assert_eq!(&got, want, "{expr}"),
            }
        }
        let canonical =
            r#"boolean(//tt:SimpleItem[@Name="VideoSourceConfigurationToken" and @Value="1"])"#;
        assert_eq!(outcome(SPEC[0]), canonical);
        assert_eq!(outcome(&SPEC[2].replace('”', "'")), outcome(SPEC[2]));
        assert_eq!(
            ContentFilter::parse("urn:xpath", A, resolve),
            Err(ContentFilterError::UnknownDialect("urn:xpath".into()))
        );
    }

    #[test]
    fn nesting_is_capped() {
        // `A` nests two levels itself: boolean( and [.
        let nested = |n: usize| format!("{}{A}{}", "not(".repeat(n), ")".repeat(n));
        assert!(ContentFilter::parse(ITEM_FILTER, &nested(MAX_DEPTH - 2), resolve).is_ok());
        for deep in [
            nested(MAX_DEPTH - 1),
            "(".repeat(100_000),
            format!("//tt:SimpleItem[{}", "not((".repeat(50_000)),
        ] {
            let err = ContentFilter::parse(ITEM_FILTER, &deep, resolve).unwrap_err();
            assert!(err.to_string().contains("nested deeper than 32"), "{err}");
        }
        let long = vec![A; 20_000].join(" and ");
        assert!(ContentFilter::parse(ITEM_FILTER, &long, resolve).is_ok());
    }

    #[test]
    fn match_table() {
        let s = Item::simple;
        // Message A: ONVIF Core's ObjectsInside property example, plus an ElementItem.
        #[rustfmt::skip]
        let a = (
            [s("VideoSourceConfigurationToken", "1"), s("VideoAnalyticsConfigurationToken", "1"),
             s("Rule", "myImportantField")],
            [s("ObjectId", "5")],
            [s("IsInside", "true"), Item::Element { name: "Layout".into(), xml: "<tt:Polygon/>".into() }],
        );
        // Message B: a plain video source event.
        let (b_source, b_data) = (
            [s("VideoSourceConfigurationToken", "1")],
            [s("IsInside", "false")],
        );
        #[rustfmt::skip]
        let table: &[(&str, bool, bool)] = &[
            (SPEC[0], true, true),
            (SPEC[1], false, true),
            (SPEC[2], false, false),
            (SPEC[3], false, true),
            (SPEC[4], true, false),
            ("//tt:Key/tt:SimpleItem[@Name='ObjectId']", true, false),
            ("//tt:Data/tt:SimpleItem[@Name='ObjectId']", false, false),
            ("//tt:Source/tt:SimpleItem[@Name='Rule']", true, false),
            ("//tt:SimpleItem[@Name='ObjectId' and @Value='5']", true, false),
            ("//tt:ElementItem[@Name='Layout']", true, false),
            ("//tt:SimpleItem[@Name='Layout']", false, false),
            ("//tt:ElementItem[@Value!='x']", false, false),
            ("//tt:ElementItem[not(@Value='x')]", true, false),
            ("//tt:SimpleItem[@Name='IsInside' and @Value!='true']", false, true),
            ("//tt:SimpleItem[@Name='Rule'] or //tt:SimpleItem[@Value='false']", true, true),
            ("boolean(//SimpleItem[@Name='Rule' and @Value='myImportantField'])", true, false),
        ];
        for &(expr, want_a, want_b) in table {
            let f = ContentFilter::parse(ITEM_FILTER, expr, resolve).unwrap();
            assert_eq!(f.matches(&a.0, &a.1, &a.2), want_a, "A: {expr}");
            assert_eq!(f.matches(&b_source, &[], &b_data), want_b, "B: {expr}");
        }
    }

    #[test]
    fn from_element_uses_the_element_scope() {
        let doc = format!(
            r#"<f xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:s="{TT}">
                 <wsnt:MessageContent Dialect="{ITEM_FILTER}">
                   boolean(//s:SimpleItem[@Name=&quot;Rule&quot; and @Value='a&amp;b'])
                 </wsnt:MessageContent>
                 <wsnt:MessageContent>boolean(//s:SimpleItem)</wsnt:MessageContent>
                 <wsnt:MessageContent>boolean(//q:SimpleItem)</wsnt:MessageContent>
                 <wsnt:MessageContent Dialect="http://www.w3.org/TR/1999/REC-xpath-19991116">
                   boolean(//s:SimpleItem)</wsnt:MessageContent>
               </f>"#
        );
        let root = parse(doc.as_bytes(), &Limits::default()).unwrap();
        let e: Vec<_> = root
            .children
            .iter()
            .map(ContentFilter::from_element)
            .collect();
        let first = e[0].as_ref().unwrap();
        assert!(first.matches(&[Item::simple("Rule", "a&b")], &[], &[]));
        assert!(!first.matches(&[Item::simple("Rule", "a")], &[], &[]));
        assert!(e[1].is_ok(), "no Dialect: ItemFilter");
        assert!(matches!(
            e[2],
            Err(ContentFilterError::Invalid { position: 10, .. })
        ));
        assert!(matches!(e[3], Err(ContentFilterError::UnknownDialect(_))));
        // ONVIF Core's example leaves `tt` undeclared: accepted as the ONVIF schema namespace.
        let undeclared = ContentFilter::parse(
            ITEM_FILTER,
            r#"boolean(//tt:SimpleItem[@Name="Rule"])"#,
            |_| None,
        )
        .unwrap();
        assert!(undeclared.matches(&[Item::simple("Rule", "x")], &[], &[]));
    }

    #[test]
    fn random_input_never_panics_and_round_trips() {
        const PIECES: &[&str] = &[
            "(",
            ")",
            "[",
            "]",
            "@",
            "/",
            "//",
            "=",
            "!=",
            "\"",
            "'",
            "”",
            "“",
            " ",
            "and",
            "or",
            "not(",
            "boolean(",
            "tt:",
            "x:",
            "SimpleItem",
            "Name",
            "Value",
            "é",
            "\u{0}",
            ":",
            "::",
            "*",
            ".",
            "1",
            "<",
            "|",
            "Source",
            "Key",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let (mut parsed, items) = (0, [Item::simple("Name", "Value"), Item::simple("a", "b")]);
        for round in 0..6000 {
            let mut expr = if round % 4 == 0 {
                String::new()
            } else {
                SPEC[next(5)].to_string()
            };
            for _ in 0..1 + next(6) {
                let bounds: Vec<usize> = expr.char_indices().map(|(i, _)| i).collect();
                match (next(2), bounds.len()) {
                    (0, n) if n > 0 => drop(expr.remove(bounds[next(n)])),
                    (_, n) => expr.insert_str(
                        bounds.get(next(n + 1)).copied().unwrap_or(expr.len()),
                        PIECES[next(PIECES.len())],
                    ),
                }
            }
            if let Ok(f) = ContentFilter::parse(ITEM_FILTER, &expr, resolve) {
                parsed += 1;
                f.matches(&items, &items, &items);
                let again = ContentFilter::parse(ITEM_FILTER, &f.to_string(), resolve);
                assert_eq!(again.as_ref(), Ok(&f), "{expr:?} -> {f}");
            }
        }
        assert!(parsed > 100, "only {parsed} mutants parsed");
    }
}
