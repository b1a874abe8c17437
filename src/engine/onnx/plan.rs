//! How requests are split into forward passes: runs of least cost.

use super::EngineOptions;

/// What one more forward pass costs beyond its positions, in positions: every pass
/// streams all the weights through the cache whatever its size. Measured on the
/// 200-item comparison task with the f32 model: a pass takes about 22 ms plus 1 ms per
/// position, so a pass of fewer than ~22 positions is mostly fixed cost.
pub(super) const PASS_COST: usize = 22;

/// A batch of `rows` rows padded to `width`: one pass plus its padded positions. With
/// length sorting off (the ablation baseline) padding is not weighed, only passes.
pub(super) fn pass_cost(opts: &EngineOptions, rows: usize, width: usize) -> usize {
    if opts.sort_by_length {
        PASS_COST + rows * width
    } else {
        PASS_COST
    }
}

/// Splits `items`, kept in order, into consecutive runs of least total cost.
/// `cost` prices a run, or is `None` when it does not fit (then no longer run from the
/// same start fits either); a single item always makes a run. Every batching decision
/// (prompt groups, option chunks, generation groups) is one of these.
pub(super) fn runs<T>(items: &[T], cost: impl Fn(&[T]) -> Option<usize>) -> Vec<&[T]> {
    let n = items.len();
    // best[i]: least cost of items[..i]; from[i]: where its last run starts.
    let mut best = vec![usize::MAX; n + 1];
    let mut from = vec![0; n + 1];
    best[0] = 0;
    for start in 0..n {
        for end in start + 1..=n {
            let c = match cost(&items[start..end]) {
                Some(c) => c,
                None if end == start + 1 => PASS_COST,
                None => break,
            };
            if best[start] + c < best[end] {
                best[end] = best[start] + c;
                from[end] = start;
            }
        }
    }
    let mut out = vec![];
    let mut end = n;
    while end > 0 {
        out.push(&items[from[end]..end]);
        end = from[end];
    }
    out.reverse();
    out
}

/// Groups of request indices whose padded prefill fits the token budget, longest first.
pub(super) fn groups(lens: &[usize], budget: usize, max_rows: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lens.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lens[i]));
    // Sorted longest first: the group's first member sets its padded width.
    // Each group decodes step by step, so fewer groups beat less prefill padding.
    runs(&order, |g| {
        (g.len() <= max_rows && g.len() * lens[g[0]] <= budget).then_some(1)
    })
    .into_iter()
    .map(<[usize]>::to_vec)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::{runs, PASS_COST};

    /// Widths sorted longest first, priced as one pass plus padded positions.
    fn split(widths: &[usize], max_rows: usize) -> Vec<Vec<usize>> {
        runs(widths, |r| {
            (r.len() <= max_rows).then(|| PASS_COST + r.len() * r[0])
        })
        .into_iter()
        .map(<[usize]>::to_vec)
        .collect()
    }

    #[test]
    fn runs_split_only_where_padding_outweighs_a_pass() {
        // Padding 4 × 1 is cheaper than a second pass: one run.
        assert_eq!(split(&[6, 5, 5, 5, 5], 8), vec![vec![6, 5, 5, 5, 5]]);
        // Padding 4 × 90 is not: the short rows get their own pass.
        assert_eq!(
            split(&[100, 10, 10, 10, 10], 8),
            vec![vec![100], vec![10, 10, 10, 10]]
        );
        // A run that does not fit is never formed; single items always are.
        assert_eq!(split(&[3, 3, 3], 1), vec![vec![3], vec![3], vec![3]]);
        assert!(split(&[], 4).is_empty());
        // The split is the cheapest of all: [9,9,9,9] [2,2,2,2] beats the greedy
        // [9,9,9,9,2] [2,2,2] a fill-first rule would pick.
        assert_eq!(
            split(&[9, 9, 9, 9, 2, 2, 2, 2], 5),
            vec![vec![9, 9, 9, 9], vec![2, 2, 2, 2]]
        );
    }
}
