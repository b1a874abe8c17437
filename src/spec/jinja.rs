//! The one way candor makes Jinja environments (spec templates, raw prompts,
//! model chat templates): bounded, and shielded from the engine's own panics.

use minijinja::{Environment, Error, ErrorKind};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is inside [`guarded`]: a panic hook can stay quiet
/// then, since the panic becomes an ordinary error (the binary's hook does).
pub fn in_guarded_step() -> bool {
    GUARDED.with(Cell::get)
}

/// Template instructions one render may execute: far above what a real
/// template needs, and a bound on a template that would loop for hours
/// (nested `range`s), which then fails with an error instead.
pub const TEMPLATE_FUEL: u64 = 2_000_000;

/// A fresh environment with the fuel bound set.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(TEMPLATE_FUEL));
    env
}

/// Runs a compile or render step, turning a panic inside minijinja into an
/// error. minijinja 3.1 reaches `unreachable!()` on some malformed input
/// (e.g. `{% import 'x' as y if z %}`, found by tests/fuzz.rs); templates
/// come from users' specs and downloaded models, so that must be an error
/// naming the template, not a crash.
pub fn guarded<T>(step: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    let outer = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(step));
    GUARDED.with(|g| g.set(outer));
    result.unwrap_or_else(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Error::new(
            ErrorKind::SyntaxError,
            format!("the template engine could not handle this template ({detail})"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_the_engine_is_an_error() {
        let env = environment();
        // minijinja 3.1's codegen panics on an `if` after an import target.
        let e = guarded(|| {
            env.template_from_str("{% import 'x' as y if true %}")
                .map(drop)
        })
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SyntaxError);
        assert!(!in_guarded_step());
    }

    #[test]
    fn a_runaway_loop_runs_out_of_fuel() {
        let env = environment();
        let t = env
            .template_from_str(
                "{% for a in range(5000) %}{% for b in range(5000) %}{% endfor %}{% endfor %}",
            )
            .unwrap();
        let e = guarded(|| t.render(())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfFuel);
    }
}
