//! The report stage.
pub mod model;
