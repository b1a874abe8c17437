//! The stats stage.
