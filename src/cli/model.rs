//! `candor model`: a model's view of one prompt.

use crate::engine::{self, Engine, EngineOptions, GenerateRequest, Message, ModelRef, Prompt};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ModelArgs {
    /// A model: a directory, `default` (also `default:q4`, `default:q4-fast`), a `.gguf` file, `BASE+adapter=DIR` or a model file.
    pub dir: String,
    #[arg(long)]
    pub prompt: String,
    /// Wrap the prompt as a user message in the model's chat template.
    #[arg(long)]
    pub chat: bool,
    /// A system message (implies --chat).
    #[arg(long)]
    pub system: Option<String>,
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Also decode this many tokens greedily.
    #[arg(long)]
    pub generate: Option<usize>,
    /// Print top-k at every prompt position, not only the last.
    #[arg(long)]
    pub all_positions: bool,
    #[arg(long)]
    pub json: bool,
    /// ONNX Runtime intra-op threads.
    #[arg(long)]
    pub threads: Option<usize>,
}

fn top_k(row: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut idx: Vec<u32> = (0..row.len() as u32).collect();
    let k = k.min(row.len());
    idx.select_nth_unstable_by(k.saturating_sub(1).min(row.len() - 1), |&a, &b| {
        row[b as usize].total_cmp(&row[a as usize])
    });
    let mut top: Vec<(u32, f32)> = idx[..k].iter().map(|&i| (i, row[i as usize])).collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    top
}

pub fn run(a: &ModelArgs) -> ExitCode {
    match run_inner(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_inner(a: &ModelArgs) -> Result<(), engine::EngineError> {
    let mut opts = EngineOptions::default();
    if let Some(t) = a.threads {
        opts.threads = t;
    }
    let mut m = engine::open_onnx(&ModelRef::parse(&a.dir)?, &opts, &mut |s| eprintln!("{s}"))?;
    let prompt = if a.chat || a.system.is_some() {
        let mut msgs = vec![];
        if let Some(s) = &a.system {
            msgs.push(Message::new("system", s));
        }
        msgs.push(Message::new("user", &a.prompt));
        Prompt::Chat(msgs)
    } else {
        Prompt::Raw(a.prompt.clone())
    };
    let text = m.model.render(&prompt)?;
    let ids = m.model.encode(&text)?;
    if ids.is_empty() {
        return Err(engine::EngineError::Request(
            "the prompt has no tokens".into(),
        ));
    }
    let logits = m.all_logits(&ids)?;
    let positions: Vec<usize> = if a.all_positions {
        (0..ids.len()).collect()
    } else {
        vec![ids.len() - 1]
    };
    let gen = match a.generate {
        Some(n) => Some(
            m.generate(&[GenerateRequest {
                expected: None,
                prompt: prompt.clone(),
                max_tokens: n,
                stop: vec![],
            }])?
            .remove(0),
        ),
        None => None,
    };
    let tok = |i: u32| m.model.tokenizer.id_to_token(i).unwrap_or_default();
    if a.json {
        let tops: Vec<serde_json::Value> = positions
            .iter()
            .map(|&p| serde_json::json!({"position": p, "top": top_k(&logits[p], a.top_k).iter().map(|(i, l)| serde_json::json!({"id": i, "token": tok(*i), "logit": l})).collect::<Vec<_>>()}))
            .collect();
        let v = serde_json::json!({
            "model": m.name(), "text": text, "ids": ids, "n_tokens": ids.len(), "top": tops,
            "generated": gen.as_ref().map(|g| serde_json::json!({"text": g.text, "n_tokens": g.n_tokens, "finish": g.finish})),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap());
        return Ok(());
    }
    println!("model: {}", m.name());
    println!("prompt: {} tokens", ids.len());
    println!(
        "  {}",
        ids.iter()
            .map(|&i| format!("{i}:{:?}", tok(i)))
            .collect::<Vec<_>>()
            .join(" ")
    );
    for p in positions {
        println!("next-token top {} after position {p}:", a.top_k);
        for (i, l) in top_k(&logits[p], a.top_k) {
            println!("  {i:>6}  {l:>9.3}  {:?}", tok(i));
        }
    }
    if let Some(g) = gen {
        println!(
            "greedy ({} tokens, {:?}): {:?}",
            g.n_tokens, g.finish, g.text
        );
    }
    Ok(())
}
