//! The book's weights as it ships them: a Python pickle (protocol 2 to 5) of a dict of numpy
//! arrays, `sample_weight.pkl`. A pickle is a program for Python's unpickler; this is a
//! restricted reader that understands only the opcodes such a file needs and calls only
//! numpy's array and dtype constructors by name, building plain values on a small stack. It
//! never runs or imports anything, and refuses every other opcode and global by name.
//!
//! Every length is checked against the bytes present before it is used, the stack, the
//! nesting of tuples and the number of opcodes are bounded, and byte strings are borrowed
//! from the file rather than copied, so a forged file costs no more memory than its size
//! and the arrays it really holds.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::rc::Rc;

use ndarray::{Array1, Array2, ShapeBuilder};

use super::checks::{bad, check_rank, check_sizes, count_layers, layer_arrays, values_in};
use super::npy::shape_text;
use super::{MAX_DATA_BYTES, WeightsFault};
use crate::excerpt::excerpt;
use crate::layer::Layer;
use crate::network::Network;

/// What every pickle of protocol 2 or later starts with: the PROTO opcode.
pub(super) const PROTO: u8 = 0x80;
/// The protocols read: 2 (Python 2's binary pickles, numpy's `_codecs.encode` bytes) to 5.
const PROTOCOLS: std::ops::RangeInclusive<u8> = 2..=5;
/// Largest file read: float64 arrays take twice the float32 data cap, plus the pickle's own
/// opcodes (about 30 bytes an array).
const MAX_FILE_BYTES: u64 = 2 * MAX_DATA_BYTES + (1 << 20);
/// Most opcodes read. numpy's pickle of a dict of arrays takes about 30 opcodes an array,
/// so this bounds what a forged file can build (each opcode makes at most one value)
/// without limiting any real network.
const MAX_OPCODES: usize = 1 << 20;
/// Most values on the stack at once, and most open marks: the book's file needs 10.
const MAX_STACK: usize = 1024;
/// Deepest nesting of tuples: a dtype's state inside an array's state needs 2. A deeper
/// value would be a recursion bomb for whatever walks or drops it.
const MAX_DEPTH: usize = 8;

/// A Python value the reader can build. Byte strings and strings borrow the file's bytes.
#[derive(Debug, Clone)]
enum Value<'a> {
    None,
    Bool(bool),
    Int(i64),
    Str(&'a str),
    Bytes(Blob<'a>),
    Tuple(Rc<Tuple<'a>>),
    Global(Global),
    /// A mutable object (dict, dtype, array), by its index in the reader's arena: BUILD and
    /// SETITEMS change it in place, as Python does, for every reference the memo holds.
    Object(usize),
}

/// Bytes from the file, or made by `_codecs.encode` (protocol 2's spelling of bytes).
#[derive(Debug, Clone)]
enum Blob<'a> {
    File(&'a [u8]),
    Made(Rc<[u8]>),
}

impl Blob<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Blob::File(bytes) => bytes,
            Blob::Made(bytes) => bytes,
        }
    }
}

/// A tuple and how deeply tuples nest inside it (1 for a tuple of plain values).
#[derive(Debug)]
struct Tuple<'a> {
    items: Vec<Value<'a>>,
    depth: usize,
}

/// The only globals the reader accepts, and only as the arguments numpy's pickles pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Global {
    /// `numpy.core.multiarray._reconstruct` (numpy 1) or `numpy._core.multiarray._reconstruct`
    /// (numpy 2): makes an empty array that BUILD then fills.
    Reconstruct,
    /// `numpy.ndarray`, the class `_reconstruct` makes.
    Ndarray,
    /// `numpy.dtype`: makes a dtype that BUILD then gives its byte order.
    Dtype,
    /// `_codecs.encode`: protocol 2 has no bytes opcode, so bytes are pickled as
    /// `_codecs.encode(text, 'latin1')`.
    Encode,
}

impl Global {
    /// The global named `module.name`, if it is one the reader accepts.
    fn find(module: &str, name: &str) -> Option<Self> {
        match (module, name) {
            ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
                Some(Self::Reconstruct)
            }
            ("numpy", "ndarray") => Some(Self::Ndarray),
            ("numpy", "dtype") => Some(Self::Dtype),
            ("_codecs", "encode") => Some(Self::Encode),
            _ => None,
        }
    }
}

/// What REDUCE and BUILD make and change.
#[derive(Debug)]
enum Object<'a> {
    Dict(Vec<(Value<'a>, Value<'a>)>),
    Dtype(Dtype<'a>),
    Array(Option<ArrayState<'a>>),
}

/// A numpy dtype: its name as numpy pickles it (`f4`, `f8`) and the byte order BUILD gives.
#[derive(Debug)]
struct Dtype<'a> {
    name: &'a str,
    byte_order: Option<&'a str>,
}

/// What BUILD gives an array: its shape, dtype (an object), memory order and data.
#[derive(Debug)]
struct ArrayState<'a> {
    shape: Vec<usize>,
    dtype: usize,
    fortran_order: bool,
    data: Blob<'a>,
}

/// A float dtype the arrays may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Float {
    F32,
    F64,
}

impl Float {
    fn size(self) -> usize {
        match self {
            Float::F32 => 4,
            Float::F64 => 8,
        }
    }
}

/// Reads `W1, b1, …, Wn, bn` from pickle bytes; also returns the names of the arrays that
/// held float64 values and were converted to float32.
pub(super) fn read<R: Read + Seek>(mut reader: R) -> Result<(Network, Vec<String>), WeightsFault> {
    let unreadable = |e: std::io::Error| WeightsFault::BadPickle {
        at: None,
        message: format!("it cannot be read: {e}"),
    };
    let size = reader.seek(SeekFrom::End(0)).map_err(unreadable)?;
    if size > MAX_FILE_BYTES {
        return Err(WeightsFault::TooLarge(format!(
            "the file is {size} bytes; weights pickles of at most {MAX_FILE_BYTES} are read"
        )));
    }
    reader.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // A file that grows while it is read still stops at the cap.
    reader
        .take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    let mut machine = Machine::new(&bytes);
    let top = machine.run()?;
    machine.network(top)
}

/// The unpickler's state: the file, where it is, the stack, the marks, the memo and the
/// objects built so far.
struct Machine<'a> {
    file: &'a [u8],
    at: usize,
    /// Where the opcode being run starts, for errors.
    op_at: usize,
    opcodes: usize,
    stack: Vec<Value<'a>>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value<'a>>,
    objects: Vec<Object<'a>>,
    /// Bytes made by `_codecs.encode` so far: never more than the file holds.
    made: usize,
}

impl<'a> Machine<'a> {
    fn new(file: &'a [u8]) -> Self {
        Self {
            file,
            at: 0,
            op_at: 0,
            opcodes: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            objects: Vec::new(),
            made: 0,
        }
    }

    /// A fault at the opcode being run.
    fn fault(&self, message: impl Into<String>) -> WeightsFault {
        WeightsFault::BadPickle {
            at: Some(self.op_at),
            message: message.into(),
        }
    }

    /// Runs the opcodes up to STOP and returns the value it leaves.
    fn run(&mut self) -> Result<Value<'a>, WeightsFault> {
        if self.file.first() != Some(&PROTO) {
            return Err(self.fault("it does not start with the PROTO opcode (0x80)"));
        }
        loop {
            self.op_at = self.at;
            let Some(&code) = self.file.get(self.at) else {
                return Err(self.fault("the pickle ends without its STOP opcode (truncated?)"));
            };
            self.at += 1;
            self.opcodes += 1;
            if self.opcodes > MAX_OPCODES {
                return Err(self.fault(format!(
                    "more than {MAX_OPCODES} opcodes; a pickle of weights needs about 30 an array"
                )));
            }
            if code == b'.' {
                return self.stop();
            }
            self.step(code)?;
        }
    }

    /// STOP: the one value left is the pickle's, and nothing may follow it.
    fn stop(&mut self) -> Result<Value<'a>, WeightsFault> {
        let rest = self.file.len() - self.at;
        if rest > 0 {
            return Err(self.fault(format!(
                "the pickle ends here, and {rest} more bytes follow"
            )));
        }
        if !self.marks.is_empty() || self.stack.len() != 1 {
            return Err(self.fault(format!(
                "STOP leaves {} values and {} marks on the stack, not one value",
                self.stack.len(),
                self.marks.len()
            )));
        }
        self.pop()
    }

    /// Runs the opcode `code`, whose byte was just read.
    fn step(&mut self, code: u8) -> Result<(), WeightsFault> {
        match code {
            PROTO => {
                let protocol = self.take(1)?[0];
                if !PROTOCOLS.contains(&protocol) {
                    return Err(self.fault(format!(
                        "pickle protocol {protocol}; protocols {} to {} are read",
                        PROTOCOLS.start(),
                        PROTOCOLS.end()
                    )));
                }
            }
            // FRAME (protocol 4): the file is in memory already; the frame must fit in it.
            0x95 => {
                let len = self.length(8)?;
                if len > self.file.len() - self.at {
                    return Err(self.truncated("a frame", len));
                }
            }
            b'(' => {
                if self.marks.len() >= MAX_STACK {
                    return Err(self.fault(format!("more than {MAX_STACK} open marks")));
                }
                self.marks.push(self.stack.len());
            }
            b'N' => self.push(Value::None)?,
            0x88 => self.push(Value::Bool(true))?,
            0x89 => self.push(Value::Bool(false))?,
            b'K' => {
                let value = self.take(1)?[0];
                self.push(Value::Int(value.into()))?;
            }
            b'M' => {
                let b = self.take(2)?;
                self.push(Value::Int(u16::from_le_bytes([b[0], b[1]]).into()))?;
            }
            b'J' => {
                let b = self.take(4)?;
                self.push(Value::Int(
                    i32::from_le_bytes([b[0], b[1], b[2], b[3]]).into(),
                ))?;
            }
            0x8a => {
                let len = usize::from(self.take(1)?[0]);
                let value = self.long(len)?;
                self.push(Value::Int(value))?;
            }
            b'X' => self.text(4)?,
            0x8c => self.text(1)?,
            0x8d => self.text(8)?,
            b'C' => self.bytes(1)?,
            b'B' => self.bytes(4)?,
            0x8e => self.bytes(8)?,
            b'}' => {
                let dict = self.object(Object::Dict(Vec::new()))?;
                self.push(dict)?;
            }
            b')' => self.push(Value::Tuple(Rc::new(Tuple {
                items: Vec::new(),
                depth: 1,
            })))?,
            b't' => {
                let items = self.pop_mark()?;
                self.tuple(items)?;
            }
            0x85..=0x87 => {
                let n = usize::from(code - 0x84);
                if self.stack.len() < n + self.marks.last().copied().unwrap_or(0) {
                    return Err(self.fault(format!("TUPLE{n} needs {n} values on the stack")));
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.tuple(items)?;
            }
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                let global = self.global(module, name)?;
                self.push(global)?;
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Value::Str(module), Value::Str(name)) = (module, name) else {
                    return Err(self.fault("STACK_GLOBAL needs two strings"));
                };
                let global = self.global(module, name)?;
                self.push(global)?;
            }
            b'R' => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let value = self.reduce(callable, args)?;
                self.push(value)?;
            }
            b'b' => {
                let state = self.pop()?;
                self.build(state)?;
            }
            b'q' => {
                let index = self.take(1)?[0];
                self.put(index.into())?;
            }
            b'r' => {
                let index = self.length(4)?;
                self.put(index)?;
            }
            0x94 => self.put(self.memo.len())?,
            b'h' => {
                let index = self.take(1)?[0];
                self.get(index.into())?;
            }
            b'j' => {
                let index = self.length(4)?;
                self.get(index)?;
            }
            b's' => {
                let value = self.pop()?;
                let key = self.pop()?;
                self.set_items(vec![key, value])?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                self.set_items(items)?;
            }
            other => {
                return Err(WeightsFault::PickleOpcode {
                    name: opcode_name(other),
                    at: self.op_at,
                });
            }
        }
        Ok(())
    }

    /// The next `n` bytes of the file.
    fn take(&mut self, n: usize) -> Result<&'a [u8], WeightsFault> {
        let file: &'a [u8] = self.file;
        let rest = &file[self.at..];
        if rest.len() < n {
            return Err(self.truncated("the opcode's argument", n));
        }
        self.at += n;
        Ok(&rest[..n])
    }

    /// The fault of `what`, `needed` bytes long, running past the end of the file.
    fn truncated(&self, what: &str, needed: usize) -> WeightsFault {
        self.fault(format!(
            "{what} needs {needed} bytes, and the file has {} left (truncated?)",
            self.file.len() - self.at
        ))
    }

    /// A little-endian unsigned length of `width` bytes (1, 4 or 8).
    fn length(&mut self, width: usize) -> Result<usize, WeightsFault> {
        let bytes = self.take(width)?;
        let mut le = [0u8; 8];
        le[..width].copy_from_slice(bytes);
        // A length past what usize holds cannot fit in the file anyway.
        Ok(usize::try_from(u64::from_le_bytes(le)).unwrap_or(usize::MAX))
    }

    /// LONG1's little-endian two's-complement integer of `len` bytes.
    fn long(&mut self, len: usize) -> Result<i64, WeightsFault> {
        if len > 8 {
            return Err(self.fault(format!(
                "an integer of {len} bytes; the reader takes integers of up to 8"
            )));
        }
        let bytes = self.take(len)?;
        let negative = bytes.last().is_some_and(|b| b & 0x80 != 0);
        let mut le = [if negative { 0xff } else { 0 }; 8];
        le[..len].copy_from_slice(bytes);
        Ok(i64::from_le_bytes(le))
    }

    /// A UTF-8 string whose length takes `width` bytes.
    fn text(&mut self, width: usize) -> Result<(), WeightsFault> {
        let len = self.length(width)?;
        let bytes = self.take(len)?;
        let text =
            std::str::from_utf8(bytes).map_err(|_| self.fault("a string that is not UTF-8"))?;
        self.push(Value::Str(text))
    }

    /// A byte string whose length takes `width` bytes.
    fn bytes(&mut self, width: usize) -> Result<(), WeightsFault> {
        let len = self.length(width)?;
        let bytes = self.take(len)?;
        self.push(Value::Bytes(Blob::File(bytes)))
    }

    /// GLOBAL's argument: text up to a line break.
    fn line(&mut self) -> Result<&'a str, WeightsFault> {
        let file: &'a [u8] = self.file;
        let rest = &file[self.at..];
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return Err(self.fault("GLOBAL's name never ends (truncated?)"));
        };
        self.at += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| self.fault("a global's name is not UTF-8"))
    }

    fn push(&mut self, value: Value<'a>) -> Result<(), WeightsFault> {
        if self.stack.len() >= MAX_STACK {
            return Err(self.fault(format!("the stack grows past {MAX_STACK} values")));
        }
        self.stack.push(value);
        Ok(())
    }

    /// The top value, which must lie above the last mark.
    fn pop(&mut self) -> Result<Value<'a>, WeightsFault> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.fault("an opcode needs a value, and the stack holds none"));
        }
        self.stack
            .pop()
            .ok_or_else(|| self.fault("an opcode needs a value, and the stack holds none"))
    }

    /// The values above the last mark, which is removed.
    fn pop_mark(&mut self) -> Result<Vec<Value<'a>>, WeightsFault> {
        let Some(mark) = self.marks.pop() else {
            return Err(self.fault("an opcode needs a MARK, and there is none"));
        };
        Ok(self.stack.split_off(mark))
    }

    /// Pushes a tuple of `items`, refusing one nested too deeply.
    fn tuple(&mut self, items: Vec<Value<'a>>) -> Result<(), WeightsFault> {
        let depth = 1 + items
            .iter()
            .map(|item| match item {
                Value::Tuple(tuple) => tuple.depth,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        if depth > MAX_DEPTH {
            return Err(self.fault(format!(
                "tuples nested {depth} deep; numpy's arrays need 2, and the reader takes {MAX_DEPTH}"
            )));
        }
        self.push(Value::Tuple(Rc::new(Tuple { items, depth })))
    }

    /// Adds `object` to the arena and returns a reference to it.
    fn object(&mut self, object: Object<'a>) -> Result<Value<'a>, WeightsFault> {
        // Each opcode makes at most one object, so MAX_OPCODES bounds the arena.
        self.objects.push(object);
        Ok(Value::Object(self.objects.len() - 1))
    }

    /// The value GLOBAL or STACK_GLOBAL names, if it is one the reader accepts.
    fn global(&self, module: &str, name: &str) -> Result<Value<'a>, WeightsFault> {
        Global::find(module, name)
            .map(Value::Global)
            .ok_or_else(|| WeightsFault::PickleGlobal {
                name: excerpt(&format!("{module}.{name}")),
                at: self.op_at,
            })
    }

    /// Stores the top value in the memo at `index`.
    fn put(&mut self, index: usize) -> Result<(), WeightsFault> {
        // A pickler numbers its memo from 0, one opcode an entry: a larger index is forged.
        let index = u32::try_from(index)
            .ok()
            .filter(|&i| (i as usize) < self.opcodes)
            .ok_or_else(|| {
                self.fault(format!(
                    "memo index {index}, more than the {} opcodes read so far could have stored",
                    self.opcodes
                ))
            })?;
        let Some(top) = self.stack.last().cloned() else {
            return Err(self.fault("a memo opcode with nothing on the stack to store"));
        };
        self.memo.insert(index, top);
        Ok(())
    }

    /// Pushes the memo's value at `index`.
    fn get(&mut self, index: usize) -> Result<(), WeightsFault> {
        let value = u32::try_from(index)
            .ok()
            .and_then(|i| self.memo.get(&i))
            .cloned()
            .ok_or_else(|| self.fault(format!("memo entry {index} was never stored")))?;
        self.push(value)
    }

    /// SETITEM(S): `items` (key, value, key, value, …) into the dict on top of the stack.
    fn set_items(&mut self, items: Vec<Value<'a>>) -> Result<(), WeightsFault> {
        if !items.len().is_multiple_of(2) {
            return Err(self.fault("SETITEMS with a key and no value"));
        }
        let dict = match self.stack.last() {
            Some(Value::Object(id)) => *id,
            _ => return Err(self.fault("SETITEMS on something other than a dict")),
        };
        let Some(Object::Dict(entries)) = self.objects.get_mut(dict) else {
            return Err(self.fault("SETITEMS on something other than a dict"));
        };
        let mut items = items.into_iter();
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            entries.push((key, value));
        }
        Ok(())
    }

    /// REDUCE: calls `callable` (one of the accepted globals) with the tuple `args`.
    fn reduce(&mut self, callable: Value<'a>, args: Value<'a>) -> Result<Value<'a>, WeightsFault> {
        let Value::Tuple(args) = args else {
            return Err(self.fault("REDUCE with arguments that are not a tuple"));
        };
        let Value::Global(global) = callable else {
            return Err(self.fault(format!(
                "REDUCE calls {}, which is not a function",
                describe(&callable)
            )));
        };
        match (global, &args.items[..]) {
            (Global::Reconstruct, [Value::Global(Global::Ndarray), _, _]) => {
                self.object(Object::Array(None))
            }
            (Global::Reconstruct, _) => Err(self.fault(
                "numpy's _reconstruct is called with other arguments than numpy.ndarray, a shape \
                 and a type code",
            )),
            (Global::Dtype, [Value::Str(name), _, _]) => self.object(Object::Dtype(Dtype {
                name,
                byte_order: None,
            })),
            (Global::Dtype, _) => {
                Err(self
                    .fault("numpy.dtype is called with other arguments than a name and two flags"))
            }
            (Global::Encode, [Value::Str(text), Value::Str("latin1")]) => self
                .latin1(text)
                .map(|bytes| Value::Bytes(Blob::Made(bytes))),
            (Global::Encode, _) => Err(self
                .fault("_codecs.encode is called with other arguments than a string and 'latin1'")),
            (Global::Ndarray, _) => Err(self
                .fault("numpy.ndarray is called; it is accepted only as _reconstruct's argument")),
        }
    }

    /// `text` encoded as latin-1: the bytes protocol 2 spells as text.
    fn latin1(&mut self, text: &str) -> Result<Rc<[u8]>, WeightsFault> {
        // Each character is one byte, never more than the text's UTF-8 length: the total
        // made stays within the file, however often a memoized text is encoded.
        let len = text.chars().count();
        self.made = self.made.saturating_add(len);
        if self.made > self.file.len() {
            return Err(self.fault(
                "_codecs.encode makes more bytes than the file holds (the same text encoded \
                 again and again)",
            ));
        }
        text.chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect::<Option<Rc<[u8]>>>()
            .ok_or_else(|| self.fault("_codecs.encode of text that latin-1 cannot encode"))
    }

    /// BUILD: gives the object on top of the stack (a dtype or an array) its `state`.
    fn build(&mut self, state: Value<'a>) -> Result<(), WeightsFault> {
        let id = match self.stack.last() {
            Some(Value::Object(id)) => *id,
            Some(other) => {
                return Err(self.fault(format!("BUILD on {}", describe(other))));
            }
            None => return Err(self.fault("BUILD with nothing on the stack")),
        };
        let Value::Tuple(state) = state else {
            return Err(self.fault("BUILD with a state that is not a tuple"));
        };
        match self.objects.get(id) {
            Some(Object::Dtype(_)) => {
                let order = self.dtype_state(&state.items)?;
                if let Some(Object::Dtype(dtype)) = self.objects.get_mut(id) {
                    dtype.byte_order = Some(order);
                }
            }
            Some(Object::Array(_)) => {
                let array = self.array_state(&state.items)?;
                self.objects[id] = Object::Array(Some(array));
            }
            _ => return Err(self.fault("BUILD on a dict")),
        }
        Ok(())
    }

    /// A dtype's state, `(3, '<', None, None, None, -1, -1, 0)` for a plain float dtype (a
    /// ninth item, metadata, in version 4): its byte order.
    fn dtype_state(&self, state: &[Value<'a>]) -> Result<&'a str, WeightsFault> {
        match state {
            [
                Value::Int(_),
                Value::Str(order),
                Value::None,
                Value::None,
                Value::None,
                ..,
            ] if state.len() <= 9 => Ok(order),
            [_, _, subarray, names, fields, ..]
                if [subarray, names, fields]
                    .iter()
                    .any(|v| !matches!(v, Value::None)) =>
            {
                Err(self.fault("a structured or sub-array dtype; weights are plain float arrays"))
            }
            _ => Err(self.fault("a dtype state numpy would not write")),
        }
    }

    /// An array's state, `(1, shape, dtype, fortran_order, data)` (older numpy: without the
    /// version).
    fn array_state(&self, state: &[Value<'a>]) -> Result<ArrayState<'a>, WeightsFault> {
        let (shape, dtype, fortran, data) = match state {
            [Value::Int(1), shape, dtype, fortran, data] | [shape, dtype, fortran, data] => {
                (shape, dtype, fortran, data)
            }
            _ => return Err(self.fault("an array state numpy would not write")),
        };
        let Value::Tuple(shape) = shape else {
            return Err(self.fault("an array whose shape is not a tuple"));
        };
        let shape = shape
            .items
            .iter()
            .map(|d| match d {
                Value::Int(n) => usize::try_from(*n).ok(),
                _ => None,
            })
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| self.fault("an array whose shape is not whole numbers"))?;
        let dtype = match dtype {
            Value::Object(id) if matches!(self.objects.get(*id), Some(Object::Dtype(_))) => *id,
            _ => return Err(self.fault("an array whose dtype is not a numpy.dtype")),
        };
        let fortran_order = match fortran {
            Value::Bool(flag) => *flag,
            Value::Int(n @ (0 | 1)) => *n == 1,
            _ => return Err(self.fault("an array whose memory-order flag is not True or False")),
        };
        let Value::Bytes(data) = data else {
            return Err(self.fault(format!(
                "an array whose data is {}, not bytes (an array of Python objects?)",
                describe(data)
            )));
        };
        Ok(ArrayState {
            shape,
            dtype,
            fortran_order,
            data: data.clone(),
        })
    }

    /// The network the pickle's dict `top` holds, and the arrays converted from float64.
    fn network(&self, top: Value<'a>) -> Result<(Network, Vec<String>), WeightsFault> {
        let entries = match &top {
            Value::Object(id) => match self.objects.get(*id) {
                Some(Object::Dict(entries)) => Some(entries),
                _ => None,
            },
            _ => None,
        };
        let entries = entries.ok_or_else(|| WeightsFault::BadPickle {
            at: None,
            message: format!(
                "it holds {}, not a dict of arrays such as {{'W1': …, 'b1': …}}",
                describe(&top)
            ),
        })?;
        let mut index = HashMap::new();
        for (key, value) in entries {
            let Value::Str(name) = key else {
                return Err(WeightsFault::BadPickle {
                    at: None,
                    message: format!("its dict has a key that is {}, not a string", describe(key)),
                });
            };
            if index.insert(name.to_string(), value).is_some() {
                return Err(WeightsFault::Duplicate(excerpt(name)));
            }
        }
        let n = count_layers(&index)?;
        let mut arrays = Vec::with_capacity(2 * n);
        for k in 1..=n {
            for (name, rank) in layer_arrays(k) {
                let array = self.array(&name, index.get(&name).copied())?;
                check_rank(&name, &array.0.shape, rank)?;
                arrays.push((name, array));
            }
        }
        let shapes: Vec<(String, Vec<usize>)> = arrays
            .iter()
            .map(|(name, (state, _))| (name.clone(), state.shape.clone()))
            .collect();
        check_sizes(&shapes)?;
        let mut converted = Vec::new();
        let mut layers = Vec::with_capacity(n);
        for pair in arrays.chunks_exact(2) {
            let [(wname, (w, wfloat)), (bname, (b, bfloat))] = pair else {
                continue;
            };
            let (rows, cols) = (w.shape[0], w.shape[1]);
            let w = Array2::from_shape_vec(
                (rows, cols).set_f(w.fortran_order),
                floats(wname, w, *wfloat)?,
            )
            .map_err(|e| bad(wname, e.to_string()))?
            .as_standard_layout()
            .into_owned();
            let b = Array1::from(floats(bname, b, *bfloat)?);
            for (name, float) in [(wname, wfloat), (bname, bfloat)] {
                if *float == Float::F64 {
                    converted.push(name.clone());
                }
            }
            layers.push(Layer { w, b });
        }
        Ok((Network::new(layers)?, converted))
    }

    /// The array state of `name`, and its dtype, if `value` is a filled float array.
    fn array(
        &self,
        name: &str,
        value: Option<&Value<'a>>,
    ) -> Result<(&ArrayState<'a>, Float), WeightsFault> {
        let value = value.ok_or_else(|| WeightsFault::MissingKey(name.to_string()))?;
        let state = match value {
            Value::Object(id) => match self.objects.get(*id) {
                Some(Object::Array(Some(state))) => state,
                Some(Object::Array(None)) => {
                    return Err(bad(
                        name,
                        "is a numpy array the pickle never fills (no BUILD)".into(),
                    ));
                }
                _ => {
                    return Err(bad(
                        name,
                        format!("is {}, not a numpy array", describe(value)),
                    ));
                }
            },
            _ => {
                return Err(bad(
                    name,
                    format!("is {}, not a numpy array", describe(value)),
                ));
            }
        };
        let Some(Object::Dtype(dtype)) = self.objects.get(state.dtype) else {
            return Err(bad(name, "has no dtype".into()));
        };
        let float = match dtype.name {
            "f4" => Float::F32,
            "f8" => Float::F64,
            other => {
                return Err(bad(
                    name,
                    format!("holds '{}' values, not float32 or float64", excerpt(other)),
                ));
            }
        };
        match dtype.byte_order {
            Some("<") => Ok((state, float)),
            Some(">") => Err(bad(
                name,
                "is big-endian; save it as little-endian (numpy's default)".into(),
            )),
            Some(other) => Err(bad(
                name,
                format!(
                    "has byte order '{}', not '<' (little-endian)",
                    excerpt(other)
                ),
            )),
            None => Err(bad(
                name,
                "has a dtype without a byte order (no BUILD)".into(),
            )),
        }
    }
}

/// The values of array `name` as float32, in the order of its data; float64 values are
/// rounded to the nearest float32, and one beyond float32's range is refused by name.
fn floats(name: &str, state: &ArrayState<'_>, float: Float) -> Result<Vec<f32>, WeightsFault> {
    let data = state.data.bytes();
    let count = values_in(&state.shape).unwrap_or(usize::MAX);
    let needed = count.saturating_mul(float.size());
    if data.len() != needed {
        let kind = if float == Float::F32 {
            "float32"
        } else {
            "float64"
        };
        return Err(bad(
            name,
            format!(
                "holds {} bytes of data; its shape {} of {kind} needs {needed}",
                data.len(),
                shape_text(&state.shape)
            ),
        ));
    }
    match float {
        Float::F32 => Ok(data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()),
        Float::F64 => data
            .chunks_exact(8)
            .enumerate()
            .map(|(index, b)| {
                let wide = f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                let narrow = wide as f32;
                if wide.is_finite() && !narrow.is_finite() {
                    return Err(bad(
                        name,
                        format!("holds {wide:e} at flat index {index}, beyond float32's range"),
                    ));
                }
                Ok(narrow)
            })
            .collect(),
    }
}

/// A value in words, for errors.
fn describe(value: &Value<'_>) -> String {
    match value {
        Value::None => "None".into(),
        Value::Bool(_) => "a bool".into(),
        Value::Int(n) => format!("the integer {n}"),
        Value::Str(text) => format!("the string '{}'", excerpt(text)),
        Value::Bytes(_) => "bytes".into(),
        Value::Tuple(tuple) => format!("a tuple of {} items", tuple.items.len()),
        Value::Global(_) => "a numpy function".into(),
        Value::Object(_) => "a dict, dtype or array".into(),
    }
}

/// An opcode as pickletools names it, for the error that refuses it.
fn opcode_name(code: u8) -> String {
    let name = match code {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'L' => "LONG",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'a' => "APPEND",
        b'd' => "DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'i' => "INST",
        b'l' => "LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b']' => "EMPTY_LIST",
        b'G' => "BINFLOAT",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x8b => "LONG4",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "",
    };
    let byte = if code.is_ascii_graphic() {
        format!("0x{code:02x} '{}'", char::from(code))
    } else {
        format!("0x{code:02x}")
    };
    if name.is_empty() {
        format!("{byte} (no pickle opcode)")
    } else {
        format!("{name} ({byte})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights;
    use crate::weights::pickler::{Array, Pickler, Width};
    use proptest::prelude::*;

    /// A 2-3-2 network: every value a multiple of 1/4, exact in float32.
    fn tiny() -> Vec<Array<'static>> {
        let quarters = |n: usize, from: f64| (0..n).map(|i| from + 0.25 * i as f64).collect();
        vec![
            Array {
                name: "W1",
                shape: vec![2, 3],
                values: quarters(6, -0.75),
            },
            Array {
                name: "b1",
                shape: vec![3],
                values: quarters(3, 0.5),
            },
            Array {
                name: "W2",
                shape: vec![3, 2],
                values: quarters(6, 1.0),
            },
            Array {
                name: "b2",
                shape: vec![2],
                values: quarters(2, -2.0),
            },
        ]
    }

    /// What [`tiny`] holds, as a network.
    fn tiny_network() -> Network {
        let arrays = tiny();
        let f32s = |a: &Array<'_>| a.values.iter().map(|&v| v as f32).collect::<Vec<_>>();
        let layer = |w: &Array<'_>, b: &Array<'_>| Layer {
            w: Array2::from_shape_vec((w.shape[0], w.shape[1]), f32s(w)).unwrap(),
            b: Array1::from(f32s(b)),
        };
        Network::new(vec![
            layer(&arrays[0], &arrays[1]),
            layer(&arrays[2], &arrays[3]),
        ])
        .unwrap()
    }

    fn pickle(protocol: u8, width: Width, fortran: bool) -> Vec<u8> {
        Pickler::new(protocol).dict(&tiny(), |_| (width, fortran))
    }

    fn read_bytes(bytes: &[u8]) -> Result<weights::Loaded, WeightsFault> {
        weights::read(std::io::Cursor::new(bytes))
    }

    fn error(bytes: &[u8]) -> String {
        match read_bytes(bytes) {
            Ok(_) => panic!("read as a network"),
            Err(fault) => fault.to_string(),
        }
    }

    #[test]
    fn protocols_2_to_4_in_either_order_and_width_read_the_same_network() {
        for protocol in 2..=4 {
            for width in [Width::F32, Width::F64] {
                for fortran in [false, true] {
                    let what = format!("protocol {protocol}, {width:?}, fortran {fortran}");
                    let loaded = read_bytes(&pickle(protocol, width, fortran)).expect(&what);
                    assert_eq!(loaded.network, tiny_network(), "{what}");
                    let converted: &[&str] = match width {
                        Width::F32 => &[],
                        Width::F64 => &["W1", "b1", "W2", "b2"],
                    };
                    assert_eq!(loaded.from_float64, converted, "{what}");
                }
            }
        }
    }

    #[test]
    fn numpy_2_spells_the_module_numpy_core_with_an_underscore() {
        let mut pickler = Pickler::new(3);
        pickler.numpy_module = "numpy._core.multiarray";
        let bytes = pickler.dict(&tiny(), |_| (Width::F32, false));
        assert_eq!(read_bytes(&bytes).unwrap().network, tiny_network());
    }

    #[test]
    fn a_fortran_order_matrix_is_transposed_into_row_major() {
        let arrays = [
            Array {
                name: "W1",
                shape: vec![2, 3],
                values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            },
            Array {
                name: "b1",
                shape: vec![3],
                values: vec![0.0; 3],
            },
        ];
        let bytes = Pickler::new(3).dict(&arrays, |name| (Width::F32, name == "W1"));
        // Column-major on disk: 1, 4, 2, 5, 3, 6.
        let at = bytes.len() - 12 * 4;
        assert!(
            bytes
                .windows(8)
                .any(|w| w == [0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x40]),
            "{at}"
        );
        let net = read_bytes(&bytes).unwrap().network;
        assert_eq!(
            net.layers()[0].w,
            ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
        );
    }

    #[test]
    fn float64_arrays_are_named_in_the_note_and_mixed_widths_read() {
        let bytes = Pickler::new(4).dict(&tiny(), |name| {
            (
                if name.starts_with('W') {
                    Width::F64
                } else {
                    Width::F32
                },
                false,
            )
        });
        let loaded = read_bytes(&bytes).unwrap();
        assert_eq!(loaded.from_float64, ["W1", "W2"]);
        assert_eq!(
            loaded.note().as_deref(),
            Some("W1 … W2: float64 values converted to float32 (the network computes in float32)")
        );
        assert_eq!(
            read_bytes(&pickle(3, Width::F32, false)).unwrap().note(),
            None
        );
    }

    #[test]
    fn a_float64_beyond_float32s_range_or_a_nan_is_named() {
        let mut arrays = tiny();
        arrays[2].values[4] = 1e300;
        let err = error(&Pickler::new(3).dict(&arrays, |_| (Width::F64, false)));
        assert_eq!(
            err,
            "array W2: holds 1e300 at flat index 4, beyond float32's range"
        );
        arrays[2].values[4] = f64::NAN;
        let err = error(&Pickler::new(3).dict(&arrays, |_| (Width::F32, false)));
        assert_eq!(
            err,
            "array W2 holds a non-finite value (NaN) at flat index 4"
        );
    }

    #[test]
    fn data_shorter_or_longer_than_the_shape_is_refused() {
        for (values, found) in [(5, 20), (7, 28)] {
            let mut arrays = tiny();
            arrays[0].values.resize(values, 0.0);
            let err = error(&Pickler::new(3).dict(&arrays, |_| (Width::F32, false)));
            assert_eq!(
                err,
                format!(
                    "array W1: holds {found} bytes of data; its shape (2, 3) of float32 needs 24"
                )
            );
        }
    }

    #[test]
    fn names_shapes_and_ranks_are_checked_as_for_npz() {
        let mut arrays = tiny();
        arrays[2].shape = vec![2, 3];
        let err = error(&Pickler::new(3).dict(&arrays, |_| (Width::F32, false)));
        assert_eq!(
            err,
            "array W2 has shape (2, 3), expected (3, 3) to follow W1"
        );
        let mut arrays = tiny();
        arrays.pop();
        let err = error(&Pickler::new(3).dict(&arrays, |_| (Width::F32, false)));
        assert_eq!(err, "array b2 is missing");
        let mut arrays = tiny();
        arrays[3].name = "notes";
        arrays[3].shape = vec![2, 1];
        let err = error(&Pickler::new(3).dict(&arrays, |_| (Width::F32, false)));
        assert_eq!(err, "array b2 is missing");
        let mut arrays = tiny();
        arrays[1].shape = vec![3, 1];
        let err = error(&Pickler::new(3).dict(&arrays, |_| (Width::F32, false)));
        assert_eq!(err, "array b1: has 2 dimension(s), expected 1");
        let mut arrays = tiny();
        arrays[3].name = "W1";
        let err = error(&Pickler::new(3).dict(&arrays, |_| (Width::F32, false)));
        assert_eq!(err, "duplicate array W1: the file holds it twice");
    }

    #[test]
    fn a_pickle_refuses_lists_and_every_global_it_was_not_told_of() {
        // {'W1': []}: lists are no arrays.
        let mut p = Pickler::new(3);
        p.op(b"}").memoize().text("W1").op(b"]").op(b"s.");
        assert_eq!(
            error(&p.out),
            "pickle opcode EMPTY_LIST (0x5d ']') at byte 14 is not accepted: the reader runs \
             only the opcodes of a dict of numpy arrays"
        );
        // os.system('…'): what a malicious pickle does, refused before anything is called.
        let mut p = Pickler::new(2);
        p.op(b"cos\nsystem\n")
            .text("echo owned")
            .op(&[0x85, b'R', b'.']);
        let err = error(&p.out);
        assert!(
            err.starts_with("pickle global os.system at byte 2 is not accepted: the reader calls nothing but numpy's"),
            "{err}"
        );
        let mut p = Pickler::new(4);
        p.global("builtins", "eval");
        assert!(error(&p.framed()).starts_with("pickle global builtins.eval at byte 29"));
        // numpy's protocol-5 pickles call _frombuffer: the error says how to avoid it.
        let mut p = Pickler::new(5);
        p.global("numpy._core.numeric", "_frombuffer");
        let err = error(&p.out);
        assert!(
            err.ends_with("save with pickle.dump(…, protocol=4)"),
            "{err}"
        );
        // Python 2's byte strings, and protocols 0, 1 and 6.
        let err = error(b"\x80\x02U\x02W1q\x00.");
        assert!(
            err.starts_with("pickle opcode SHORT_BINSTRING (0x55 'U') at byte 2"),
            "{err}"
        );
        let err = error(b"\x80\x06}.");
        assert_eq!(
            err,
            "not a pickle of weights we read: pickle protocol 6; protocols 2 to 5 are read (at byte 0)"
        );
    }

    #[test]
    fn callables_are_called_only_as_numpy_calls_them() {
        // numpy.ndarray(…) directly, and _reconstruct of something other than an ndarray.
        let mut p = Pickler::new(3);
        p.global("numpy", "ndarray").op(b")R.");
        assert!(error(&p.out).contains("numpy.ndarray is called"));
        let mut p = Pickler::new(3);
        p.global("numpy.core.multiarray", "_reconstruct")
            .op(b"NNN")
            .op(&[0x87])
            .op(b"R.");
        assert!(error(&p.out).contains("_reconstruct is called with other arguments"));
        // A string latin-1 cannot encode.
        let mut p = Pickler::new(2);
        p.global("_codecs", "encode")
            .text("€")
            .text("latin1")
            .op(&[0x86, b'R', b'.']);
        assert!(error(&p.out).contains("latin-1 cannot encode"));
        // An integer called as a function.
        let mut p = Pickler::new(3);
        p.int(1).op(b")R.");
        assert!(error(&p.out).contains("REDUCE calls the integer 1, which is not a function"));
    }

    #[test]
    fn dtypes_other_than_little_endian_floats_are_named() {
        let with_dtype = |width, order: &str, name: &str| {
            let mut bytes = Pickler::new(3).dict(&tiny(), |_| (width, false));
            if name != "f4" {
                // The first dtype name, 'f4', is patched to another of two letters.
                let at = bytes.windows(4).position(|w| w == b"\x00f4q").unwrap();
                bytes[at + 1..at + 3].copy_from_slice(name.as_bytes());
            }
            if order != "<" {
                let at = bytes.windows(2).position(|w| w == b"\x00<").unwrap();
                bytes[at + 1] = order.as_bytes()[0];
            }
            error(&bytes)
        };
        assert_eq!(
            with_dtype(Width::F32, ">", "f4"),
            "array W1: is big-endian; save it as little-endian (numpy's default)"
        );
        assert_eq!(
            with_dtype(Width::F32, "|", "f4"),
            "array W1: has byte order '|', not '<' (little-endian)"
        );
        assert_eq!(
            with_dtype(Width::F32, "<", "i4"),
            "array W1: holds 'i4' values, not float32 or float64"
        );
    }

    #[test]
    fn what_is_not_a_dict_of_filled_arrays_is_named() {
        let mut p = Pickler::new(3);
        p.op(b")").op(b".");
        assert_eq!(
            error(&p.out),
            "not a pickle of weights we read: it holds a tuple of 0 items, not a dict of arrays \
             such as {'W1': …, 'b1': …}"
        );
        let mut p = Pickler::new(3);
        p.op(b"}").int(1).int(2).op(b"s.");
        assert!(error(&p.out).contains("a key that is the integer 1, not a string"));
        let mut p = Pickler::new(3);
        p.int(1).op(b"(").text("W1").int(2).op(b"u.");
        assert!(error(&p.out).contains("SETITEMS on something other than a dict"));
        let mut p = Pickler::new(3);
        p.op(b"}")
            .op(b"(")
            .text("W1")
            .op(b"}")
            .text("b1")
            .op(b"}")
            .op(b"u.");
        assert_eq!(
            error(&p.out),
            "array W1: is a dict, dtype or array, not a numpy array"
        );
        let mut p = Pickler::new(3);
        p.op(b"}")
            .op(b"(")
            .text("W1")
            .global("numpy.core.multiarray", "_reconstruct");
        p.global("numpy", "ndarray")
            .int(0)
            .op(&[0x85])
            .bytes(b"b")
            .op(&[0x87, b'R']);
        p.text("b1").int(0).op(b"u.");
        assert_eq!(
            error(&p.out),
            "array W1: is a numpy array the pickle never fills (no BUILD)"
        );
    }

    #[test]
    fn every_truncation_and_trailing_bytes_are_errors() {
        let full = pickle(4, Width::F32, true);
        for cut in 1..full.len() {
            let err = error(&full[..cut]);
            assert!(
                err.starts_with("not a pickle of weights we read: "),
                "{cut}: {err}"
            );
        }
        let mut longer = full.clone();
        longer.extend(b"\x80\x04.");
        assert!(error(&longer).contains("the pickle ends here, and 3 more bytes follow"));
    }

    #[test]
    fn bombs_are_refused_by_their_limits() {
        // A recursion bomb: a tuple in a tuple in a tuple …
        let mut bomb = vec![PROTO, 2, b')'];
        bomb.extend(std::iter::repeat_n(0x85, 100_000));
        bomb.push(b'.');
        let err = error(&bomb);
        assert!(err.contains("tuples nested 9 deep"), "{err}");
        // A stack bomb and a mark bomb.
        let mut bomb = vec![PROTO, 2];
        bomb.extend(std::iter::repeat_n(b'N', 100_000));
        assert!(error(&bomb).contains("the stack grows past 1024 values"));
        let mut bomb = vec![PROTO, 2];
        bomb.extend(std::iter::repeat_n(b'(', 100_000));
        assert!(error(&bomb).contains("more than 1024 open marks"));
        // A memo index no pickler of a small file could reach, and one never stored.
        let err = error(b"\x80\x02Nr\xff\xff\xff\xff.");
        assert!(err.contains("memo index 4294967295"), "{err}");
        let err = error(b"\x80\x02h\x07.");
        assert!(err.contains("memo entry 7 was never stored"), "{err}");
        // Bytes and a frame claiming far more than the file holds.
        let err = error(b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7fabc.");
        assert!(
            err.contains("needs 9223372036854775807 bytes, and the file has 4 left"),
            "{err}"
        );
        let err = error(b"\x80\x04\x95\x00\x00\x00\x00\x01\x00\x00\x00N.");
        assert!(err.contains("a frame needs 4294967296 bytes"), "{err}");
        // One memoized text encoded again and again: no more bytes than the file holds.
        let mut p = Pickler::new(2);
        p.global("_codecs", "encode")
            .text(&"x".repeat(1000))
            .text("latin1");
        p.op(b"(");
        for _ in 0..10 {
            p.op(&[b'h', 0, b'h', 1, b'h', 2, 0x86, b'R']);
        }
        let err = error(&p.op(b"t.").out.clone());
        assert!(
            err.contains("makes more bytes than the file holds"),
            "{err}"
        );
    }

    #[test]
    fn a_long1_integer_reads_signed_and_a_longer_one_is_refused() {
        let mut p = Pickler::new(3);
        p.op(b"}(").text("W1").op(&[0x8a, 2, 0xff, 0xfe]);
        p.text("b1").int(0).op(b"u.");
        assert!(error(&p.out).contains("W1: is the integer -257, not a numpy array"));
        let mut p = Pickler::new(3);
        p.op(&[0x8a, 9]).op(&[0; 9]).op(b".");
        assert!(error(&p.out).contains("an integer of 9 bytes"));
    }

    #[test]
    fn a_file_larger_than_any_weights_pickle_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.pkl");
        std::fs::write(&path, b"\x80\x03}").unwrap();
        // 10 GB, sparse: reading it whole would take 10 GB of memory.
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_len(10_000_000_000).unwrap();
        let err = weights::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("too large: the file is 10000000000 bytes; weights pickles of at most"),
            "{err}"
        );
    }

    /// A change to a valid pickle's bytes.
    #[derive(Debug, Clone)]
    enum Mutation {
        Flip(usize, u8),
        Insert(usize, u8),
        Delete(usize),
        Truncate(usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), 1u8..).prop_map(|(at, bits)| Mutation::Flip(at, bits)),
            (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
            any::<usize>().prop_map(Mutation::Delete),
            any::<usize>().prop_map(Mutation::Truncate),
        ]
    }

    proptest! {
        #[test]
        fn mutated_pickles_give_a_network_or_a_named_fault(
            protocol in 2u8..=4,
            f64s in any::<bool>(),
            fortran in any::<bool>(),
            mutations in proptest::collection::vec(mutation(), 1..4),
        ) {
            let width = if f64s { Width::F64 } else { Width::F32 };
            let mut bytes = pickle(protocol, width, fortran);
            for m in mutations {
                let len = bytes.len().max(1);
                match m {
                    Mutation::Flip(at, bits) => {
                        if let Some(b) = bytes.get_mut(at % len) {
                            *b ^= bits;
                        }
                    }
                    Mutation::Insert(at, byte) => bytes.insert(at % (bytes.len() + 1), byte),
                    Mutation::Delete(at) => {
                        if !bytes.is_empty() {
                            bytes.remove(at % len);
                        }
                    }
                    Mutation::Truncate(at) => bytes.truncate(at % len),
                }
            }
            match read_bytes(&bytes) {
                Ok(loaded) => {
                    // Whatever it accepted is a network of the pickle's own shape.
                    prop_assert_eq!(loaded.network.sizes()[0], 2);
                }
                Err(fault) => prop_assert!(!fault.to_string().is_empty()),
            }
        }
    }
}
