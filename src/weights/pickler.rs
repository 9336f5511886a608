//! Assembles pickles opcode by opcode, the way Python's pickler writes a dict of numpy
//! arrays in each protocol: the fixtures of the pickle reader's tests, the integration tests
//! and the fuzzers' seeds (which include this file by path). The program never writes one.
//! Plain std, so that it compiles inside any of those crates.
#![allow(dead_code)]

/// The float width an assembled array is written in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Width {
    /// numpy's `f4`.
    F32,
    /// numpy's `f8`.
    F64,
}

/// An array to pickle: its shape and its values in row-major order.
pub struct Array<'a> {
    /// The dict key.
    pub name: &'a str,
    /// numpy's shape.
    pub shape: Vec<usize>,
    /// The values, row-major whatever the order written.
    pub values: Vec<f64>,
}

/// Assembles pickles opcode by opcode, the way Python's pickler writes a dict of numpy
/// arrays in each protocol (memoizing every value it makes).
pub struct Pickler {
    /// The bytes so far.
    pub out: Vec<u8>,
    protocol: u8,
    memo: u32,
    /// The module `_reconstruct` is taken from: numpy 1's or numpy 2's spelling.
    pub numpy_module: &'static str,
}

impl Pickler {
    /// A pickle of `protocol`, started with its PROTO opcode.
    pub fn new(protocol: u8) -> Self {
        Self {
            out: vec![0x80, protocol],
            protocol,
            memo: 0,
            numpy_module: "numpy.core.multiarray",
        }
    }

    /// Raw opcode bytes.
    pub fn op(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.extend_from_slice(bytes);
        self
    }

    /// Stores the top of the stack in the memo, as the pickler does after each value.
    pub fn memoize(&mut self) -> &mut Self {
        if self.protocol >= 4 {
            self.out.push(0x94);
        } else if let Ok(index) = u8::try_from(self.memo) {
            self.out.extend([b'q', index]);
        } else {
            self.out.push(b'r');
            self.out.extend(self.memo.to_le_bytes());
        }
        self.memo += 1;
        self
    }

    /// A string (BINUNICODE, or SHORT_BINUNICODE from protocol 4).
    pub fn text(&mut self, text: &str) -> &mut Self {
        match u8::try_from(text.len()) {
            Ok(len) if self.protocol >= 4 => self.op(&[0x8c, len]),
            _ => self.op(b"X").op(&(text.len() as u32).to_le_bytes()),
        };
        self.op(text.as_bytes()).memoize()
    }

    /// A global, by GLOBAL or (protocol 4) STACK_GLOBAL.
    pub fn global(&mut self, module: &str, name: &str) -> &mut Self {
        if self.protocol >= 4 {
            self.text(module).text(name).op(&[0x93])
        } else {
            self.op(format!("c{module}\n{name}\n").as_bytes())
        }
        .memoize()
    }

    /// Bytes: `_codecs.encode(text, 'latin1')` in protocol 2, BINBYTES after.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        if self.protocol == 2 {
            let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
            self.global("_codecs", "encode")
                .text(&latin1)
                .text("latin1");
            return self.op(&[0x86]).memoize().op(b"R").memoize();
        }
        match u8::try_from(bytes.len()) {
            Ok(len) => self.op(&[b'C', len]),
            Err(_) => self.op(b"B").op(&(bytes.len() as u32).to_le_bytes()),
        };
        self.op(bytes).memoize()
    }

    /// An integer in the shortest opcode that holds it.
    pub fn int(&mut self, n: i64) -> &mut Self {
        match (u8::try_from(n), u16::try_from(n), i32::try_from(n)) {
            (Ok(small), _, _) => self.op(&[b'K', small]),
            (_, Ok(medium), _) => self.op(b"M").op(&medium.to_le_bytes()),
            (_, _, Ok(int)) => self.op(b"J").op(&int.to_le_bytes()),
            _ => self.op(&[0x8a, 8]).op(&n.to_le_bytes()),
        }
    }

    /// A tuple of whole numbers, as numpy's shapes are pickled.
    pub fn shape(&mut self, shape: &[usize]) -> &mut Self {
        let short = [0x85, 0x86, 0x87];
        if shape.is_empty() || shape.len() > 3 {
            self.op(b"(");
        }
        for &d in shape {
            self.int(d as i64);
        }
        match shape.len() {
            0 => self.op(b")"),
            n @ 1..=3 => self.op(&[short[n - 1]]),
            _ => self.op(b"t"),
        }
        .memoize()
    }

    /// A float dtype, `numpy.dtype('f4', False, True)` with its state.
    pub fn dtype(&mut self, width: Width, byte_order: &str) -> &mut Self {
        let name = if width == Width::F32 { "f4" } else { "f8" };
        self.global("numpy", "dtype")
            .text(name)
            .op(&[0x89, 0x88, 0x87]);
        self.memoize()
            .op(b"R")
            .memoize()
            .op(b"(")
            .int(3)
            .text(byte_order);
        self.op(b"NNN")
            .int(-1)
            .int(-1)
            .int(0)
            .op(b"t")
            .memoize()
            .op(b"b")
    }

    /// `array` as numpy pickles it, its data in Fortran order if `fortran`.
    pub fn array(&mut self, array: &Array<'_>, width: Width, fortran: bool) -> &mut Self {
        let module = self.numpy_module;
        self.global(module, "_reconstruct")
            .global("numpy", "ndarray");
        self.int(0)
            .op(&[0x85])
            .memoize()
            .bytes(b"b")
            .op(&[0x87])
            .memoize();
        self.op(b"R").memoize().op(b"(").int(1).shape(&array.shape);
        self.dtype(width, "<");
        self.op(&[if fortran { 0x88 } else { 0x89 }]);
        let values: Vec<f64> = match (&array.shape[..], fortran) {
            (&[rows, cols], true) => (0..rows * cols)
                .map(|i| array.values[(i % rows) * cols + i / rows])
                .collect(),
            _ => array.values.clone(),
        };
        let data: Vec<u8> = match width {
            Width::F32 => values
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect(),
            Width::F64 => values.iter().flat_map(|&v| v.to_le_bytes()).collect(),
        };
        self.bytes(&data).op(b"t").memoize().op(b"b")
    }

    /// A whole pickle of a dict of `arrays`, each as `how(name)` says.
    pub fn dict(mut self, arrays: &[Array<'_>], how: impl Fn(&str) -> (Width, bool)) -> Vec<u8> {
        self.op(b"}").memoize().op(b"(");
        for array in arrays {
            let (width, fortran) = how(array.name);
            self.text(array.name).array(array, width, fortran);
        }
        self.op(b"u.");
        self.framed()
    }

    /// A whole pickle of a network's layers, each `((W's shape, values), (b's shape,
    /// values))` with row-major float32 values, named `W1, b1, …` as in the book's file; the
    /// matrices in Fortran order if `fortran`, as the book's are.
    pub fn layers<'a, W, B>(
        self,
        layers: impl IntoIterator<Item = ((&'a [usize], W), (&'a [usize], B))>,
        width: Width,
        fortran: bool,
    ) -> Vec<u8>
    where
        W: IntoIterator<Item = &'a f32>,
        B: IntoIterator<Item = &'a f32>,
    {
        let wide = |values: &mut dyn Iterator<Item = &'a f32>| -> Vec<f64> {
            values.map(|&v| f64::from(v)).collect()
        };
        let mut parts = Vec::new();
        for (k, ((w_shape, w), (b_shape, b))) in (1..).zip(layers) {
            parts.push((format!("W{k}"), w_shape.to_vec(), wide(&mut w.into_iter())));
            parts.push((format!("b{k}"), b_shape.to_vec(), wide(&mut b.into_iter())));
        }
        let arrays: Vec<Array<'_>> = parts
            .iter()
            .map(|(name, shape, values)| Array {
                name,
                shape: shape.clone(),
                values: values.clone(),
            })
            .collect();
        self.dict(&arrays, |name| (width, fortran && name.starts_with('W')))
    }

    /// The bytes, with protocol 4's FRAME around everything after PROTO.
    pub fn framed(self) -> Vec<u8> {
        if self.protocol < 4 {
            return self.out;
        }
        let mut out = self.out[..2].to_vec();
        out.push(0x95);
        out.extend(((self.out.len() - 2) as u64).to_le_bytes());
        out.extend(&self.out[2..]);
        out
    }
}
