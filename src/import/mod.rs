//! The import stage.
