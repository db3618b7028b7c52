//! A tiny scanner over JSON bytes that measures nesting depth and list lengths before any JSON
//! parser runs, so a hostile token cannot make the parser recurse or allocate past the limits.
//!
//! The scanner does not validate JSON: it only tracks brackets outside strings. Whatever it
//! lets through is then parsed by `serde_json`, which rejects anything malformed.

/// What the scan saw: the deepest nesting, and the longest array at each depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// 0 for a bare scalar, 1 for `{}` or `[]`, 2 for `{"a": []}` …
    pub depth: usize,
    /// `longest[d]` is the most items seen in one array that opens at depth `d` (index 0 unused).
    pub longest: [usize; MAX_TRACKED_DEPTH + 1],
}

/// The deepest level the scanner can track; callers' limits must not exceed it.
pub(crate) const MAX_TRACKED_DEPTH: usize = 8;

/// Nesting went past `max_depth` (the scan stops at the first bracket too deep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooDeep;

#[derive(Debug, Clone, Copy, Default)]
struct Frame {
    array: bool,
    commas: usize,
    nonempty: bool,
}

impl Frame {
    fn items(&self) -> usize {
        if self.nonempty {
            self.commas + 1
        } else {
            0
        }
    }
}

/// Scans `bytes` in one pass with no allocation. `max_depth` is clamped to
/// [`MAX_TRACKED_DEPTH`].
pub(crate) fn scan(bytes: &[u8], max_depth: usize) -> Result<Shape, TooDeep> {
    let max_depth = max_depth.min(MAX_TRACKED_DEPTH);
    let mut stack = [Frame::default(); MAX_TRACKED_DEPTH];
    let mut depth = 0usize;
    let mut shape = Shape {
        depth: 0,
        longest: [0; MAX_TRACKED_DEPTH + 1],
    };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                mark_value(&mut stack, depth, &mut shape);
                // Skip the string: a backslash escapes the next byte, whatever it is.
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
            }
            b'[' | b'{' => {
                mark_value(&mut stack, depth, &mut shape);
                if depth >= max_depth {
                    return Err(TooDeep);
                }
                if let Some(frame) = stack.get_mut(depth) {
                    *frame = Frame {
                        array: b == b'[',
                        ..Frame::default()
                    };
                }
                depth += 1;
                shape.depth = shape.depth.max(depth);
            }
            b']' | b'}' => {
                // Unbalanced closers are left for the parser to reject.
                depth = depth.saturating_sub(1);
            }
            b',' => {
                if depth > 0 {
                    if let Some(frame) = stack.get_mut(depth - 1) {
                        frame.commas += 1;
                        if frame.array {
                            record(&mut shape, depth, frame.items());
                        }
                    }
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' | b':' => {}
            _ => mark_value(&mut stack, depth, &mut shape),
        }
        i += 1;
    }
    Ok(shape)
}

/// Something other than whitespace or punctuation appeared at `depth`: the enclosing array
/// (if any) is not empty.
fn mark_value(stack: &mut [Frame], depth: usize, shape: &mut Shape) {
    if depth == 0 {
        return;
    }
    if let Some(frame) = stack.get_mut(depth - 1) {
        if frame.array && !frame.nonempty {
            frame.nonempty = true;
            record(shape, depth, frame.items());
        }
    }
}

fn record(shape: &mut Shape, depth: usize, items: usize) {
    if let Some(slot) = shape.longest.get_mut(depth) {
        *slot = (*slot).max(items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_of_scalars_objects_and_arrays() {
        assert_eq!(scan(b"1", 4).unwrap().depth, 0);
        assert_eq!(scan(b"{}", 4).unwrap().depth, 1);
        assert_eq!(scan(br#"{"a":[{"b":[1]}]}"#, 4).unwrap().depth, 4);
    }

    #[test]
    fn depth_at_the_limit_passes_and_one_more_fails() {
        assert_eq!(scan(b"[[[[1]]]]", 4).unwrap().depth, 4);
        assert_eq!(scan(b"[[[[[1]]]]]", 4), Err(TooDeep));
        // A huge run of openers stops at the first one too deep.
        assert_eq!(scan(&[b'['; 100_000], 4), Err(TooDeep));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let shape = scan(br#"{"a":"[[[[[[\"]]]]{{{{"}"#, 1).unwrap();
        assert_eq!(shape.depth, 1);
    }

    #[test]
    fn counts_items_of_arrays_per_depth() {
        let shape = scan(br#"{"g":[{"o":["a","b","c"]},{"o":[1,2]}],"x":[]}"#, 4).unwrap();
        assert_eq!(shape.longest[2], 2);
        assert_eq!(shape.longest[4], 3);
        assert_eq!(scan(b"[]", 4).unwrap().longest[1], 0);
        assert_eq!(scan(b"[ [ ] ]", 4).unwrap().longest[1], 1);
        assert_eq!(scan(br#"["a,b", "c"]"#, 4).unwrap().longest[1], 2);
    }

    #[test]
    fn objects_do_not_count_as_lists() {
        let shape = scan(br#"{"a":1,"b":2,"c":3}"#, 4).unwrap();
        assert_eq!(shape.longest, [0; MAX_TRACKED_DEPTH + 1]);
    }

    #[test]
    fn never_panics_on_broken_input() {
        for input in [
            &b"]]]]"[..],
            b"\"\\",
            b"[\"",
            b"{,,,",
            b"\\\\\"",
            b"[1,",
            b"",
        ] {
            let _ = scan(input, 4);
        }
        assert_eq!(scan(b"[1,2", 4).unwrap().longest[1], 2);
    }
}
