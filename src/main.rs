//! The `candor` command: a thin dispatcher over the library.

use candor::cli;
use candor::engine::ModelRef;
use candor::run::{self, RunOptions, VariantSpec};
use candor::spec::config::RawConfig;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Catches warmth-induced reliability regressions: runs the spec suites on a
/// baseline and a candidate model and reports each regression as a failing test.
///
/// Exit codes: 0 all gates passed, 101 a gate failed, 2 a spec, template or model error.
#[derive(Parser, Debug)]
#[command(name = "candor", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate specs; list their conditions and, for each gate, its minimum
    /// detectable effect and how often it fails an unchanged model.
    Check {
        /// Spec files or globs (default: from candor.yaml, else specs/*.yaml).
        specs: Vec<String>,
        /// At most this many items per suite, as a run with --limit.
        #[arg(long)]
        limit: Option<usize>,
        /// Let specs read data files outside their project (absolute paths, `..`).
        #[arg(long)]
        allow_outside_data: bool,
    },
    /// Import a Llama-architecture GGUF file into an ONNX model directory.
    ImportGguf {
        file: PathBuf,
        out_dir: PathBuf,
        #[arg(long, value_enum, default_value = "f32")]
        weights: candor::import::WeightFormat,
    },
    /// Show how a model tokenizes a prompt, its top next tokens, and optionally a greedy continuation.
    Model(cli::model::ModelArgs),
    /// Measure engine throughput (prefill, option scoring, generation) and peak memory.
    Bench(cli::bench::BenchArgs),
    /// Re-render a report from a results.json (no model runs).
    Report {
        /// A results.json written by `--report-dir`.
        results: PathBuf,
        #[arg(long, value_enum, default_value = "summary")]
        format: candor::report::files::Format,
        /// Write here (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Inspect or trim the run store.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
        /// The store file (default: $CANDOR_HOME/store.sqlite).
        #[arg(long, global = true)]
        store: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum StoreCommand {
    /// Size, responses per model, when each model was last used.
    Stats,
    /// Drop the responses of models not used in the last N days (0: everything), then compact.
    Gc {
        #[arg(long, default_value_t = 30)]
        days: u64,
    },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Baseline model: a directory, `default`, a `.gguf` file, `BASE+adapter=DIR`, a model file (`.yaml`), or `fake:...`.
    #[arg(long)]
    baseline: Option<String>,
    /// Candidate model: a directory, `default`, a `.gguf` file, `BASE+adapter=DIR`, a model file (`.yaml`), or `fake:...`.
    #[arg(long)]
    candidate: Option<String>,
    /// A peft LoRA adapter directory merged into the baseline model (`default` or a `.gguf` file).
    #[arg(long, value_name = "DIR")]
    baseline_adapter: Option<PathBuf>,
    /// A peft LoRA adapter directory merged into the candidate model (`default` or a `.gguf` file).
    #[arg(long, value_name = "DIR")]
    candidate_adapter: Option<PathBuf>,
    /// Baseline persona (templates/personas/NAME.j2); `none` for no persona.
    #[arg(long)]
    baseline_persona: Option<String>,
    /// Candidate persona (templates/personas/NAME.j2); `none` for no persona.
    #[arg(long)]
    candidate_persona: Option<String>,
    /// Spec glob (repeatable).
    #[arg(long)]
    specs: Vec<String>,
    /// At most N items per suite (turns off the quick profile).
    #[arg(long)]
    limit: Option<usize>,
    /// Every item and condition (the default is a quick profile: a few hundred cases per suite).
    #[arg(long)]
    full: bool,
    /// Seed for statement and belief choice.
    #[arg(long)]
    seed: Option<u64>,
    /// Write results.json, samples.jsonl, junit.xml, summary.md and report.html into DIR.
    #[arg(long, value_name = "DIR")]
    report_dir: Option<PathBuf>,
    /// The run store (default: $CANDOR_HOME/store.sqlite).
    #[arg(long, value_name = "PATH")]
    store: Option<PathBuf>,
    /// Use no run store: run every request on the models, store nothing.
    #[arg(long, conflicts_with = "store")]
    no_cache: bool,
    /// Let specs read data files outside their project (absolute paths, `..`):
    /// off by default, so a contributed probe cannot put a private file into prompts.
    #[arg(long)]
    allow_outside_data: bool,
    /// libtest arguments: a filter, --list, --exact, --skip, --format json, ...
    #[command(flatten)]
    libtest: libtest_mimic::Arguments,
}

/// The project root: the nearest directory (from the current one up) with a candor.yaml.
fn project_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .find(|d| d.join("candor.yaml").is_file())
        .map(Path::to_path_buf)
        .unwrap_or(cwd)
}

fn relative(root: &Path, p: &str) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let full = root.join(p);
    full.strip_prefix(&cwd)
        .map(|r| r.display().to_string())
        .unwrap_or_else(|_| full.display().to_string())
}

fn load_config(root: &Path) -> Result<RawConfig, String> {
    let path = root.join("candor.yaml");
    match std::fs::read_to_string(&path) {
        Err(_) => Ok(RawConfig::default()),
        Ok(src) => candor::spec::yaml::parse_config(&src)
            .map_err(|e| format!("candor.yaml:{}:{}: {}", e.line, e.column, e.message)),
    }
}

fn persona(arg: Option<String>, config: Option<String>) -> Option<String> {
    match arg {
        Some(p) if p == "none" => None,
        Some(p) => Some(p),
        None => config,
    }
}

/// Keeps freed memory in the process instead of returning it to the system: every
/// forward pass allocates caches and logits of tens of megabytes, and taking them
/// fresh from the kernel each time (page faults, zeroing) cost 3 % of a scoring run
/// (15.7 -> 15.2 s on the 200-item comparison task).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    // A panic inside the template engine is turned into an error naming the
    // template (spec::jinja::guarded); only other panics are printed.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !candor::spec::jinja::in_guarded_step() {
            default_hook(info);
        }
    }));
    let cli = Cli::parse();
    let root = project_root();
    let config = match load_config(&root) {
        Ok(c) => c,
        Err(e) => {
            candor::report::error(&e);
            return ExitCode::from(run::EXIT_ERROR);
        }
    };
    let templates_dir = PathBuf::from(relative(
        &root,
        config.templates.as_deref().unwrap_or("templates"),
    ));
    let default_specs = || {
        vec![relative(
            &root,
            config.specs.as_deref().unwrap_or("specs/*.yaml"),
        )]
    };
    match cli.command {
        Some(Command::ImportGguf {
            file,
            out_dir,
            weights,
        }) => cli::import(&file, &out_dir, weights),
        Some(Command::Model(args)) => cli::model::run(&args),
        Some(Command::Bench(args)) => cli::bench::run(&args),
        Some(Command::Report {
            results,
            format,
            out,
        }) => cli::rerender(&results, format, out.as_deref()),
        Some(Command::Store { command, store }) => {
            let path = store.unwrap_or_else(candor::store::default_path);
            let job = match command {
                StoreCommand::Stats => cli::StoreJob::Stats,
                StoreCommand::Gc { days } => cli::StoreJob::Gc { days },
            };
            cli::store(&path, job)
        }
        Some(Command::Check {
            specs,
            limit,
            allow_outside_data,
        }) => {
            candor::spec::data::allow_outside_data(allow_outside_data);
            let specs = if specs.is_empty() {
                default_specs()
            } else {
                specs
            };
            cli::check(&specs, templates_dir, limit, config.seed.unwrap_or(0))
        }
        None => {
            let a = cli.run;
            candor::spec::data::allow_outside_data(a.allow_outside_data);
            let base_cfg = config.baseline.clone();
            let cand_cfg = config.candidate.clone();
            // The flag's model, else candor.yaml's (with its adapter, relative to the
            // project root), else `default`; then the flag's adapter, if any.
            let model = |arg: Option<String>,
                         cfg: Option<&candor::spec::config::RawVariant>,
                         adapter: Option<PathBuf>| {
                let (m, cfg_adapter) = match (arg, cfg) {
                    (Some(m), _) => (ModelRef::parse(&m)?, None),
                    (None, Some(v)) => (
                        ModelRef::parse(&v.model)?,
                        v.adapter
                            .as_ref()
                            .map(|p| PathBuf::from(relative(&root, p))),
                    ),
                    (None, None) => (ModelRef::parse("default")?, None),
                };
                match adapter.or(cfg_adapter) {
                    Some(dir) => m.with_adapter(dir),
                    None => Ok(m),
                }
            };
            let (baseline, candidate) = match (
                model(a.baseline, base_cfg.as_ref(), a.baseline_adapter),
                model(a.candidate, cand_cfg.as_ref(), a.candidate_adapter),
            ) {
                (Ok(b), Ok(c)) => (b, c),
                (Err(e), _) | (_, Err(e)) => {
                    candor::report::error(&e);
                    return ExitCode::from(run::EXIT_ERROR);
                }
            };
            let opts = RunOptions {
                specs: if a.specs.is_empty() {
                    default_specs()
                } else {
                    a.specs
                },
                templates_dir,
                baseline: VariantSpec {
                    model: baseline,
                    persona: persona(a.baseline_persona, base_cfg.and_then(|v| v.persona)),
                },
                candidate: VariantSpec {
                    model: candidate,
                    persona: persona(
                        a.candidate_persona,
                        cand_cfg.map_or(Some("warm".into()), |v| v.persona),
                    ),
                },
                limit: a.limit,
                quick: if a.full || a.limit.is_some() {
                    None
                } else {
                    Some(run::QUICK_CASES_PER_SUITE)
                },
                seed: a.seed.or(config.seed).unwrap_or(0),
                store: if a.no_cache {
                    None
                } else {
                    Some(a.store.unwrap_or_else(candor::store::default_path))
                },
                snapshots: Some(PathBuf::from(relative(&root, "snapshots"))),
            };
            let mut output = candor::report::Terminal::new(a.report_dir);
            run::run(&opts, &run::BuiltinEngines, &mut output, &a.libtest)
        }
    }
}
