//! The report stage.
pub mod model;
pub mod bench;
