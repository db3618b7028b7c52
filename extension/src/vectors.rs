//! Test hook `self.bridleTest.replayVectors` (wasm build only): replays the PEP's conformance
//! vectors (`tests/vectors/decisions.json`) with the very replay the native test runs
//! (`bridle_executor::vectors`), so `web-tests/tests/vectors.test.mjs` can compare the wasm
//! build's decisions with the native ones. It reads and changes none of the instance's state:
//! every vector carries its own policy, token, instance id and time.

use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Replays the vectors file `json` (at most `bridle_executor::vectors::MAX_VECTORS_BYTES`);
/// one `{name, agrees, got: {token_valid, token_error, decisions}}` per vector, in order.
/// Throws an `Error` when the file cannot be read or a vector's inputs do not load.
#[wasm_bindgen(js_name = replayVectors)]
pub fn replay_vectors(json: &str) -> Result<JsValue, JsError> {
    let cases = bridle_executor::vectors::replay(json).map_err(|e| JsError::new(&e.to_string()))?;
    cases
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("cannot hand the result to JavaScript: {e}")))
}
