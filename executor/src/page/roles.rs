//! ARIA roles of snapshot elements: the explicit `role` attribute (first valid token wins) or
//! the implicit role HTML-AAM gives the element in its context.
//!
//! Deliberate choices where browsers and specs differ (each is in `docs/snapshot.md`):
//! `<input type=password>` is a `textbox` (as Chromium and Firefox expose it; Testing
//! Library gives it no role), a `<summary>` that opens its `<details>` is a `button` (as
//! Chromium exposes it), `<form>` is `form` with or without a name (html-aria since 2023),
//! and `presentation` is reported as its synonym `none`.

use bridle_dsl::roles::ROLES;

/// What the implicit role of an element depends on besides the element itself.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RoleContext<'a> {
    /// Tag and role of the parent in the flat tree (same frame).
    pub parent_tag: Option<&'a str>,
    pub parent_role: Option<&'static str>,
    /// Inside `article`, `aside`, `main`, `nav` or `section` (or their roles): a `header` or
    /// `footer` there is not the page's banner or content info.
    pub in_sectioning: bool,
    /// The role of the nearest enclosing table (`table`, `grid`, `treegrid`).
    pub table_role: Option<&'static str>,
    /// Inside a `thead`.
    pub in_thead: bool,
    /// For a `th`: its row also holds `td` cells, so a `th` without `scope` heads the row.
    pub row_has_data_cell: bool,
    /// For a `summary`: it is the first `summary` child of a `details`.
    pub is_details_summary: bool,
    /// Has a name from `aria-label`, `aria-labelledby` or `title` (what `section`, `aside`
    /// need to be landmarks).
    pub has_author_name: bool,
}

/// The role word, as the `'static` string of the language's role list; `None` when `word` is
/// not a concrete ARIA role (abstract roles such as `widget` or `landmark` are not in the list).
pub fn canonical_role(word: &str) -> Option<&'static str> {
    let word = match word {
        "presentation" => "none",
        // ARIA 1.3 synonyms of 1.2 roles.
        "image" => "img",
        other => other,
    };
    if word == "element" {
        return None;
    }
    ROLES
        .binary_search(&word)
        .ok()
        .and_then(|i| ROLES.get(i).copied())
}

/// The first valid token of a `role` attribute.
pub fn explicit_role(value: &str) -> Option<&'static str> {
    value
        .split_ascii_whitespace()
        .find_map(|token| canonical_role(&token.to_ascii_lowercase()))
}

/// Whether the element can take keyboard focus on its own, which cancels `role="none"`.
fn natively_focusable<'n>(tag: &str, attr: &dyn Fn(&str) -> Option<&'n str>) -> bool {
    attr("tabindex").is_some()
        || match tag {
            "a" | "area" => attr("href").is_some(),
            "button" | "select" | "textarea" | "iframe" | "summary" => true,
            "input" => attr("type").is_none_or(|t| !t.eq_ignore_ascii_case("hidden")),
            _ => false,
        }
}

/// The role of an element: explicit when valid and not cancelled, else implicit.
///
/// `attr` looks up the element's attributes. An explicit `none` is ignored on focusable
/// elements and on elements with a name from `aria-label`/`aria-labelledby` (ARIA's
/// presentational-role conflict rule).
pub(crate) fn role_of<'n>(
    tag: &str,
    attr: &dyn Fn(&str) -> Option<&'n str>,
    ctx: &RoleContext<'_>,
) -> Option<&'static str> {
    if let Some(role) = attr("role").and_then(explicit_role) {
        let conflict = role == "none"
            && (natively_focusable(tag, attr)
                || attr("aria-label").is_some_and(|v| !v.trim().is_empty())
                || attr("aria-labelledby").is_some_and(|v| !v.trim().is_empty()));
        if !conflict {
            return Some(role);
        }
    }
    implicit_role(tag, attr, ctx)
}

/// The implicit role per HTML-AAM for the elements pages use; `None` for elements with no
/// corresponding role (`label`, `legend`, `br` …).
pub(crate) fn implicit_role<'n>(
    tag: &str,
    attr: &dyn Fn(&str) -> Option<&'n str>,
    ctx: &RoleContext<'_>,
) -> Option<&'static str> {
    let has = |name: &str| attr(name).is_some();
    let role = match tag {
        "a" | "area" => {
            if has("href") {
                "link"
            } else {
                "generic"
            }
        }
        "article" => "article",
        "aside" => {
            if !ctx.in_sectioning || ctx.has_author_name {
                "complementary"
            } else {
                "generic"
            }
        }
        "blockquote" => "blockquote",
        "button" => "button",
        "caption" => "caption",
        "code" => "code",
        "datalist" => "listbox",
        "dd" => "definition",
        "del" => "deletion",
        "details" => "group",
        "dfn" | "dt" => "term",
        "dialog" => "dialog",
        "em" => "emphasis",
        "fieldset" | "optgroup" | "address" | "hgroup" => "group",
        "figure" => "figure",
        "footer" => {
            if ctx.in_sectioning {
                "generic"
            } else {
                "contentinfo"
            }
        }
        "form" => "form",
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => "heading",
        "header" => {
            if ctx.in_sectioning {
                "generic"
            } else {
                "banner"
            }
        }
        "hr" => "separator",
        "img" => match attr("alt") {
            Some("") => "none",
            _ => "img",
        },
        "input" => return input_role(attr),
        "ins" => "insertion",
        "li" => {
            if matches!(ctx.parent_tag, Some("ul" | "ol" | "menu"))
                || ctx.parent_role == Some("list")
            {
                "listitem"
            } else {
                "generic"
            }
        }
        "main" => "main",
        "mark" => "mark",
        "math" => "math",
        "menu" | "ol" | "ul" => "list",
        "meter" => "meter",
        "nav" => "navigation",
        "option" => "option",
        "output" => "status",
        "p" => "paragraph",
        "progress" => "progressbar",
        "search" => "search",
        "section" => {
            if ctx.has_author_name {
                "region"
            } else {
                "generic"
            }
        }
        "select" => {
            let size = attr("size")
                .and_then(|s| s.trim().parse::<u32>().ok())
                .unwrap_or(0);
            if has("multiple") || size > 1 {
                "listbox"
            } else {
                "combobox"
            }
        }
        "strong" => "strong",
        "sub" => "subscript",
        "sup" => "superscript",
        "summary" => {
            if ctx.is_details_summary {
                "button"
            } else {
                "generic"
            }
        }
        "table" => "table",
        "tbody" | "thead" | "tfoot" => "rowgroup",
        "td" => match ctx.table_role {
            Some("grid" | "treegrid") => "gridcell",
            _ => "cell",
        },
        "th" => {
            let scope = attr("scope").map(|s| s.trim().to_ascii_lowercase());
            match scope.as_deref() {
                Some("row" | "rowgroup") => "rowheader",
                Some("col" | "colgroup") => "columnheader",
                _ if ctx.in_thead => "columnheader",
                _ if ctx.row_has_data_cell => "rowheader",
                _ => "columnheader",
            }
        }
        "textarea" => "textbox",
        "time" => "time",
        "tr" => "row",
        "b" | "bdi" | "bdo" | "body" | "data" | "div" | "i" | "pre" | "q" | "s" | "samp"
        | "small" | "span" | "u" => "generic",
        _ => return None,
    };
    Some(role)
}

/// Roles of `<input>` by type; a `list` attribute turns text-like inputs into comboboxes.
fn input_role<'n>(attr: &dyn Fn(&str) -> Option<&'n str>) -> Option<&'static str> {
    let ty = attr("type")
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let list = attr("list").is_some();
    Some(match ty.as_str() {
        "button" | "image" | "reset" | "submit" => "button",
        "checkbox" => "checkbox",
        "radio" => "radio",
        "range" => "slider",
        "number" => "spinbutton",
        "search" if list => "combobox",
        "search" => "searchbox",
        "" | "text" | "email" | "tel" | "url" | "password" if list && ty != "password" => {
            "combobox"
        }
        "" | "text" | "email" | "tel" | "url" | "password" => "textbox",
        // Unknown types are text inputs (the HTML default).
        "hidden" | "color" | "date" | "datetime-local" | "file" | "month" | "time" | "week" => {
            return None
        }
        _ if list => "combobox",
        _ => "textbox",
    })
}

/// Roles whose accessible name may come from their content (ARIA 1.2 "name from contents").
pub(crate) fn name_from_content(role: Option<&str>) -> bool {
    matches!(
        role,
        Some(
            "button"
                | "cell"
                | "checkbox"
                | "columnheader"
                | "gridcell"
                | "heading"
                | "link"
                | "menuitem"
                | "menuitemcheckbox"
                | "menuitemradio"
                | "option"
                | "radio"
                | "row"
                | "rowheader"
                | "switch"
                | "tab"
                | "tooltip"
                | "treeitem"
        )
    )
}

/// Roles whose value stands for them when they sit inside another element's label.
pub(crate) fn is_embedded_control(role: Option<&str>) -> bool {
    matches!(
        role,
        Some(
            "textbox"
                | "searchbox"
                | "combobox"
                | "listbox"
                | "slider"
                | "spinbutton"
                | "progressbar"
                | "scrollbar"
                | "meter"
        )
    )
}

/// Elements that start a landmark scope for `header`/`footer`/`aside`.
pub(crate) fn is_sectioning(tag: &str, role: Option<&str>) -> bool {
    matches!(tag, "article" | "aside" | "main" | "nav" | "section")
        || matches!(
            role,
            Some("article" | "complementary" | "main" | "navigation" | "region")
        )
}

/// Elements HTML's `<label>` can label.
pub(crate) fn is_labelable(tag: &str, input_type: Option<&str>) -> bool {
    match tag {
        "button" | "meter" | "output" | "progress" | "select" | "textarea" => true,
        "input" => input_type != Some("hidden"),
        _ => false,
    }
}

/// Form controls whose `disabled` attribute disables them.
pub(crate) fn is_form_control(tag: &str) -> bool {
    matches!(
        tag,
        "button" | "input" | "select" | "textarea" | "optgroup" | "option" | "fieldset"
    )
}

/// Whether the element is laid out inline by default (the UA style sheet), for where spaces
/// go between pieces of text; the content script overrides this with `inline` when CSS does.
pub(crate) fn inline_by_default(tag: &str) -> bool {
    matches!(
        tag,
        "a" | "abbr"
            | "b"
            | "bdi"
            | "bdo"
            | "button"
            | "cite"
            | "code"
            | "data"
            | "del"
            | "dfn"
            | "em"
            | "font"
            | "i"
            | "img"
            | "input"
            | "ins"
            | "kbd"
            | "label"
            | "mark"
            | "meter"
            | "output"
            | "progress"
            | "q"
            | "s"
            | "samp"
            | "select"
            | "slot"
            | "small"
            | "span"
            | "strong"
            | "sub"
            | "sup"
            | "svg"
            | "textarea"
            | "time"
            | "u"
            | "var"
            | "wbr"
    ) || tag.contains('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A tag, its attributes, and the role it should have.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], Option<&'a str>);

    fn role(tag: &str, attrs: &[(&str, &str)]) -> Option<&'static str> {
        role_in(tag, attrs, RoleContext::default())
    }

    fn role_in(tag: &str, attrs: &[(&str, &str)], ctx: RoleContext<'_>) -> Option<&'static str> {
        let map: BTreeMap<String, String> = attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        role_of(tag, &|name| map.get(name).map(String::as_str), &ctx)
    }

    #[test]
    fn implicit_roles_of_common_elements() {
        let table: &[Case<'_>] = &[
            ("a", &[("href", "")], Some("link")),
            ("a", &[], Some("generic")),
            ("area", &[("href", "/x")], Some("link")),
            ("button", &[], Some("button")),
            ("input", &[], Some("textbox")),
            ("input", &[("type", "TEXT")], Some("textbox")),
            ("input", &[("type", "email")], Some("textbox")),
            ("input", &[("type", "tel")], Some("textbox")),
            ("input", &[("type", "url")], Some("textbox")),
            ("input", &[("type", "password")], Some("textbox")),
            ("input", &[("type", "bogus")], Some("textbox")),
            (
                "input",
                &[("type", "email"), ("list", "l")],
                Some("combobox"),
            ),
            ("input", &[("type", "search")], Some("searchbox")),
            (
                "input",
                &[("type", "search"), ("list", "l")],
                Some("combobox"),
            ),
            ("input", &[("type", "checkbox")], Some("checkbox")),
            ("input", &[("type", "radio")], Some("radio")),
            ("input", &[("type", "range")], Some("slider")),
            ("input", &[("type", "number")], Some("spinbutton")),
            ("input", &[("type", "submit")], Some("button")),
            ("input", &[("type", "reset")], Some("button")),
            ("input", &[("type", "button")], Some("button")),
            ("input", &[("type", "image")], Some("button")),
            ("input", &[("type", "hidden")], None),
            ("input", &[("type", "date")], None),
            ("select", &[], Some("combobox")),
            ("select", &[("size", "1")], Some("combobox")),
            ("select", &[("size", "4")], Some("listbox")),
            ("select", &[("multiple", "")], Some("listbox")),
            ("option", &[], Some("option")),
            ("textarea", &[], Some("textbox")),
            ("img", &[("alt", "Logo")], Some("img")),
            ("img", &[], Some("img")),
            ("img", &[("alt", "")], Some("none")),
            ("h1", &[], Some("heading")),
            ("h6", &[], Some("heading")),
            ("ul", &[], Some("list")),
            ("ol", &[], Some("list")),
            ("menu", &[], Some("list")),
            ("table", &[], Some("table")),
            ("tr", &[], Some("row")),
            ("thead", &[], Some("rowgroup")),
            ("td", &[], Some("cell")),
            ("th", &[], Some("columnheader")),
            ("th", &[("scope", "row")], Some("rowheader")),
            ("nav", &[], Some("navigation")),
            ("main", &[], Some("main")),
            ("header", &[], Some("banner")),
            ("footer", &[], Some("contentinfo")),
            ("aside", &[], Some("complementary")),
            ("form", &[], Some("form")),
            ("section", &[], Some("generic")),
            ("dialog", &[], Some("dialog")),
            ("details", &[], Some("group")),
            ("summary", &[], Some("generic")),
            ("fieldset", &[], Some("group")),
            ("progress", &[], Some("progressbar")),
            ("meter", &[], Some("meter")),
            ("output", &[], Some("status")),
            ("article", &[], Some("article")),
            ("hr", &[], Some("separator")),
            ("p", &[], Some("paragraph")),
            ("div", &[], Some("generic")),
            ("span", &[], Some("generic")),
            ("label", &[], None),
            ("legend", &[], None),
            ("my-widget", &[], None),
        ];
        for (tag, attrs, want) in table {
            assert_eq!(role(tag, attrs), *want, "{tag} {attrs:?}");
        }
    }

    #[test]
    fn context_changes_some_roles() {
        let sect = RoleContext {
            in_sectioning: true,
            ..RoleContext::default()
        };
        assert_eq!(role_in("header", &[], sect), Some("generic"));
        assert_eq!(role_in("footer", &[], sect), Some("generic"));
        assert_eq!(role_in("aside", &[], sect), Some("generic"));
        let named = RoleContext {
            in_sectioning: true,
            has_author_name: true,
            ..RoleContext::default()
        };
        assert_eq!(role_in("aside", &[], named), Some("complementary"));
        assert_eq!(role_in("section", &[], named), Some("region"));
        let grid = RoleContext {
            table_role: Some("grid"),
            ..RoleContext::default()
        };
        assert_eq!(role_in("td", &[], grid), Some("gridcell"));
        let thead = RoleContext {
            in_thead: true,
            row_has_data_cell: true,
            ..RoleContext::default()
        };
        assert_eq!(role_in("th", &[], thead), Some("columnheader"));
        let row = RoleContext {
            row_has_data_cell: true,
            ..RoleContext::default()
        };
        assert_eq!(role_in("th", &[], row), Some("rowheader"));
        assert_eq!(
            role_in("th", &[("scope", "col")], row),
            Some("columnheader")
        );
        let ul = RoleContext {
            parent_tag: Some("ul"),
            ..RoleContext::default()
        };
        assert_eq!(role_in("li", &[], ul), Some("listitem"));
        assert_eq!(role("li", &[]), Some("generic"));
        let summary = RoleContext {
            is_details_summary: true,
            ..RoleContext::default()
        };
        assert_eq!(role_in("summary", &[], summary), Some("button"));
    }

    #[test]
    fn explicit_roles_take_the_first_valid_token() {
        assert_eq!(role("div", &[("role", "button")]), Some("button"));
        assert_eq!(
            role("div", &[("role", "  Switch  checkbox")]),
            Some("switch")
        );
        assert_eq!(role("div", &[("role", "bogus tab")]), Some("tab"));
        // Abstract roles are skipped, and so is the language's `element`.
        assert_eq!(role("div", &[("role", "widget")]), Some("generic"));
        assert_eq!(role("div", &[("role", "landmark region")]), Some("region"));
        assert_eq!(role("span", &[("role", "element")]), Some("generic"));
        assert_eq!(role("div", &[("role", "")]), Some("generic"));
        assert_eq!(role("div", &[("role", "image")]), Some("img"));
        assert_eq!(role("div", &[("role", "presentation")]), Some("none"));
    }

    #[test]
    fn none_is_ignored_where_it_would_hide_a_control() {
        assert_eq!(role("button", &[("role", "none")]), Some("button"));
        assert_eq!(
            role("a", &[("role", "presentation"), ("href", "/")]),
            Some("link")
        );
        assert_eq!(
            role("div", &[("role", "none"), ("tabindex", "0")]),
            Some("generic")
        );
        assert_eq!(
            role("h2", &[("role", "none"), ("aria-label", "x")]),
            Some("heading")
        );
        assert_eq!(role("h2", &[("role", "none")]), Some("none"));
        assert_eq!(role("table", &[("role", "presentation")]), Some("none"));
    }

    #[test]
    fn role_words_are_canonical() {
        assert_eq!(canonical_role("button"), Some("button"));
        assert_eq!(canonical_role("presentation"), Some("none"));
        assert_eq!(canonical_role("element"), None);
        assert_eq!(canonical_role("command"), None);
    }
}
