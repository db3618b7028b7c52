//! Reads of the page beyond one element's text: the title, a table as records keyed by its
//! column headers (`table T`), and the amount the page shows before a high-risk step (the
//! policy's `max_amount`). Pure functions over the snapshot, like resolution; the rules are
//! documented in `docs/snapshot.md` ("Reads").

use super::limits::{MAX_TABLE_COLUMNS, MAX_TABLE_ROWS};
use super::snapshot::{Handle, Snapshot};
use super::tree::Index;
use crate::decision::Amount;
use regex::Regex;
use std::sync::OnceLock;
use thiserror::Error;

/// Why a table could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReadError {
    #[error("the element decided on (node `{}` of frame `{}`) is gone", .handle.node, .handle.frame)]
    Gone { handle: Handle },
    #[error("the element is a {role}, not a table, grid or treegrid")]
    NotATable { role: String },
    #[error("the table has more than {max} {what}")]
    TooLarge { what: &'static str, max: usize },
}

/// The top frame's title (`document.title`, whitespace collapsed), empty when it has none.
pub fn title(snapshot: &Snapshot) -> Option<&str> {
    snapshot
        .frames()
        .find(|f| f.parent.is_none())
        .map(|f| f.title.as_str())
}

/// One table row: `(column header, cell text)` in column order.
pub type Record = Vec<(String, String)>;

const TABLES: [&str; 3] = ["table", "grid", "treegrid"];
const CELLS: [&str; 4] = ["cell", "gridcell", "columnheader", "rowheader"];

/// The rows of the table at `handle` as records keyed by column header.
///
/// Rows are the `row` elements of this table (not of a table nested in it) that are
/// rendered; the header row is the first row whose cells are all `columnheader`s, and every
/// other row with cells is a record. A column without a header is keyed `column N` (1-based);
/// a header seen twice gets ` (2)`, ` (3)` …. Cells are read as visible text; `colspan` is not
/// in the snapshot, so a spanning cell takes one column.
pub fn table(snapshot: &Snapshot, handle: Handle) -> Result<Vec<Record>, ReadError> {
    let ix = snapshot.index();
    let d = ix.find(handle).ok_or(ReadError::Gone { handle })?;
    let role = ix.entry(d).role.unwrap_or("generic");
    if !TABLES.contains(&role) {
        return Err(ReadError::NotATable {
            role: role.to_owned(),
        });
    }
    let mut headers: Option<Vec<String>> = None;
    let mut records = Vec::new();
    for row in own_descendants(ix, d, &["row"], &TABLES) {
        if !ix.entry(row).rendered {
            continue;
        }
        let cells = own_descendants(ix, row, &CELLS, &TABLES);
        if cells.is_empty() {
            continue;
        }
        if cells.len() > MAX_TABLE_COLUMNS {
            return Err(ReadError::TooLarge {
                what: "columns",
                max: MAX_TABLE_COLUMNS,
            });
        }
        let texts: Vec<String> = cells
            .iter()
            .map(|c| ix.texts().text(*c).to_owned())
            .collect();
        let all_headers = cells
            .iter()
            .all(|c| ix.entry(*c).role == Some("columnheader"));
        if headers.is_none() && all_headers {
            headers = Some(unique(texts));
            continue;
        }
        if records.len() >= MAX_TABLE_ROWS {
            return Err(ReadError::TooLarge {
                what: "rows",
                max: MAX_TABLE_ROWS,
            });
        }
        let keys = headers.as_deref().unwrap_or(&[]);
        records.push(
            texts
                .into_iter()
                .enumerate()
                .map(|(i, text)| {
                    let key = keys
                        .get(i)
                        .filter(|k| !k.is_empty())
                        .cloned()
                        .unwrap_or_else(|| format!("column {}", i + 1));
                    (key, text)
                })
                .collect(),
        );
    }
    Ok(records)
}

/// Descendants of `d` with one of `roles`, not looking inside an element of `stop` (a nested
/// table) nor inside a match (a cell's content).
fn own_descendants(ix: &Index, d: u32, roles: &[&str], stop: &[&str]) -> Vec<u32> {
    let mut out = Vec::new();
    let end = ix.entry(d).end;
    let mut at = d + 1;
    while at < end {
        let e = ix.entry(at);
        let role = e.role.unwrap_or("");
        if roles.contains(&role) {
            out.push(at);
            at = e.end;
        } else if stop.contains(&role) {
            at = e.end;
        } else {
            at += 1;
        }
    }
    out
}

/// Header texts made unique: the second "Price" is "Price (2)".
fn unique(texts: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(texts.len());
    for t in texts {
        let mut key = t.clone();
        let mut n = 1;
        while out.contains(&key) {
            n += 1;
            key = format!("{t} ({n})");
        }
        out.push(key);
    }
    out
}

/// Words that mark the amount a step commits to, lowercase.
const TOTAL_WORDS: [&str; 6] = [
    "total",
    "amount due",
    "to pay",
    "balance due",
    "you pay",
    "pay now",
];

/// Currency symbols and the ISO 4217 code each is read as. `$` is read as USD: a page in
/// another dollar should write its code (CAD, AUD …).
const SYMBOLS: [(&str, &str); 5] = [
    ("€", "EUR"),
    ("$", "USD"),
    ("£", "GBP"),
    ("¥", "JPY"),
    ("₹", "INR"),
];

/// Currency codes recognised when written out; other three-letter words are not amounts.
const CODES: [&str; 20] = [
    "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "INR", "JPY", "KRW",
    "MXN", "NOK", "NZD", "PLN", "SEK", "SGD", "USD",
];

fn amount_regex() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        let cur = r"(?:[€$£¥₹]|\b(?:AUD|BRL|CAD|CHF|CNY|CZK|DKK|EUR|GBP|HKD|INR|JPY|KRW|MXN|NOK|NZD|PLN|SEK|SGD|USD)\b)";
        let num = r"(?:\d{1,3}(?:[ ,.'\u{a0}\u{202f}]\d{3})+|\d+)(?:[.,]\d{1,2})?";
        Regex::new(&format!(
            r"(?P<c1>{cur})\s?(?P<n1>{num})|(?P<n2>{num})\s?(?P<c2>{cur})"
        ))
        .ok()
    })
    .as_ref()
}

/// Every amount written in `text`: a currency symbol or code before or after a number.
pub fn amounts_in(text: &str) -> Vec<Amount> {
    let Some(re) = amount_regex() else {
        return Vec::new();
    };
    re.captures_iter(text)
        .filter_map(|c| {
            let (cur, num) = match (c.name("c1"), c.name("n1"), c.name("n2"), c.name("c2")) {
                (Some(cur), Some(num), _, _) | (_, _, Some(num), Some(cur)) => {
                    (cur.as_str(), num.as_str())
                }
                _ => return None,
            };
            let currency = SYMBOLS
                .iter()
                .find(|(s, _)| *s == cur)
                .map(|(_, code)| *code)
                .or_else(|| CODES.iter().copied().find(|c| *c == cur))?;
            Some(Amount {
                currency: currency.to_owned(),
                value: parse_number(num)?,
            })
        })
        .collect()
}

/// `1,234.56`, `1.234,56`, `1 234,5`, `12,50`, `1'000` → the number: a final `.` or `,`
/// followed by one or two digits is the decimal separator; every other separator groups.
fn parse_number(text: &str) -> Option<f64> {
    let digits_after = |i: usize| {
        text[i + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .count()
    };
    let decimal = text
        .rfind(['.', ','])
        .filter(|i| (1..=2).contains(&digits_after(*i)) && text.len() == i + 1 + digits_after(*i));
    let mut out = String::with_capacity(text.len());
    for (i, ch) in text.char_indices() {
        if ch.is_ascii_digit() {
            out.push(ch);
        } else if Some(i) == decimal {
            out.push('.');
        }
    }
    out.parse().ok()
}

/// The amount the page shows as what is to be paid, for the policy's ceilings.
///
/// Candidates are the innermost rendered elements (in any frame) whose visible text names a
/// total (`total`, `amount due`, `to pay`, `balance due`, `you pay`, `pay now`; any case) and
/// contains an amount. When every amount found is in one currency, the largest is the page's
/// amount: a page cannot lower what is checked by adding a small "total" beside the real one.
/// Amounts in several currencies, or none, read as `None`, and the policy then asks rather
/// than allows (docs/policy.md, "Amounts").
pub fn page_amount(snapshot: &Snapshot) -> Option<Amount> {
    let ix = snapshot.index();
    let texts = ix.texts();
    let n = u32::try_from(ix.len()).unwrap_or(u32::MAX);
    let hits: Vec<u32> = (0..n)
        .filter(|d| {
            let e = ix.entry(*d);
            e.rendered
                && !e.excluded
                && TOTAL_WORDS.iter().any(|w| texts.lower(*d).contains(w))
                && !amounts_in(texts.text(*d)).is_empty()
        })
        .collect();
    // Innermost: matches are in document order and subtrees contiguous.
    let inner = hits
        .iter()
        .enumerate()
        .filter(|(i, d)| hits.get(i + 1).is_none_or(|next| !ix.is_inside(**d, *next)))
        .map(|(_, d)| *d);
    let mut best: Option<Amount> = None;
    for d in inner {
        for a in amounts_in(texts.text(d)) {
            best = match best {
                None => Some(a),
                Some(b) if b.currency != a.currency => return None,
                Some(b) => Some(if a.value > b.value { a } else { b }),
            };
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> Snapshot {
        let json = format!(
            r#"{{"frames": [{{"id": 0, "origin": "https://shop.example", "url": "https://shop.example/",
            "title": "Cart  ", "root": 1, "nodes": [{{"id": 1, "tag": "html", "kids": [2]}}, {body}]}}]}}"#
        );
        Snapshot::from_json(&json).unwrap()
    }

    const SHOWN: &str = r#""box": [0, 0, 10, 10], "visible": true"#;

    #[test]
    fn numbers_in_every_common_notation() {
        for (text, value) in [
            ("12", 12.0),
            ("12.50", 12.5),
            ("12,50", 12.5),
            ("1,234.56", 1234.56),
            ("1.234,56", 1234.56),
            ("1 234,5", 1234.5),
            ("1'000", 1000.0),
            ("1,234", 1234.0),
        ] {
            assert_eq!(parse_number(text), Some(value), "{text}");
        }
    }

    #[test]
    fn amounts_with_symbols_and_codes_either_side() {
        let got = amounts_in("Total: €12.50, or 13,00 EUR, or USD 14 and 15 SKU");
        let pairs: Vec<(String, f64)> = got.into_iter().map(|a| (a.currency, a.value)).collect();
        assert_eq!(
            pairs,
            [
                ("EUR".to_owned(), 12.5),
                ("EUR".to_owned(), 13.0),
                ("USD".to_owned(), 14.0)
            ]
        );
        assert!(amounts_in("Order 12345, 3 items").is_empty());
    }

    #[test]
    fn the_page_amount_is_the_largest_total_in_one_currency() {
        let snap = page(&format!(
            r#"{{"id": 2, "tag": "body", "kids": [3, 4, 5]}},
            {{"id": 3, "tag": "p", "kids": ["Cable 5 EUR"], {SHOWN}}},
            {{"id": 4, "tag": "p", "kids": ["Total: 25,90 €"], {SHOWN}}},
            {{"id": 5, "tag": "p", "kids": ["Discounted total 1 EUR"], {SHOWN}}}"#
        ));
        let a = page_amount(&snap).unwrap();
        assert_eq!((a.currency.as_str(), a.value), ("EUR", 25.9));
    }

    #[test]
    fn no_amount_when_currencies_differ_or_nothing_is_a_total() {
        let two = page(&format!(
            r#"{{"id": 2, "tag": "body", "kids": [3, 4]}},
            {{"id": 3, "tag": "p", "kids": ["Total 5 EUR"], {SHOWN}}},
            {{"id": 4, "tag": "p", "kids": ["Total $9"], {SHOWN}}}"#
        ));
        assert_eq!(page_amount(&two), None);
        let none = page(&format!(
            r#"{{"id": 2, "tag": "body", "kids": [3]}},
            {{"id": 3, "tag": "p", "kids": ["Cable 5 EUR"], {SHOWN}}}"#
        ));
        assert_eq!(page_amount(&none), None);
        let hidden = page(
            r#"{"id": 2, "tag": "body", "kids": [3]},
            {"id": 3, "tag": "p", "kids": ["Total 5 EUR"], "hidden": true}"#,
        );
        assert_eq!(page_amount(&hidden), None);
    }

    #[test]
    fn the_title_is_the_top_frames() {
        assert_eq!(title(&page(r#"{"id": 2, "tag": "body"}"#)), Some("Cart  "));
    }

    const TABLE: &str = r#"{"id": 2, "tag": "body", "kids": [3]},
        {"id": 3, "tag": "table", "kids": [4, 5, 6, 7], "box": [0, 0, 10, 10], "visible": true},
        {"id": 4, "tag": "tr", "kids": [10, 11, 12]},
        {"id": 10, "tag": "th", "kids": ["Item"]},
        {"id": 11, "tag": "th", "kids": ["Price"]},
        {"id": 12, "tag": "th", "kids": ["Price"]},
        {"id": 5, "tag": "tr", "kids": [20, 21, 22]},
        {"id": 20, "tag": "td", "kids": ["Cable ", 30]},
        {"id": 30, "tag": "b", "kids": ["USB-C"]},
        {"id": 21, "tag": "td", "kids": ["5 EUR"]},
        {"id": 22, "tag": "td", "kids": ["6 EUR"]},
        {"id": 6, "tag": "tr", "kids": [23, 24, 25, 26]},
        {"id": 23, "tag": "td", "kids": ["Plug"]},
        {"id": 24, "tag": "td", "kids": [40]},
        {"id": 40, "tag": "table", "kids": [41]},
        {"id": 41, "tag": "tr", "kids": [42]},
        {"id": 42, "tag": "td", "kids": ["nested"]},
        {"id": 25, "tag": "td"},
        {"id": 26, "tag": "td", "kids": ["extra"]},
        {"id": 7, "tag": "tr", "kids": [27], "hidden": true},
        {"id": 27, "tag": "td", "kids": ["gone"]}"#;

    #[test]
    fn a_table_reads_as_records_keyed_by_header() {
        let snap = page(TABLE);
        let rows = table(&snap, Handle { frame: 0, node: 3 }).unwrap();
        let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(
            rows,
            vec![
                vec![
                    s("Item", "Cable USB-C"),
                    s("Price", "5 EUR"),
                    s("Price (2)", "6 EUR")
                ],
                vec![
                    s("Item", "Plug"),
                    s("Price", "nested"),
                    s("Price (2)", ""),
                    s("column 4", "extra")
                ],
            ]
        );
    }

    #[test]
    fn only_tables_are_read() {
        let snap = page(TABLE);
        assert_eq!(
            table(&snap, Handle { frame: 0, node: 2 }),
            Err(ReadError::NotATable {
                role: "generic".to_owned()
            })
        );
        assert!(matches!(
            table(&snap, Handle { frame: 0, node: 99 }),
            Err(ReadError::Gone { .. })
        ));
    }

    #[test]
    fn a_row_past_the_column_limit_is_refused() {
        for n in [MAX_TABLE_COLUMNS, MAX_TABLE_COLUMNS + 1] {
            let ids: Vec<String> = (0..n).map(|i| (100 + i).to_string()).collect();
            let mut all = vec![
                r#"{"id": 2, "tag": "body", "kids": [3]}"#.to_owned(),
                r#"{"id": 3, "tag": "table", "kids": [4]}"#.to_owned(),
                format!(r#"{{"id": 4, "tag": "tr", "kids": [{}]}}"#, ids.join(",")),
            ];
            all.extend(
                ids.iter()
                    .map(|id| format!(r#"{{"id": {id}, "tag": "td", "kids": ["c"]}}"#)),
            );
            let got = table(&page(&all.join(",")), Handle { frame: 0, node: 3 });
            if n == MAX_TABLE_COLUMNS {
                assert_eq!(got.map(|rows| rows[0].len()), Ok(MAX_TABLE_COLUMNS));
            } else {
                assert_eq!(
                    got,
                    Err(ReadError::TooLarge {
                        what: "columns",
                        max: MAX_TABLE_COLUMNS
                    })
                );
            }
        }
    }

    #[test]
    fn a_table_past_the_row_limit_is_refused() {
        for n in [MAX_TABLE_ROWS, MAX_TABLE_ROWS + 1] {
            let ids: Vec<String> = (0..n).map(|i| (100 + 2 * i).to_string()).collect();
            let mut all = vec![
                r#"{"id": 2, "tag": "body", "kids": [3]}"#.to_owned(),
                format!(
                    r#"{{"id": 3, "tag": "table", "kids": [{}]}}"#,
                    ids.join(",")
                ),
            ];
            for i in 0..n {
                all.push(format!(
                    r#"{{"id": {}, "tag": "tr", "kids": [{}]}}, {{"id": {}, "tag": "td", "kids": ["r"]}}"#,
                    100 + 2 * i,
                    101 + 2 * i,
                    101 + 2 * i
                ));
            }
            let snap = page(&all.join(","));
            let got = table(&snap, Handle { frame: 0, node: 3 });
            if n == MAX_TABLE_ROWS {
                assert_eq!(got.map(|rows| rows.len()), Ok(MAX_TABLE_ROWS));
            } else {
                assert_eq!(
                    got,
                    Err(ReadError::TooLarge {
                        what: "rows",
                        max: MAX_TABLE_ROWS
                    })
                );
            }
        }
    }
}
