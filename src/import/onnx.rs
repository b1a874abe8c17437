//! A minimal ONNX writer: just the protobuf messages a decoder graph needs.
//!
//! Hand-written because the ONNX schema is stable and tiny in the subset used
//! here, and a protobuf code generator would need `protoc` at build time.
//! Large initializers go to an external data file (the layout optimum writes),
//! aligned so ONNX Runtime can map them.

use std::io::Write;
use std::path::Path;

/// ONNX tensor element types used by candor's graphs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32 = 1,
    U8 = 2,
    I32 = 6,
    I64 = 7,
    Bool = 9,
}

/// Protobuf wire encoding into a byte buffer.
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u32) {
        self.varint(((field << 3) | wire) as u64);
    }
    fn int(&mut self, field: u32, v: i64) {
        self.key(field, 0);
        self.varint(v as u64);
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }
    fn msg(&mut self, field: u32, m: Pb) {
        self.bytes(field, &m.0);
    }
    fn float(&mut self, field: u32, v: f32) {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
}

/// A node attribute value.
#[derive(Clone, Debug)]
pub enum Attr {
    Int(i64),
    Float(f32),
    Ints(Vec<i64>),
    Str(String),
    Tensor(Tensor),
}

/// A constant tensor: raw little-endian bytes.
#[derive(Clone, Debug)]
pub struct Tensor {
    pub dtype: DType,
    pub dims: Vec<i64>,
    pub data: Vec<u8>,
}

impl Tensor {
    pub fn f32(dims: &[i64], v: &[f32]) -> Tensor {
        Tensor {
            dtype: DType::F32,
            dims: dims.to_vec(),
            data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
    pub fn i64(dims: &[i64], v: &[i64]) -> Tensor {
        Tensor {
            dtype: DType::I64,
            dims: dims.to_vec(),
            data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
    pub fn u8(dims: &[i64], v: Vec<u8>) -> Tensor {
        Tensor {
            dtype: DType::U8,
            dims: dims.to_vec(),
            data: v,
        }
    }
}

/// A dimension of a graph input or output: fixed or symbolic.
#[derive(Clone, Debug)]
pub enum Dim {
    Fixed(i64),
    Named(String),
}

struct Node {
    op: String,
    domain: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    attrs: Vec<(String, Attr)>,
}

struct ValueInfo {
    name: String,
    dtype: DType,
    dims: Vec<Dim>,
}

/// Builds a graph node by node; names are generated so callers only wire values.
pub struct Graph {
    name: String,
    nodes: Vec<Node>,
    inits: Vec<(String, Tensor)>,
    inputs: Vec<ValueInfo>,
    outputs: Vec<ValueInfo>,
    counter: usize,
    /// Node outputs renamed to the graph output they became (see `output`).
    renamed: std::collections::HashMap<String, String>,
}

impl Graph {
    pub fn new(name: &str) -> Self {
        Graph {
            name: name.into(),
            nodes: vec![],
            inits: vec![],
            inputs: vec![],
            outputs: vec![],
            counter: 0,
            renamed: Default::default(),
        }
    }

    pub fn input(&mut self, name: &str, dtype: DType, dims: Vec<Dim>) -> String {
        self.inputs.push(ValueInfo {
            name: name.into(),
            dtype,
            dims,
        });
        name.into()
    }

    /// Declares `value` as a graph output named `name`. A node's output is renamed
    /// rather than copied: ONNX Runtime runs an Identity as a copy, and copying every
    /// KV cache once more per step was a sixth of a batch-8 decoding step.
    pub fn output(&mut self, value: &str, name: &str, dtype: DType, dims: Vec<Dim>) {
        let value = self.resolve(value);
        let produced = self.nodes.iter().any(|n| n.outputs.contains(&value));
        let is_output = self.outputs.iter().any(|o| o.name == value);
        if value != name && produced && !is_output {
            for n in &mut self.nodes {
                for v in n.inputs.iter_mut().chain(n.outputs.iter_mut()) {
                    if *v == value {
                        *v = name.to_string();
                    }
                }
            }
            self.renamed.insert(value, name.to_string());
        } else if value != name {
            self.nodes.push(Node {
                op: "Identity".into(),
                domain: String::new(),
                inputs: vec![value],
                outputs: vec![name.into()],
                attrs: vec![],
            });
        }
        self.outputs.push(ValueInfo {
            name: name.into(),
            dtype,
            dims,
        });
    }

    /// The current name of a value (a renamed node output answers to its old name).
    fn resolve(&self, v: &str) -> String {
        self.renamed
            .get(v)
            .cloned()
            .unwrap_or_else(|| v.to_string())
    }

    pub fn init(&mut self, name: &str, t: Tensor) -> String {
        self.inits.push((name.into(), t));
        name.into()
    }

    /// A small constant, named automatically.
    pub fn konst(&mut self, t: Tensor) -> String {
        self.counter += 1;
        let name = format!("const_{}", self.counter);
        self.init(&name, t)
    }

    pub fn ints(&mut self, v: &[i64]) -> String {
        self.konst(Tensor::i64(&[v.len() as i64], v))
    }

    pub fn scalar_f32(&mut self, v: f32) -> String {
        self.konst(Tensor::f32(&[], &[v]))
    }

    /// Adds a node with one output and returns the output's name.
    pub fn op(&mut self, op: &str, inputs: &[&str], attrs: &[(&str, Attr)]) -> String {
        self.op_in("", op, inputs, attrs)
    }

    pub fn op_in(
        &mut self,
        domain: &str,
        op: &str,
        inputs: &[&str],
        attrs: &[(&str, Attr)],
    ) -> String {
        self.counter += 1;
        let out = format!("{}_{}", op.to_lowercase(), self.counter);
        self.nodes.push(Node {
            op: op.into(),
            domain: domain.into(),
            inputs: inputs.iter().map(|s| self.resolve(s)).collect(),
            outputs: vec![out.clone()],
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        });
        out
    }

    /// Adds a node with `n` outputs and returns their names.
    pub fn op_multi(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: &[(&str, Attr)],
        n: usize,
    ) -> Vec<String> {
        self.counter += 1;
        let outs: Vec<String> = (0..n)
            .map(|i| format!("{}_{}_{i}", op.to_lowercase(), self.counter))
            .collect();
        self.nodes.push(Node {
            op: op.into(),
            domain: String::new(),
            inputs: inputs.iter().map(|s| self.resolve(s)).collect(),
            outputs: outs.clone(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        });
        outs
    }

    /// Serialises the model. Initializers larger than `external_min` bytes go to
    /// `data_file` (next to the model file) when one is given.
    pub fn write(
        &self,
        model_path: &Path,
        data_file: Option<&str>,
        external_min: usize,
    ) -> std::io::Result<()> {
        let mut data_out = match data_file {
            Some(f) => Some((
                f,
                std::io::BufWriter::new(std::fs::File::create(model_path.with_file_name(f))?),
                0u64,
            )),
            None => None,
        };
        let mut g = Pb::default();
        for n in &self.nodes {
            let mut m = Pb::default();
            for i in &n.inputs {
                m.str(1, i);
            }
            for o in &n.outputs {
                m.str(2, o);
            }
            m.str(3, &n.outputs[0]);
            m.str(4, &n.op);
            for (k, v) in &n.attrs {
                m.msg(5, attr_pb(k, v));
            }
            if !n.domain.is_empty() {
                m.str(7, &n.domain);
            }
            g.msg(1, m);
        }
        g.str(2, &self.name);
        for (name, t) in &self.inits {
            let mut m = tensor_header(name, t);
            match &mut data_out {
                Some((file, w, offset)) if t.data.len() >= external_min => {
                    // Align each tensor to 64 KiB so the runtime may map it directly.
                    let pad = (65536 - (*offset % 65536)) % 65536;
                    w.write_all(&vec![0u8; pad as usize])?;
                    *offset += pad;
                    for (k, v) in [
                        ("location", file.to_string()),
                        ("offset", offset.to_string()),
                        ("length", t.data.len().to_string()),
                    ] {
                        let mut e = Pb::default();
                        e.str(1, k);
                        e.str(2, &v);
                        m.msg(13, e);
                    }
                    m.int(14, 1);
                    w.write_all(&t.data)?;
                    *offset += t.data.len() as u64;
                }
                _ => m.bytes(9, &t.data),
            }
            g.msg(5, m);
        }
        for (field, list) in [(11, &self.inputs), (12, &self.outputs)] {
            for v in list {
                g.msg(field, value_info_pb(v));
            }
        }
        let mut model = Pb::default();
        model.int(1, 8); // IR version 8 (opset 17 era)
        for (domain, version) in [("", 17), ("com.microsoft", 1)] {
            let mut o = Pb::default();
            if !domain.is_empty() {
                o.str(1, domain);
            }
            o.int(2, version);
            model.msg(8, o);
        }
        model.str(2, "candor");
        model.str(3, env!("CARGO_PKG_VERSION"));
        model.msg(7, g);
        if let Some((_, mut w, _)) = data_out {
            w.flush()?;
        }
        std::fs::write(model_path, &model.0)
    }
}

fn tensor_header(name: &str, t: &Tensor) -> Pb {
    let mut m = Pb::default();
    for d in &t.dims {
        m.int(1, *d);
    }
    m.int(2, t.dtype as i64);
    m.str(8, name);
    m
}

fn attr_pb(name: &str, a: &Attr) -> Pb {
    let mut m = Pb::default();
    m.str(1, name);
    match a {
        Attr::Float(f) => {
            m.float(2, *f);
            m.int(20, 1);
        }
        Attr::Int(i) => {
            m.int(3, *i);
            m.int(20, 2);
        }
        Attr::Str(s) => {
            m.str(4, s);
            m.int(20, 3);
        }
        Attr::Tensor(t) => {
            let mut tm = tensor_header("", t);
            tm.bytes(9, &t.data);
            m.msg(5, tm);
            m.int(20, 4);
        }
        Attr::Ints(v) => {
            for i in v {
                m.int(8, *i);
            }
            m.int(20, 7);
        }
    }
    m
}

fn value_info_pb(v: &ValueInfo) -> Pb {
    let mut shape = Pb::default();
    for d in &v.dims {
        let mut dm = Pb::default();
        match d {
            Dim::Fixed(n) => dm.int(1, *n),
            Dim::Named(s) => dm.str(2, s),
        }
        shape.msg(1, dm);
    }
    let mut tt = Pb::default();
    tt.int(1, v.dtype as i64);
    tt.msg(2, shape);
    let mut ty = Pb::default();
    ty.msg(1, tt);
    let mut m = Pb::default();
    m.str(1, &v.name);
    m.msg(2, ty);
    m
}
