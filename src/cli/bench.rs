//! `candor bench`: engine throughput for each weight format, one process per format
//! so that peak memory is measured per format.

use crate::engine::{self, bench, EngineOptions, ModelRef};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// A model directory or `default`; with `default`, every weight format is measured.
    #[arg(long, default_value = "default")]
    pub model: String,
    /// ONNX Runtime intra-op threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Runs of the greedy-generation measurement (batch 1 then batch 8, back to back);
    /// the table shows their medians.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Print one JSON object per model instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: &BenchArgs) -> ExitCode {
    // A child never spawns children of its own.
    let child = std::env::var_os("CANDOR_BENCH_CHILD").is_some();
    let models: Vec<String> = if a.model == "default" && !child {
        ["default:f32", "default:q4", "default:q4-fast"]
            .map(String::from)
            .to_vec()
    } else {
        vec![a.model.clone()]
    };
    if models.len() > 1 {
        // One child process per model: peak memory is per process.
        let exe = match std::env::current_exe() {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let mut rows = vec![];
        for m in &models {
            let out = std::process::Command::new(&exe)
                .args([
                    "bench",
                    "--json",
                    "--model",
                    m,
                    "--threads",
                    &a.threads.to_string(),
                    "--repeat",
                    &a.repeat.to_string(),
                ])
                .env("CANDOR_BENCH_CHILD", "1")
                .stderr(std::process::Stdio::inherit())
                .output();
            match out {
                Ok(o) if o.status.success() => rows.push(
                    serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap_or_default(),
                ),
                Ok(o) => {
                    eprintln!("error: bench of {m} failed ({})", o.status);
                    return ExitCode::from(2);
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        print_table(&models, &rows, a.json);
        return ExitCode::SUCCESS;
    }
    let opts = EngineOptions {
        threads: a.threads,
        ..Default::default()
    };
    let t = Instant::now();
    let opened = ModelRef::parse(&models[0])
        .and_then(|m| engine::open_onnx(&m, &opts, &mut |s| eprintln!("{s}")));
    let mut m = match opened {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let load = t.elapsed().as_secs_f64();
    match bench::run(&mut m, a.threads, load, a.repeat, &mut |s| {
        eprintln!("bench {}: {s}", models[0])
    }) {
        Ok(r) => {
            let v = serde_json::to_value(&r).unwrap();
            if a.json {
                println!("{v}");
            } else {
                print_table(&models, &[v], false);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn print_table(models: &[String], rows: &[serde_json::Value], json: bool) {
    if json {
        for r in rows {
            println!("{r}");
        }
        return;
    }
    let f = |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let threads = rows
        .first()
        .map(|r| r["threads"].clone())
        .unwrap_or_default();
    let runs = |r: &serde_json::Value| r["generate_runs"].as_array().map_or(0, Vec::len);
    println!(
        "threads: {threads}   (prefill: 8 prompts × 128 tokens, best of 3; scoring: 48 prompts of ~100 tokens, \
         4–8 options of ~10 tokens; generation: 64 new tokens, median of {} runs)",
        rows.first().map_or(0, runs)
    );
    println!(
        "{:<18} {:>14} {:>16} {:>15} {:>15} {:>15} {:>7} {:>10} {:>8}",
        "model",
        "prefill tok/s",
        "scoring items/s",
        "scoring tok/s",
        "greedy b1 tok/s",
        "greedy b8 tok/s",
        "b8/b1",
        "peak MB",
        "load s"
    );
    for (m, r) in models.iter().zip(rows) {
        println!(
            "{:<18} {:>14.0} {:>16.1} {:>15.0} {:>15.1} {:>15.1} {:>7.2} {:>10.0} {:>8.1}",
            m,
            f(r, "prefill_tokens_per_s"),
            f(r, "loglik_items_per_s"),
            f(r, "loglik_tokens_per_s"),
            f(r, "generate_b1_tokens_per_s"),
            f(r, "generate_b8_tokens_per_s"),
            f(r, "generate_b8_over_b1"),
            f(r, "peak_rss_mb"),
            f(r, "load_s")
        );
    }
    println!("\ngreedy generation, each run's batch 1 / batch 8 tokens/s (ratio):");
    for (m, r) in models.iter().zip(rows) {
        let each: Vec<String> = r["generate_runs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?)))
            .map(|(b1, b8)| format!("{b1:.1} / {b8:.1} ({:.2})", b8 / b1))
            .collect();
        println!("{m:<18} {}", each.join(", "));
    }
    for (m, r) in models.iter().zip(rows) {
        let Some(abl) = r["scoring_ablations"].as_array() else {
            continue;
        };
        println!("\n{m}: option scoring with one optimisation off");
        println!(
            "{:<52} {:>10} {:>16} {:>20} {:>16}",
            "setting", "items/s", "tokens computed", "tokens from scratch", "logit positions"
        );
        for a in abl {
            println!(
                "{:<52} {:>10.1} {:>16} {:>20} {:>16}",
                a["setting"].as_str().unwrap_or(""),
                f(a, "items_per_s"),
                a["tokens_computed"],
                a["tokens_from_scratch"],
                a["logit_positions"]
            );
        }
    }
}
