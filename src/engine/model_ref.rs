//! [`ModelRef`]: a model argument, parsed once.

use super::fake::FakeSpec;
use super::EngineError;
use crate::import::WeightFormat;
use std::path::PathBuf;

/// What `--baseline`, `--candidate`, `candor.yaml` and a judge's `model:` name.
///
/// | written as | means |
/// |---|---|
/// | `default`, `default:f32`, `default:q4`, `default:q4-fast` | SmolLM2-135M-Instruct, provisioned into the cache |
/// | `fake:LABEL?key=value&...` | a deterministic stand-in for tests ([`super::fake`]) |
/// | `PATH.gguf` | a Llama GGUF file, imported (float32) into the cache on first use |
/// | `BASE+adapter=DIR` | `BASE` (`default`, `default:f32` or a `.gguf` file) with the LoRA adapter in `DIR` merged into its weights, cached |
/// | `PATH.yaml` / `PATH.yml` | a model file: `model:` (any other reference) and optionally `adapter:` ([`super::adapted`]) |
/// | anything else | a model directory |
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ModelRef {
    Default(WeightFormat),
    Fake(FakeSpec),
    File(PathBuf),
    Dir(PathBuf),
    Gguf(PathBuf),
    Adapted {
        base: Box<ModelRef>,
        adapter: PathBuf,
    },
}

/// What separates a base from its adapter in a reference.
pub const ADAPTER_SEP: &str = "+adapter=";

impl ModelRef {
    /// Parses a model argument. Only `fake:` parameters can be wrong here;
    /// paths are checked when the model is opened.
    pub fn parse(text: &str) -> Result<ModelRef, EngineError> {
        if let Some((base, adapter)) = text.split_once(ADAPTER_SEP) {
            if adapter.is_empty() || adapter.contains(ADAPTER_SEP) {
                return Err(EngineError::BadReference {
                    reference: text.into(),
                    message: format!(
                        "expected one adapter directory after `{ADAPTER_SEP}` (BASE{ADAPTER_SEP}DIR)"
                    ),
                });
            }
            return ModelRef::parse(base)?.with_adapter(PathBuf::from(adapter));
        }
        if let Some(weights) = text.strip_prefix("default") {
            let format = match weights {
                "" | ":f32" => Some(WeightFormat::F32),
                ":q4" => Some(WeightFormat::Q4),
                ":q4-fast" => Some(WeightFormat::Q4Fast),
                _ if weights.starts_with(':') => {
                    return Err(EngineError::BadReference {
                        reference: text.into(),
                        message: format!(
                            "unknown weights `{}` (expected default, default:f32, default:q4 or default:q4-fast)",
                            &weights[1..]
                        ),
                    })
                }
                // `defaults/`, `default-model`: a directory.
                _ => None,
            };
            if let Some(f) = format {
                return Ok(ModelRef::Default(f));
            }
        }
        if text.starts_with("fake:") {
            return FakeSpec::parse(text).map(ModelRef::Fake);
        }
        let path = PathBuf::from(text);
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            return Ok(ModelRef::File(path));
        }
        if path.extension().and_then(|e| e.to_str()) == Some("gguf") {
            return Ok(ModelRef::Gguf(path));
        }
        Ok(ModelRef::Dir(path))
    }

    /// This model with a LoRA adapter merged into its weights. Only bases whose
    /// float32 weights candor imports itself can take one.
    pub fn with_adapter(self, adapter: PathBuf) -> Result<ModelRef, EngineError> {
        let refuse = |why: &str| {
            EngineError::BadReference {
            reference: format!("{self}{ADAPTER_SEP}{}", adapter.display()),
            message: format!(
                "{why}; an adapter is merged into a base candor imports itself: `default` (or `default:f32`) or a `.gguf` file"
            ),
        }
        };
        match &self {
            ModelRef::Default(WeightFormat::F32) | ModelRef::Gguf(_) => Ok(ModelRef::Adapted {
                base: Box::new(self),
                adapter,
            }),
            ModelRef::Default(_) => Err(refuse(
                "4-bit weights cannot take an adapter (it is merged into float32 weights)",
            )),
            ModelRef::Adapted { .. } => Err(refuse("only one adapter per model")),
            ModelRef::Dir(_) => Err(refuse(
                "an ONNX model directory's weights are not re-imported",
            )),
            ModelRef::File(_) => Err(refuse("a model file names its adapter itself (`adapter:`)")),
            ModelRef::Fake(_) => Err(refuse("a fake model has no weights")),
        }
    }
}

impl std::fmt::Display for ModelRef {
    /// The reference as it would be written on the command line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelRef::Default(WeightFormat::F32) => f.write_str("default"),
            ModelRef::Default(w) => write!(f, "default:{}", crate::import::format_name(*w)),
            ModelRef::Fake(spec) => f.write_str(&spec.text),
            ModelRef::File(p) | ModelRef::Dir(p) | ModelRef::Gguf(p) => {
                write!(f, "{}", p.display())
            }
            ModelRef::Adapted { base, adapter } => {
                write!(f, "{base}{ADAPTER_SEP}{}", adapter.display())
            }
        }
    }
}

impl std::str::FromStr for ModelRef {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelRef::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind_and_prints_it_back() {
        for (text, kind) in [
            ("default", "Default"),
            ("default:q4-fast", "Default"),
            ("fake:x?flip=0.1", "Fake"),
            ("models/judge.yaml", "File"),
            ("models/v2", "Dir"),
            ("default-model", "Dir"),
            ("models/base.gguf", "Gguf"),
            ("default+adapter=adapters/warm", "Adapted"),
            ("models/base.gguf+adapter=a/b", "Adapted"),
        ] {
            let m = ModelRef::parse(text).unwrap();
            assert!(format!("{m:?}").starts_with(kind), "{text}: {m:?}");
            assert_eq!(m.to_string(), text);
        }
        assert_eq!(
            ModelRef::parse("default:f32").unwrap().to_string(),
            "default"
        );
    }

    #[test]
    fn bad_references_say_what_was_expected() {
        let e = ModelRef::parse("default:q8").unwrap_err().to_string();
        assert!(e.contains("default:q4-fast"), "{e}");
        let e = ModelRef::parse("fake:x?flip=3").unwrap_err().to_string();
        assert!(e.contains("rate in [0, 1]"), "{e}");
        for (text, says) in [
            ("default:q4+adapter=a", "4-bit"),
            ("models/v2+adapter=a", "ONNX model directory"),
            ("fake:x+adapter=a", "no weights"),
            ("m.yaml+adapter=a", "model file"),
            ("default+adapter=", "one adapter directory"),
            ("default+adapter=a+adapter=b", "one adapter directory"),
        ] {
            let e = ModelRef::parse(text).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
        let with = ModelRef::parse("default+adapter=a").unwrap();
        let e = with.with_adapter("b".into()).unwrap_err().to_string();
        assert!(e.contains("only one adapter"), "{e}");
    }
}
