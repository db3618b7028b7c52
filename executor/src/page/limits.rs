//! Every bound on a page snapshot and on resolving a target in it, named in one place; each
//! has a test at the limit.
//!
//! The page is hostile and can make its DOM as large as it likes; the content script cuts its
//! snapshot to these bounds (marking the frame `truncated`) and the service worker refuses
//! anything larger with a typed error before it spends time on it.

/// Largest snapshot or update message accepted as JSON text, in bytes. A busy page of 50,000
/// nodes is about 5 MB of JSON; the rest is room for text. Checked before parsing, so a
/// hostile 100 MB message costs one length check.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Most nodes in a snapshot, over all its frames. Real pages rarely pass 10,000 elements; past
/// 50,000, resolving a target in the service worker would start to cost noticeable time.
pub const MAX_NODES: usize = 50_000;

/// Most frames in a snapshot (the top frame and every iframe, nested ones included).
pub const MAX_FRAMES: usize = 64;

/// Deepest nesting of elements in one frame, the root at depth 0. Chromium's HTML parser
/// stops nesting at 512; the name computation recurses along this depth, so it is bounded.
pub const MAX_DEPTH: usize = 512;

/// Most entries (child nodes and text runs) in one node's `kids` or `shadow` list.
pub const MAX_KIDS: usize = MAX_NODES;

/// Most attributes of one node. The content script sends only the few that matter for roles
/// and names (`id`, `role`, `aria-*`, `type`, `for` …).
pub const MAX_ATTRS: usize = 32;

/// Longest attribute value, in characters (Unicode scalar values).
pub const MAX_ATTR_CHARS: usize = 2_048;

/// Longest text run, in characters. The content script cuts longer runs: a name or a visible
/// text a script can match is at most a few hundred characters.
pub const MAX_TEXT_CHARS: usize = 2_048;

/// Longest tag name, in characters (custom elements have long names).
pub const MAX_TAG_CHARS: usize = 64;

/// Longest form-control value sent in a snapshot, in characters.
pub const MAX_VALUE_CHARS: usize = 2_048;

/// Longest frame URL or origin, in characters.
pub const MAX_URL_CHARS: usize = 8_192;

/// Most CSS selectors one frame may carry results for: a step names one selector, and a
/// script's whole run rarely names more than a handful.
pub const MAX_CSS_SELECTORS: usize = 16;

/// Longest CSS selector, in characters.
pub const MAX_SELECTOR_CHARS: usize = 1_024;

/// Largest coordinate or size in a box, in CSS pixels: browsers clamp layout to about 2^25
/// px; anything beyond is garbage.
pub const MAX_COORD: f64 = 33_554_432.0;

/// Longest computed accessible name kept, in characters; longer names are cut (a name that
/// long is page text, not a label).
pub const MAX_NAME_CHARS: usize = 1_024;

/// Most candidates listed in an `ambiguous` error; the error also gives the full count.
pub const MAX_LISTED_CANDIDATES: usize = 10;

/// Most near misses listed in a `not-found` error.
pub const MAX_NEAR_MISSES: usize = 5;

/// Longest name shown for a candidate in an error message, in characters: names come from the
/// page, and an error goes back to the planner, so a hostile page cannot fill it with text.
pub const MAX_CANDIDATE_NAME_CHARS: usize = 60;

/// Compiled size limit of a name matcher's regular expression, in bytes (the regex crate's
/// `size_limit`); the language already bounds the pattern to 1 KiB of text.
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;

/// Deepest nesting of groups in a regular expression.
pub const REGEX_NEST_LIMIT: u32 = 64;

/// Records `table T` reads from one table; a larger table is refused rather than cut.
pub const MAX_TABLE_ROWS: usize = 1_000;

/// Cells of one table row `table T` reads.
pub const MAX_TABLE_COLUMNS: usize = 100;
