//! Helpers shared by the native integration tests.
