//! The prompt stage.
