//! The spec stage.
