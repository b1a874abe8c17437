//! Fuzzing the readers that take users' files — GGUF models and their
//! quantized blocks, spec YAML, data files (JSONL, CSV, YAML) and chat
//! templates — on the stable toolchain.
//!
//! Each target reads every file of `tests/fuzz/corpus/<target>/` as a seed
//! (copies and excerpts of the shipped specs, data and fixtures; GGUF seeds
//! written by `tests/fuzz/make_gguf_seeds.py`), mutates one with a few
//! proptest-generated edits (bit flips, bytes, little-endian "interesting"
//! integers, deletions, insertions, copies within the input, splices from
//! another seed, truncation, and the format's own tokens: YAML, JSON, CSV or
//! Jinja syntax and key names), and runs the reader on the result the way
//! candor would (a GGUF is imported and the model directory opened; a spec
//! is validated and its prompts rendered; a data file is read through a
//! spec). Any panic is a finding.
//!
//! `cargo test --test fuzz` runs a fixed number of cases per target from a
//! fixed seed (`CANDOR_FUZZ_CASES`, default 2000). For a long run:
//!
//! ```text
//! CANDOR_FUZZ_SECONDS=1800 CANDOR_FUZZ_TARGET=gguf cargo test --test fuzz -- --nocapture
//! ```
//!
//! (or `scripts/fuzz.sh MINUTES`): one target for that long from a random
//! seed (printed; `CANDOR_FUZZ_SEED` repeats it), with the executions, their
//! rate and the findings at the end. Each finding is written to
//! `target/tmp/fuzz-findings/<target>/HASH-SEED`; `CANDOR_FUZZ_REPLAY=FILE`
//! runs one file through its target (the name of the test selects which) as
//! if it were the seed its name ends with.

use candor::engine::model::ModelDir;
use candor::engine::Message;
use candor::import::{import_gguf, WeightFormat};
use candor::prompt::templates::Templates;
use candor::prompt::{plan_suite, PlanOptions};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------
// Inputs: a seed and a few edits.

#[derive(Debug, Clone)]
enum Edit {
    Flip(Index, u8),
    Byte(Index, u8),
    /// An integer of 1, 2, 4 or 8 bytes, little-endian (GGUF's counts and offsets).
    Int(Index, u8, u64),
    Delete(Index, usize),
    Insert(Index, Vec<u8>),
    /// One of the target's tokens, inserted.
    Token(Index, Index),
    /// A stretch of the input copied elsewhere in it.
    Copy(Index, Index, usize),
    /// A stretch of another seed copied in.
    Splice(Index, Index, Index, usize),
    Truncate(Index),
}

fn interesting() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::MAX),
        Just(u32::MAX as u64),
        Just(0x7fff_ffff),
        Just(0x8000_0000),
        Just(1 << 32),
        Just(u64::MAX / 2),
        0u64..300,
        any::<u64>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        2 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Byte(i, b)),
        3 => (any::<Index>(), 0u8..4, interesting()).prop_map(|(i, w, v)| Edit::Int(i, w, v)),
        2 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => (any::<Index>(), vec(any::<u8>(), 1..12)).prop_map(|(i, b)| Edit::Insert(i, b)),
        4 => (any::<Index>(), any::<Index>()).prop_map(|(i, t)| Edit::Token(i, t)),
        1 => (any::<Index>(), any::<Index>(), 1usize..256).prop_map(|(a, b, n)| Edit::Copy(a, b, n)),
        1 => (any::<Index>(), any::<Index>(), any::<Index>(), 1usize..512)
            .prop_map(|(s, a, b, n)| Edit::Splice(s, a, b, n)),
        1 => any::<Index>().prop_map(Edit::Truncate),
    ]
}

/// A seed (by index) and the edits applied to it.
fn input() -> impl Strategy<Value = (Index, Vec<Edit>)> {
    (any::<Index>(), vec(edit(), 1..4))
}

/// Position in `0..=len` (an insertion point).
fn at(i: &Index, len: usize) -> usize {
    i.index(len + 1)
}

fn apply(seeds: &[(PathBuf, Vec<u8>)], tokens: &[&str], edits: &[Edit], base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    for e in edits {
        let len = b.len();
        match e {
            Edit::Flip(i, bit) if len > 0 => b[i.index(len)] ^= 1 << bit,
            Edit::Byte(i, v) if len > 0 => b[i.index(len)] = *v,
            Edit::Int(i, w, v) => {
                let bytes = &v.to_le_bytes()[..1 << w];
                let p = at(i, len);
                let end = (p + bytes.len()).min(len);
                b.splice(p..end, bytes.iter().copied());
            }
            Edit::Delete(i, n) if len > 0 => {
                let p = i.index(len);
                b.drain(p..(p + n).min(len));
            }
            Edit::Insert(i, bytes) => {
                let p = at(i, len);
                b.splice(p..p, bytes.iter().copied());
            }
            Edit::Token(i, t) if !tokens.is_empty() => {
                let tok = tokens[t.index(tokens.len())].as_bytes();
                let p = at(i, len);
                b.splice(p..p, tok.iter().copied());
            }
            Edit::Copy(from, to, n) if len > 0 => {
                let p = from.index(len);
                let piece = b[p..(p + n).min(len)].to_vec();
                let q = at(to, len);
                b.splice(q..q, piece);
            }
            Edit::Splice(s, from, to, n) => {
                let other = &seeds[s.index(seeds.len())].1;
                if !other.is_empty() {
                    let p = from.index(other.len());
                    let piece = &other[p..(p + n).min(other.len())];
                    let q = at(to, len);
                    b.splice(q..q, piece.iter().copied());
                }
            }
            Edit::Truncate(i) => b.truncate(at(i, len)),
            _ => {}
        }
    }
    b
}

// ---------------------------------------------------------------------------
// Panics are findings: caught, their message kept, nothing printed.

thread_local! {
    static IN_TARGET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

fn quiet_panics_in_targets() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_TARGET.with(Cell::get) {
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST_PANIC
                    .with(|m| *m.borrow_mut() = format!("{}{at}", panic_text(info.payload())));
            } else {
                default(info);
            }
        }));
    });
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic)".into())
}

/// Runs one input: whether it was accepted, or the panic's message.
fn run_one(target: &Target, path: &Path, data: &[u8]) -> Result<bool, String> {
    IN_TARGET.with(|f| f.set(true));
    let r = catch_unwind(AssertUnwindSafe(|| (target.run)(path, data)));
    IN_TARGET.with(|f| f.set(false));
    r.map_err(|_| LAST_PANIC.with(|m| m.borrow().clone()))
}

// ---------------------------------------------------------------------------
// Targets.

struct Target {
    name: &'static str,
    tokens: &'static [&'static str],
    /// Runs candor's reader on `data` as if it were the file at `path`;
    /// true when the input was accepted all the way (not refused with an error).
    run: fn(&Path, &[u8]) -> bool,
}

/// A scratch directory per thread (inputs that must be files).
fn scratch() -> PathBuf {
    thread_local! {
        static DIR: tempfile::TempDir = tempfile::tempdir().expect("a temporary directory");
    }
    DIR.with(|d| d.path().to_path_buf())
}

fn a_conversation() -> Vec<Message> {
    vec![
        Message::new("system", "You are a helpful assistant."),
        Message::new(
            "user",
            "I feel a bit sad today. What is the capital of France?",
        ),
        Message::new("assistant", "The answer is"),
    ]
}

/// A GGUF file as `candor import-gguf` reads it, and the imported model
/// directory as the engine opens it (config, tokenizer, chat template).
fn gguf(_seed: &Path, data: &[u8]) -> bool {
    let dir = scratch();
    let file = dir.join("input.gguf");
    std::fs::write(&file, data).expect("scratch file");
    let out = dir.join("model");
    let _ = std::fs::remove_dir_all(&out);
    // Both weight paths: dequantized floats, and 4-bit blocks kept.
    let format = if data.len().is_multiple_of(2) {
        WeightFormat::F32
    } else {
        WeightFormat::Q4
    };
    if import_gguf(&file, &out, format, &mut |_| {}).is_err() {
        return false;
    }
    let Ok(m) = ModelDir::open(&out) else {
        return false;
    };
    match m.render_chat(&a_conversation()).map(|text| m.encode(&text)) {
        Ok(Ok(ids)) => !m.decode(&ids).is_empty(),
        _ => false,
    }
}

/// A spec as `candor check` reads it (the file, its data, its templates) and
/// its prompts rendered for the first items.
fn spec(seed: &Path, data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data).into_owned();
    let Ok(suite) = candor::spec::parse(seed, text) else {
        return false;
    };
    let templates = Templates::new(root().join("templates"));
    plan_suite(
        &suite,
        &templates,
        &PlanOptions {
            seed: 1,
            limit: Some(3),
            select: &|_, _| true,
        },
    )
    .is_ok()
}

/// A data file read through a spec that names it (its format from the seed's
/// extension), the way a contributed data file reaches candor.
fn data(seed: &Path, data: &[u8]) -> bool {
    let ext = seed.extension().and_then(|e| e.to_str()).unwrap_or("jsonl");
    let dir = scratch();
    let fields = if ext == "csv" {
        "\n  fields: {id: qid, question: text, correct: best, incorrect: wrong}\n  separator: \";\""
    } else {
        ""
    };
    let spec_path = dir.join(format!("data-{ext}.yaml"));
    if !spec_path.exists() {
        let spec = format!(
            "name: fuzz\nsource: tests\nlicense: Apache-2.0\ndata:\n  path: items.{ext}{fields}\n\
             scoring:\n  choice: {{}}\ncontexts: [none, sadness]\nbeliefs: [none, incorrect]\n\
             criteria:\n  - max_error_increase: {{tolerance_pp: 0}}\n"
        );
        std::fs::write(&spec_path, spec).expect("scratch spec");
    }
    std::fs::write(dir.join(format!("items.{ext}")), data).expect("scratch data");
    candor::spec::load(&spec_path).is_ok()
}

/// A chat template as a model directory carries it, compiled and rendered.
fn chat(_seed: &Path, data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data).into_owned();
    let Ok(t) =
        candor::engine::model::ChatTemplate::compile(text, "<|begin|>".into(), "<|end|>".into())
    else {
        return false;
    };
    let conv = a_conversation();
    let _ = t.render(&[]);
    // The conversation, and one that does not alternate (templates may refuse it).
    let _ = t.render(&[conv[1].clone(), conv[1].clone()]);
    t.render(&conv)
        .is_ok_and(|s| s.contains("capital of France"))
}

/// Quantized blocks as a GGUF tensor holds them (the type from the seed's
/// name, e.g. `Q4_K.bin`): dequantized, repacked for `--weights q4`, and
/// requantized, with element counts that fit the bytes and that do not.
/// Accepted: a fitting count read to its length, or a count that does not
/// fit refused.
fn quants(seed: &Path, data: &[u8]) -> bool {
    use candor::import::quants::{self, GgmlType};
    let name = seed.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let Some(kind) = (0..64)
        .filter_map(GgmlType::from_id)
        .find(|k| k.name() == name)
    else {
        return false;
    };
    let (elems, bytes) = kind.block();
    let fits = data.len() / bytes * elems;
    // Mostly counts that fit the bytes; some that do not (what a lying header gives).
    let n = match data.first().map_or(0, |b| b % 8) {
        0 => fits + elems,
        1 => fits.saturating_sub(1),
        2 => usize::MAX / 2,
        _ => fits,
    };
    let _ = quants::check_len(kind, data, n);
    let Ok(values) = quants::dequantize(kind, data, n) else {
        // Refusing a count the bytes cannot hold is the reader doing its job.
        return n != fits;
    };
    let _ = quants::repack_q4(kind, data);
    for block in [16, 32] {
        if !values.is_empty() && values.len().is_multiple_of(block) {
            let _ = quants::requantize_q4(&values, block).values();
        }
    }
    n == fits && values.len() == n
}

const YAML_TOKENS: &[&str] = &[
    ": ",
    "- ",
    "\n",
    "\n  ",
    "  ",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!str ",
    "!!binary ",
    "!tag ",
    "{",
    "}",
    "[",
    "]",
    "'",
    "\"",
    "# ",
    "? ",
    "|\n",
    ">-\n",
    "---\n",
    "...\n",
    "\t",
    "~",
    "null",
    "true",
    "-1",
    "0",
    "1e309",
    ".nan",
    "-.inf",
    "999999999999999999999",
    "0x10",
    "\\u0000",
    "é",
    "\u{feff}",
    "name",
    "data",
    "path",
    "format",
    "fields",
    "separator",
    "categories",
    "scoring",
    "choice",
    "generate",
    "judge",
    "contexts",
    "beliefs",
    "criteria",
    "items",
    "id",
    "question",
    "correct",
    "incorrect",
    "belief",
    "regex",
    "persona",
    "prompt",
    "raw",
    "answer_prefix",
    "tolerance_pp",
    "alpha",
    "permutations",
    "min_items",
    "n",
    "max_error_increase",
    "max_gap_growth",
    "max_sycophancy_increase",
    "sadness",
    "incorrect",
    "{{ question }}",
    "{% for x in y %}",
    "{{ ",
    " }}",
    "../",
    "/etc/passwd",
    "data/facts.jsonl",
];

const DATA_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "null",
    "true",
    "1e999",
    "-0",
    "\\u0000",
    "\\ud800",
    "\\\"",
    "\n",
    "\r\n",
    "\"\"",
    ";",
    "\u{feff}",
    "é",
    "\"id\": ",
    "\"question\": ",
    "\"correct\": ",
    "\"incorrect\": [",
    "\"belief\": ",
    "\"category\": ",
    "- ",
    ": ",
    "  ",
    "qid,text,best,wrong\n",
    ",,",
    "\"a,b\"",
];

const JINJA_TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "{%- ",
    " -%}",
    "for m in messages",
    "endfor",
    "if ",
    "endif",
    "else",
    "elif ",
    "set x = ",
    "namespace(",
    ")",
    "(",
    "[",
    "]",
    "range(100000)",
    "range(1000)",
    "messages",
    "message['content']",
    "m.role",
    "loop.index0",
    "loop.first",
    "|length",
    "|trim",
    "|tojson",
    "|join(',')",
    "|reverse",
    "|list",
    "* 100000",
    "~",
    "+",
    "[::-1]",
    "[1:]",
    "macro f()",
    "endmacro",
    "call f()",
    "recursive",
    "loop(messages)",
    "raise_exception('x')",
    "add_generation_prompt",
    "bos_token",
    "eos_token",
    "'",
    "\"",
    "is defined",
    "not ",
    " and ",
    "\n",
    "%",
    "strftime_now('%Y')",
    "include 'x'",
    "import 'x' as y",
    "extends 'x'",
    "block b",
    "endblock",
];

const GGUF_TOKENS: &[&str] = &[
    "general.alignment",
    "llama.block_count",
    "llama.embedding_length",
    "tokenizer.ggml.tokens",
    "tokenizer.ggml.merges",
    "tokenizer.chat_template",
    "blk.0.attn_q.weight",
    "output.weight",
    "{{",
    "{%",
    "\0\0\0\0",
    "\u{ff}\u{ff}",
];

const TARGETS: &[Target] = &[
    Target {
        name: "gguf",
        tokens: GGUF_TOKENS,
        run: gguf,
    },
    Target {
        name: "spec",
        tokens: YAML_TOKENS,
        run: spec,
    },
    Target {
        name: "data",
        tokens: DATA_TOKENS,
        run: data,
    },
    Target {
        name: "chat",
        tokens: JINJA_TOKENS,
        run: chat,
    },
    Target {
        name: "quants",
        tokens: &[],
        run: quants,
    },
];

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = root().join("tests/fuzz/corpus").join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{}: no seeds", dir.display());
    out
}

fn env_num(key: &str) -> Option<u64> {
    std::env::var(key).ok().and_then(|v| v.parse().ok())
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Runs a target: seeds first (each must pass untouched), then mutants.
fn fuzz(name: &str) {
    quiet_panics_in_targets();
    let target = TARGETS.iter().find(|t| t.name == name).unwrap();
    if let Ok(file) = std::env::var("CANDOR_FUZZ_REPLAY") {
        let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let all = seeds(name);
        let named = Path::new(&file)
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split_once('-'))
            .map(|(_, seed)| seed.to_string());
        let seed = all
            .iter()
            .find(|(p, _)| named.as_deref() == p.file_name().and_then(|n| n.to_str()))
            .unwrap_or(&all[0])
            .0
            .clone();
        if let Err(p) = run_one(target, &seed, &data) {
            panic!("{file}: panicked: {p}");
        }
        return;
    }
    let seconds = env_num("CANDOR_FUZZ_SECONDS");
    if seconds.is_some()
        && std::env::var("CANDOR_FUZZ_TARGET").is_ok_and(|t| t != name && t != "all")
    {
        return;
    }
    let seeds = seeds(name);
    let mut findings: Vec<String> = Vec::new();
    let findings_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("fuzz-findings")
        .join(name);
    let record = |path: &Path, data: &[u8], what: String, findings: &mut Vec<String>| {
        std::fs::create_dir_all(&findings_dir).unwrap();
        // Named after the seed too: a replay runs it as that seed's file.
        let seed_name = path.file_name().unwrap().to_string_lossy();
        let file = findings_dir.join(format!("{:016x}-{seed_name}", fnv(data)));
        std::fs::write(&file, data).unwrap();
        findings.push(format!(
            "{} (from {}): {what}",
            file.display(),
            path.display()
        ));
    };
    // Every seed reads without a panic, and the valid ones are accepted
    // (else the mutants would only ever exercise the first error path).
    for (path, data) in &seeds {
        let valid = !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("bad-");
        match run_one(target, path, data) {
            Err(p) => record(path, data, format!("seed panicked: {p}"), &mut findings),
            Ok(false) if valid => findings.push(format!("{}: valid seed refused", path.display())),
            Ok(_) => {}
        }
    }
    // A fixed seed for the test run; a fresh one (printed) for long runs.
    let rng_seed = env_num("CANDOR_FUZZ_SEED").unwrap_or_else(|| {
        if seconds.is_some() {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        } else {
            fnv(name.as_bytes())
        }
    });
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&rng_seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &key),
    );
    let strategy = input();
    let cases = env_num("CANDOR_FUZZ_CASES").unwrap_or(2000);
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut execs = 0u64;
    let mut accepted = 0u64;
    let mut slowest = (Duration::ZERO, String::new());
    loop {
        match deadline {
            Some(d) if Instant::now() >= d => break,
            None if execs >= cases => break,
            _ => {}
        }
        let (which, edits) = strategy.new_tree(&mut runner).unwrap().current();
        let (path, base) = &seeds[which.index(seeds.len())];
        let mutant = apply(&seeds, target.tokens, &edits, base);
        let t0 = Instant::now();
        let outcome = run_one(target, path, &mutant);
        let took = t0.elapsed();
        execs += 1;
        match outcome {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(p) => record(path, &mutant, format!("panicked: {p}"), &mut findings),
        }
        if took > slowest.0 {
            slowest = (took, path.display().to_string());
        }
        if took > Duration::from_secs(30) {
            record(path, &mutant, format!("slow: {took:?}"), &mut findings);
        }
        if seconds.is_some() && last_report.elapsed() > Duration::from_secs(60) {
            eprintln!(
                "fuzz {name}: {execs} executions in {:.0} s, {} findings",
                started.elapsed().as_secs_f64(),
                findings.len()
            );
            last_report = Instant::now();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "fuzz {name}: seed {rng_seed}, {} seeds, {execs} executions in {secs:.1} s ({:.0}/s), \
         {accepted} accepted ({:.1} %), slowest {:?} (from {}), {} findings",
        seeds.len(),
        execs as f64 / secs,
        100.0 * accepted as f64 / execs.max(1) as f64,
        slowest.0,
        slowest.1,
        findings.len()
    );
    // A mutator that only ever produced garbage would test one error path.
    assert!(
        accepted * 100 >= execs,
        "fuzz {name}: only {accepted} of {execs} mutants were accepted"
    );
    assert!(
        findings.is_empty(),
        "fuzz {name}: {} findings:\n{}",
        findings.len(),
        findings.join("\n")
    );
}

#[test]
fn fuzz_gguf() {
    fuzz("gguf");
}

#[test]
fn fuzz_spec() {
    fuzz("spec");
}

#[test]
fn fuzz_data() {
    fuzz("data");
}

#[test]
fn fuzz_chat_template() {
    fuzz("chat");
}

#[test]
fn fuzz_quants() {
    fuzz("quants");
}

/// The mutator does what the targets rely on: edits land, inputs change, and
/// every edit kind can grow, shrink or rewrite an input.
#[test]
fn mutants_differ_from_their_seeds() {
    let seeds = seeds("spec");
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = input();
    let mut changed = 0;
    for _ in 0..200 {
        let (which, edits) = strategy.new_tree(&mut runner).unwrap().current();
        let base = &seeds[which.index(seeds.len())].1;
        if apply(&seeds, YAML_TOKENS, &edits, base) != *base {
            changed += 1;
        }
    }
    assert!(
        changed > 180,
        "only {changed} of 200 mutants differ from their seed"
    );
}
