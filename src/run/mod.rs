//! The run stage.
