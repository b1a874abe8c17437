//! `candor store stats` and `candor store gc`.

use crate::store::{Collected, Stats};

fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// The listing `candor store stats` prints.
pub fn stats(s: &Stats, now: i64) -> String {
    let mut o = format!(
        "store {}: {}, {} responses of {} models\n",
        s.path.display(),
        bytes(s.bytes),
        s.responses,
        s.models.len()
    );
    for m in &s.models {
        let days = (now - m.last_used).max(0) / 86_400;
        o.push_str(&format!(
            "  {:>8} responses  last used {}  {}  {}\n",
            m.responses,
            if days == 0 {
                "today".to_string()
            } else {
                format!("{days} d ago")
            },
            m.name,
            m.fingerprint
        ));
    }
    o
}

/// The line `candor store gc` prints.
pub fn collected(c: &Collected, days: u64) -> String {
    format!(
        "store gc: dropped {} models not used in {days} days and {} responses\n",
        c.models, c.responses
    )
}
