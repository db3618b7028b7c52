//! Runtime values of the engine (text, number, bool, lists, records, null) and their taint:
//! the set of origins the data was read on, carried through copies and interpolation.

use bridle_dsl::ast::CompareOp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A value a script computes with. JSON-shaped on the wire: `null`, `true`, `1.5`, `"text"`,
/// `[…]`, `{…}`, so a planner reads a `return`ed value as plain JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    List(Vec<Value>),
    /// A record keyed by field name; a table row is keyed by its column headers.
    Record(BTreeMap<String, Value>),
}

impl Value {
    /// The word used for the value's type in messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::Text(_) => "text",
            Value::List(_) => "list",
            Value::Record(_) => "record",
        }
    }

    /// The text a value becomes when interpolated into a string: text as is, numbers without
    /// a trailing `.0`, `true`/`false`, null as nothing, lists and records as JSON.
    pub fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => format_number(*n),
            Value::Text(s) => s.clone(),
            Value::List(_) | Value::Record(_) => serde_json::to_string(self).unwrap_or_default(),
        }
    }

    /// The value as a number: numbers as they are, text through [`parse_number`].
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Text(s) => parse_number(s),
            _ => None,
        }
    }

    /// Size of the value as JSON, the measure [`crate::engine::EngineLimits::max_value_bytes`]
    /// bounds (a saved machine state holds every variable, so values must stay small).
    pub fn json_len(&self) -> usize {
        serde_json::to_string(self).map_or(usize::MAX, |s| s.len())
    }
}

/// Prints a number the way people write it: `20`, `19.99`, never `20.0`.
pub fn format_number(n: f64) -> String {
    // Integers up to 2^53 are exact in f64, so printing them through i64 loses nothing.
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Reads a number out of page text such as `19.99`, `€ 1,234.50`, `19,99 EUR` or `-3`.
///
/// Currency symbols, codes and spaces around the digits are ignored. When both `,` and `.`
/// appear, the last one is the decimal separator; a lone `,` followed by one or two digits is
/// a decimal comma (`19,99`), otherwise it groups thousands (`1,234`). Returns `None` when
/// there is no number, more than one, or the result is not finite.
pub fn parse_number(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    let start = trimmed.find(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.')?;
    let end = trimmed.rfind(|c: char| c.is_ascii_digit())? + 1;
    if end <= start {
        return None;
    }
    let core: String = trimmed[start..end]
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\'')
        .collect();
    if core
        .chars()
        .any(|c| !(c.is_ascii_digit() || ",.-+".contains(c)))
    {
        return None;
    }
    let last_comma = core.rfind(',');
    let last_dot = core.rfind('.');
    let normalised = match (last_comma, last_dot) {
        (Some(c), Some(d)) if c > d => core.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => core.replace(',', ""),
        (Some(c), None) => {
            let decimals = core.len() - c - 1;
            if core.matches(',').count() == 1 && (1..=2).contains(&decimals) {
                core.replace(',', ".")
            } else {
                core.replace(',', "")
            }
        }
        _ => core,
    };
    let n: f64 = normalised.parse().ok()?;
    n.is_finite().then_some(n)
}

/// A value with the origins it was read on. Literals and params have no origins; a value
/// observed on a page has that page's (or frame's) origin; anything computed from tainted
/// values carries the union of their origins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tainted {
    pub value: Value,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub origins: BTreeSet<String>,
}

impl Tainted {
    /// A value that came from no page.
    pub fn clean(value: Value) -> Self {
        Tainted {
            value,
            origins: BTreeSet::new(),
        }
    }

    /// A value read on `origin` (no origin when the page's URL has none, e.g. `about:blank`).
    pub fn read_on(value: Value, origin: Option<String>) -> Self {
        Tainted {
            value,
            origins: origin.into_iter().collect(),
        }
    }
}

/// Evaluates a comparison. `==`/`!=` compare numbers numerically when one side is a number
/// and the other reads as one (`"20"` or `"€ 20.00"` equals `20`), and otherwise compare
/// exactly. `<`, `<=`, `>`, `>=` need both sides to read as numbers. `contains` is list
/// membership for a list and case-sensitive substring for everything else.
pub(crate) fn compare(op: CompareOp, left: &Value, right: &Value) -> Result<bool, String> {
    match op {
        CompareOp::Contains => Ok(match left {
            Value::List(items) => items.iter().any(|item| equal(item, right)),
            _ => left.to_text().contains(&right.to_text()),
        }),
        CompareOp::Eq => Ok(equal(left, right)),
        CompareOp::Ne => Ok(!equal(left, right)),
        CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge => {
            let number = |v: &Value| {
                v.as_number().ok_or_else(|| {
                    format!(
                        "`{}` compares numbers, and `{}` is not one",
                        op_word(op),
                        v.to_text()
                    )
                })
            };
            let (l, r) = (number(left)?, number(right)?);
            Ok(match op {
                CompareOp::Lt => l < r,
                CompareOp::Le => l <= r,
                CompareOp::Gt => l > r,
                _ => l >= r,
            })
        }
    }
}

fn op_word(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Contains => "contains",
        CompareOp::Eq => "==",
        CompareOp::Ne => "!=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
    }
}

fn equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(a), other) | (other, Value::Number(a)) => {
            other.as_number().is_some_and(|b| *a == b)
        }
        _ => left == right,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_without_trailing_zero() {
        assert_eq!(format_number(20.0), "20");
        assert_eq!(format_number(19.99), "19.99");
        assert_eq!(format_number(-3.0), "-3");
        assert_eq!(format_number(0.5), "0.5");
    }

    #[test]
    fn page_numbers_parse_with_currencies_and_separators() {
        assert_eq!(parse_number("19.99"), Some(19.99));
        assert_eq!(parse_number("€ 1,234.50"), Some(1234.5));
        assert_eq!(parse_number("19,99 EUR"), Some(19.99));
        assert_eq!(parse_number("1.234,5 €"), Some(1234.5));
        assert_eq!(parse_number("1,234"), Some(1234.0));
        assert_eq!(parse_number("-3"), Some(-3.0));
        assert_eq!(parse_number("USD 7"), Some(7.0));
        assert_eq!(parse_number("free"), None);
        assert_eq!(parse_number("1 or 2"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn values_are_plain_json() {
        let mut row = BTreeMap::new();
        row.insert("name".to_owned(), Value::Text("cable".into()));
        row.insert("price".to_owned(), Value::Number(9.5));
        let v = Value::List(vec![Value::Record(row), Value::Null, Value::Bool(true)]);
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"[{"name":"cable","price":9.5},null,true]"#);
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), v);
    }

    #[test]
    fn comparisons() {
        let t = |s: &str| Value::Text(s.to_owned());
        let n = Value::Number;
        // `==` reads text as a number when the other side is one.
        assert_eq!(compare(CompareOp::Eq, &t("€ 20.00"), &n(20.0)), Ok(true));
        assert_eq!(compare(CompareOp::Eq, &t("20"), &t("20.0")), Ok(false));
        assert_eq!(compare(CompareOp::Ne, &t("free"), &n(0.0)), Ok(true));
        assert_eq!(compare(CompareOp::Le, &t("19,99"), &n(20.0)), Ok(true));
        assert_eq!(compare(CompareOp::Gt, &n(3.0), &n(3.0)), Ok(false));
        assert_eq!(
            compare(CompareOp::Lt, &t("free"), &n(1.0)),
            Err("`<` compares numbers, and `free` is not one".to_owned())
        );
        // `contains`: membership in a list, case-sensitive substring otherwise.
        let list = Value::List(vec![t("a"), n(2.0)]);
        assert_eq!(compare(CompareOp::Contains, &list, &t("2")), Ok(true));
        assert_eq!(compare(CompareOp::Contains, &list, &t("b")), Ok(false));
        assert_eq!(
            compare(CompareOp::Contains, &t("Thank you"), &t("thank")),
            Ok(false)
        );
        assert_eq!(
            compare(CompareOp::Contains, &t("Thank you"), &t("you")),
            Ok(true)
        );
    }

    #[test]
    fn interpolation_text_of_each_type() {
        assert_eq!(Value::Null.to_text(), "");
        assert_eq!(Value::Bool(false).to_text(), "false");
        assert_eq!(Value::Number(2.0).to_text(), "2");
        assert_eq!(Value::List(vec![Value::Number(1.0)]).to_text(), "[1.0]");
    }
}
