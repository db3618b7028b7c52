//! Fuzz target: the script parser is total, and every tree it produces survives the canonical
//! formatter: `parse(format(tree)) == tree` and formatting is idempotent.
#![no_main]

use bridle_dsl::fmt::format_script;
use bridle_dsl::parser::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(script) = bridle_dsl::parse_bytes(data) else {
        return;
    };
    let text = format_script(&script);
    match parse(&text) {
        Ok(again) => {
            assert_eq!(again, script, "format then parse changed the tree:\n{text}");
            assert_eq!(format_script(&again), text, "formatting is not idempotent");
        }
        Err(diags) => panic!("the canonical text does not parse: {diags:?}\n{text}"),
    }
});
