
use candor::import::WeightFormat;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "candor", version, about = "Catches warmth-induced reliability regressions in language models")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import a Llama-architecture GGUF file into an ONNX model directory.
    ImportGguf {
        file: PathBuf,
        out_dir: PathBuf,
        #[arg(long, value_enum, default_value = "f32")]
        weights: WeightFormat,
    },
    /// Show how a model tokenizes a prompt, its top next tokens, and optionally a greedy continuation.
    Model(candor::report::model::ModelArgs),
    /// Measure engine throughput (prefill, option scoring, generation) and peak memory.
    Bench(candor::report::bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::ImportGguf { file, out_dir, weights } => {
            match candor::import::import_gguf(&file, &out_dir, weights, &mut |s| eprintln!("import: {s}")) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Model(args) => candor::report::model::run(&args),
        Command::Bench(args) => candor::report::bench::run(&args),
    }
}
