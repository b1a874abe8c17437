//! A fake engine for tests of the stages above the engine.
