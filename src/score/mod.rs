//! The score stage.
