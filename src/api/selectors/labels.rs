//! Label selector strings (`a=b,c!=d,e in (x,y),f notin (z),g,!h`).
//!
//! kube-core's `Selector` can match labels but cannot parse the string form, so the parser is ours
//! (a lexer and a recursive-descent parser shaped like apimachinery's `labels.Parse`, with its
//! error texts); matching is kube-core's.

use std::collections::{BTreeMap, BTreeSet};

use kube::core::{Expression, Selector};

use crate::api::field::{FieldError, Path};
use crate::api::validation::{is_label_value, is_qualified_name};

/// A parsed label selector; the default selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector(pub kube::core::Selector);

impl LabelSelector {
    /// Parses kube's label selector syntax; an error message suits a 400 BadRequest.
    ///
    /// ```
    /// use capstan::api::selectors::labels::LabelSelector;
    /// use std::collections::BTreeMap;
    /// let sel = LabelSelector::parse("app=web, tier in (front,back), !legacy").unwrap();
    /// let labels = BTreeMap::from([("app".to_string(), "web".to_string()),
    ///                              ("tier".to_string(), "front".to_string())]);
    /// assert!(sel.matches(&labels));
    /// assert!(LabelSelector::parse("app=").unwrap().matches(&BTreeMap::from([("app".into(), "".into())])));
    /// assert!(LabelSelector::parse("a b").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, String> {
        let tokens = lex(s);
        let mut parser = Parser {
            tokens,
            position: 0,
        };
        let mut requirements = parser.parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        let exprs = requirements
            .into_iter()
            .map(Requirement::into_expression)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(exprs.into_iter().collect::<Selector>()))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        use kube::core::SelectorExt;
        self.0.matches(labels)
    }

    /// Whether this selects everything.
    pub fn is_empty(&self) -> bool {
        self.0.selects_all()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
    Error,
}

/// The literal tokens; everything else made of non-special characters is an identifier.
fn literal_token(s: &str) -> Option<Token> {
    Some(match s {
        ")" => Token::ClosedPar,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "in" => Token::In,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "notin" => Token::NotIn,
        "(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(c: u8) -> bool {
    matches!(c, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits the input into tokens, ending with `EndOfString` (or an `Error` token).
fn lex(s: &str) -> Vec<(Token, String)> {
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        while pos < bytes.len() && is_whitespace(bytes[pos]) {
            pos += 1;
        }
        if pos >= bytes.len() {
            out.push((Token::EndOfString, String::new()));
            return out;
        }
        let start = pos;
        if is_special(bytes[pos]) {
            // Longest run of special characters that still forms a known token.
            let mut last: Option<(Token, usize)> = None;
            while pos < bytes.len() && is_special(bytes[pos]) {
                let candidate = &s[start..=pos];
                match literal_token(candidate) {
                    Some(tok) => last = Some((tok, pos + 1)),
                    None if last.is_some() => break,
                    None => {}
                }
                pos += 1;
            }
            match last {
                Some((tok, end)) => {
                    out.push((tok, s[start..end].to_string()));
                    pos = end;
                }
                None => {
                    out.push((
                        Token::Error,
                        format!("error expected: keyword found '{}'", &s[start..pos]),
                    ));
                    return out;
                }
            }
        } else {
            while pos < bytes.len() && !is_special(bytes[pos]) && !is_whitespace(bytes[pos]) {
                pos += 1;
            }
            let word = &s[start..pos];
            let tok = match literal_token(word) {
                Some(t @ (Token::In | Token::NotIn)) => t,
                _ => Token::Identifier,
            };
            out.push((tok, word.to_string()));
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Exists,
    DoesNotExist,
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    GreaterThan,
    LessThan,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Exists => "exists",
            Self::DoesNotExist => "!",
            Self::Equals => "=",
            Self::DoubleEquals => "==",
            Self::NotEquals => "!=",
            Self::In => "in",
            Self::NotIn => "notin",
            Self::GreaterThan => "gt",
            Self::LessThan => "lt",
        }
    }
}

const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

struct Requirement {
    key: String,
    op: Op,
    values: BTreeSet<String>,
}

impl Requirement {
    /// kube's `NewRequirement` checks, with its aggregated error text.
    fn new(key: String, op: Op, values: BTreeSet<String>) -> Result<Self, String> {
        let mut errs: Vec<FieldError> = Vec::new();
        let root = Path::default();
        let values_path = root.child("values");
        let key_msgs = is_qualified_name(&key);
        if !key_msgs.is_empty() {
            errs.push(FieldError::invalid(
                root.child("key"),
                key.as_str(),
                key_msgs.join("; "),
            ));
        }
        let as_list = || serde_json::Value::from(values.iter().cloned().collect::<Vec<_>>());
        match op {
            Op::In | Op::NotIn if values.is_empty() => errs.push(FieldError::invalid(
                &values_path,
                as_list(),
                "for 'in', 'notin' operators, values set can't be empty",
            )),
            Op::Equals | Op::DoubleEquals | Op::NotEquals if values.len() != 1 => {
                errs.push(FieldError::invalid(
                    &values_path,
                    as_list(),
                    "exact-match compatibility requires one single value",
                ))
            }
            _ => {}
        }
        for (i, v) in values.iter().enumerate() {
            let msgs = is_label_value(v);
            if !msgs.is_empty() {
                errs.push(FieldError::invalid(
                    values_path.index(i).key(&key),
                    v.as_str(),
                    msgs.join("; "),
                ));
            }
        }
        match errs.as_slice() {
            [] => Ok(Self { key, op, values }),
            [one] => Err(one.to_string()),
            many => Err(format!(
                "[{}]",
                many.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    fn into_expression(self) -> Result<Expression, String> {
        let value = self.values.iter().next().cloned().unwrap_or_default();
        Ok(match self.op {
            Op::Exists => Expression::Exists(self.key),
            Op::DoesNotExist => Expression::DoesNotExist(self.key),
            Op::Equals | Op::DoubleEquals => Expression::Equal(self.key, value),
            Op::NotEquals => Expression::NotEqual(self.key, value),
            Op::In => Expression::In(self.key, self.values),
            Op::NotIn => Expression::NotIn(self.key, self.values),
            // kube-core's matcher has no numeric comparisons, so refuse rather than mis-match.
            Op::GreaterThan | Op::LessThan => {
                return Err(format!(
                    "unable to parse requirement: operator {:?} is not supported by this server",
                    self.op.as_str()
                ));
            }
        })
    }
}

/// In a list of values, `in` and `notin` are plain identifiers (`x in (in)`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser {
    tokens: Vec<(Token, String)>,
    position: usize,
}

impl Parser {
    fn item(&self, at: usize, ctx: Context) -> (Token, String) {
        let (tok, lit) = self
            .tokens
            .get(at)
            .cloned()
            .unwrap_or((Token::EndOfString, String::new()));
        match tok {
            Token::In | Token::NotIn if ctx == Context::Values => (Token::Identifier, lit),
            _ => (tok, lit),
        }
    }

    fn lookahead(&self, ctx: Context) -> (Token, String) {
        self.item(self.position, ctx)
    }

    fn consume(&mut self, ctx: Context) -> (Token, String) {
        let item = self.item(self.position, ctx);
        self.position += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Context::Values);
            match tok {
                Token::Identifier | Token::DoesNotExist => {
                    let r = self
                        .parse_requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    requirements.push(r);
                    let (t, l) = self.consume(Context::Values);
                    match t {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (t2, l2) = self.lookahead(Context::Values);
                            if t2 != Token::Identifier && t2 != Token::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => return Err(format!("found '{l}', expected: ',' or 'end of string'")),
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, op) = self.parse_key_and_infer_operator()?;
        if let Some(op @ (Op::Exists | Op::DoesNotExist)) = op {
            return Requirement::new(key, op, BTreeSet::new());
        }
        let op = self.parse_operator()?;
        let values = match op {
            Op::In | Op::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(key, op, values)
    }

    /// The key, and `Exists`/`DoesNotExist` when no binary operator follows.
    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Op>), String> {
        let mut op = None;
        let (mut tok, mut lit) = self.consume(Context::Values);
        if tok == Token::DoesNotExist {
            op = Some(Op::DoesNotExist);
            (tok, lit) = self.consume(Context::Values);
        }
        if tok != Token::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        let msgs = is_qualified_name(&lit);
        if !msgs.is_empty() {
            // kube validates with a nil field path here, which prints as `<nil>`.
            return Err(FieldError::invalid("<nil>", lit.as_str(), msgs.join("; ")).to_string());
        }
        let (next, _) = self.lookahead(Context::Values);
        if matches!(next, Token::EndOfString | Token::Comma) && op.is_none() {
            op = Some(Op::Exists);
        }
        Ok((lit, op))
    }

    fn parse_operator(&mut self) -> Result<Op, String> {
        let (tok, lit) = self.consume(Context::KeyAndOperator);
        Ok(match tok {
            Token::In => Op::In,
            Token::Equals => Op::Equals,
            Token::DoubleEquals => Op::DoubleEquals,
            Token::GreaterThan => Op::GreaterThan,
            Token::LessThan => Op::LessThan,
            Token::NotIn => Op::NotIn,
            Token::NotEquals => Op::NotEquals,
            _ => return Err(format!("found '{lit}', expected: {BINARY_OPERATORS}")),
        })
    }

    /// `(a,b,c)`; `()` is the set holding the empty string, as in kube.
    fn parse_values(&mut self) -> Result<BTreeSet<String>, String> {
        let (tok, lit) = self.consume(Context::Values);
        if tok != Token::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.lookahead(Context::Values);
        match tok {
            Token::Identifier | Token::Comma => {
                let set = self.parse_identifiers_list()?;
                let (tok, _) = self.consume(Context::Values);
                if tok != Token::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(set)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, String> {
        let mut set = BTreeSet::new();
        loop {
            let (tok, lit) = self.consume(Context::Values);
            match tok {
                Token::Identifier => {
                    set.insert(lit);
                    let (tok2, lit2) = self.lookahead(Context::Values);
                    match tok2 {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(set),
                        _ => return Err(format!("found '{lit2}', expected: ',' or ')'")),
                    }
                }
                Token::Comma => {
                    if set.is_empty() {
                        set.insert(String::new());
                    }
                    let (tok2, _) = self.lookahead(Context::Values);
                    if tok2 == Token::ClosedPar {
                        set.insert(String::new());
                        return Ok(set);
                    }
                    if tok2 == Token::Comma {
                        set.insert(String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    /// The single value after `=`, `==` or `!=`; nothing before `,` or the end means `""`.
    fn parse_exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        let (tok, _) = self.lookahead(Context::Values);
        if matches!(tok, Token::EndOfString | Token::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        let (tok, lit) = self.consume(Context::Values);
        if tok == Token::Identifier {
            return Ok(BTreeSet::from([lit]));
        }
        Err(format!("found '{lit}', expected: identifier"))
    }
}

#[cfg(test)]
#[path = "labels_tests.rs"]
mod tests;
