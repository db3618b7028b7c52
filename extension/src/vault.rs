//! The local vault: secrets the user keeps in this browser for scripts to fill by name
//! (`secret card = "visa-personal"`), never seen by the planner.
//!
//! Only entry names travel through the engine, the audit log, results and progress reports;
//! the value is looked up here at the moment of the fill and handed to the content script that
//! types it. Values are kept in the extension's own storage area, which content scripts cannot
//! read (`storage.ts`), as is the instance key; they are not encrypted at rest beyond what the
//! browser profile gives (`docs/vault.md`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most entries the vault holds.
pub const MAX_ENTRIES: usize = 64;
/// The longest entry name, in bytes (the language's vault entry names are strings, shown to the
/// user in approvals).
pub const MAX_NAME_BYTES: usize = 64;
/// The longest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;

/// Why a vault change or a stored vault was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("a vault entry name is 1 to {MAX_NAME_BYTES} bytes without control characters")]
    BadName,
    #[error("a vault value is 1 to {MAX_VALUE_BYTES} bytes")]
    BadValue,
    #[error("the vault holds at most {MAX_ENTRIES} entries")]
    Full,
    #[error("the stored vault cannot be read: {0}")]
    Stored(String),
}

/// The vault's entries, by name.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Vault {
    entries: BTreeMap<String, String>,
}

// Values never appear in debug output (logs, panics, test failures).
impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.entries.keys()).finish()
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_BYTES && !name.chars().any(char::is_control)
}

impl Vault {
    /// Reads the stored vault (JSON object of name → value), checking every entry.
    pub fn from_json(json: &str) -> Result<Vault, VaultError> {
        let entries: BTreeMap<String, String> =
            serde_json::from_str(json).map_err(|e| VaultError::Stored(e.to_string()))?;
        let mut vault = Vault::default();
        for (name, value) in entries {
            vault
                .set(&name, &value)
                .map_err(|e| VaultError::Stored(e.to_string()))?;
        }
        Ok(vault)
    }

    /// The JSON to store.
    pub fn to_json(&self) -> String {
        // A map of strings always serialises.
        serde_json::to_string(&self.entries).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Adds or replaces an entry.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), VaultError> {
        if !valid_name(name) {
            return Err(VaultError::BadName);
        }
        if value.is_empty() || value.len() > MAX_VALUE_BYTES {
            return Err(VaultError::BadValue);
        }
        if !self.entries.contains_key(name) && self.entries.len() >= MAX_ENTRIES {
            return Err(VaultError::Full);
        }
        self.entries.insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    /// Removes an entry; whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        self.entries.remove(name).is_some()
    }

    /// The entry names, for the options page (values are never shown back).
    pub fn names(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    /// The value of entry `name`, at the moment of a fill.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_values_stay_out_of_debug_output() {
        let mut vault = Vault::default();
        vault.set("visa-personal", "4111 1111 1111 1111").unwrap();
        vault.set("email", "ada@example.com").unwrap();
        let back = Vault::from_json(&vault.to_json()).unwrap();
        assert_eq!(back, vault);
        assert_eq!(back.get("visa-personal"), Some("4111 1111 1111 1111"));
        assert_eq!(back.names(), ["email", "visa-personal"]);
        let shown = format!("{vault:?}");
        assert!(
            shown.contains("visa-personal") && !shown.contains("4111"),
            "{shown}"
        );
        assert!(vault.remove("email"));
        assert!(!vault.remove("email"));
    }

    #[test]
    fn limits_are_enforced_on_set_and_on_load() {
        let mut vault = Vault::default();
        assert_eq!(vault.set("", "x"), Err(VaultError::BadName));
        assert_eq!(vault.set("a\nb", "x"), Err(VaultError::BadName));
        assert_eq!(
            vault.set(&"n".repeat(MAX_NAME_BYTES + 1), "x"),
            Err(VaultError::BadName)
        );
        assert_eq!(vault.set("a", ""), Err(VaultError::BadValue));
        assert_eq!(
            vault.set("a", &"v".repeat(MAX_VALUE_BYTES + 1)),
            Err(VaultError::BadValue)
        );
        for i in 0..MAX_ENTRIES {
            vault.set(&format!("e{i}"), "v").unwrap();
        }
        assert_eq!(vault.set("one-more", "v"), Err(VaultError::Full));
        vault.set("e0", "replaced").unwrap();
        assert!(matches!(
            Vault::from_json("[1]"),
            Err(VaultError::Stored(_))
        ));
        assert!(matches!(
            Vault::from_json(r#"{"":"x"}"#),
            Err(VaultError::Stored(_))
        ));
    }
}
