//! The corpus format (`tests/corpus/*.s`), shared by the corpus test and
//! the kernel agreement test: small programs in uBPF assembly, each saying
//! in its header whether the verifier must accept it or reject it (with a
//! substring of the message), its program type and its maps:
//!
//! ```text
//! # expect: reject may be NULL
//! # type: xdp                       (xdp | tc | socket | raw)
//! # maps: counts:hash:4:8:16 .rodata:array:4:16:1:rdonly
//! # max_insns: 10000               (optional complexity limit)
//! ```
//!
//! Maps are `name:type:key_size:value_size:max_entries[:rdonly|:wronly]`,
//! numbered from 0 in the order given (`lddw %r1, map_idx 0`). Maps of maps
//! get a one-element array of 4-byte values as their inner-map template.
//!
//! Program types: `xdp` is `BPF_PROG_TYPE_XDP`, `tc` `BPF_PROG_TYPE_SCHED_CLS`,
//! `socket` `BPF_PROG_TYPE_SOCKET_FILTER`, and `raw` `BPF_PROG_TYPE_KPROBE`:
//! a program whose context is the kernel's `struct pt_regs` (read-only) and
//! which may call the tracing helpers. The kernel agreement test loads each
//! program as exactly that type.

#![allow(dead_code)]

pub mod trace;

use std::path::Path;
use waggle_isa::{assemble, encode_program, RawInsn, Syntax};
use waggle_object::{MapDef, ProgramDef, ProgramType};
use waggle_verifier::VerifyOptions;

pub enum Expect {
    Accept,
    Reject(String),
}

pub struct Case {
    pub expect: Expect,
    pub prog: ProgramDef,
    pub maps: Vec<MapDef>,
    pub opts: VerifyOptions,
}

fn map_type(name: &str) -> u32 {
    match name {
        "hash" => 1,
        "array" => 2,
        "prog_array" => 3,
        "perf_event_array" => 4,
        "percpu_hash" => 5,
        "percpu_array" => 6,
        "lru_hash" => 9,
        "lpm_trie" => 11,
        "array_of_maps" => 12,
        "hash_of_maps" => 13,
        "devmap" => 14,
        "queue" => 22,
        "stack" => 23,
        "ringbuf" => 27,
        n => n
            .parse()
            .unwrap_or_else(|_| panic!("unknown map type `{n}`")),
    }
}

fn map(spec: &str) -> MapDef {
    let f: Vec<&str> = spec.split(':').collect();
    assert!(
        f.len() >= 5,
        "map `{spec}`: name:type:key:value:max[:flags]"
    );
    let num = |s: &str| {
        s.parse::<u32>()
            .unwrap_or_else(|_| panic!("map `{spec}`: bad number `{s}`"))
    };
    let flags = match f.get(5) {
        None => 0,
        Some(&"rdonly") => 1 << 7,
        Some(&"wronly") => 1 << 8,
        Some(x) => panic!("map `{spec}`: unknown flag `{x}`"),
    };
    let map_type = map_type(f[1]);
    // Maps of maps hold maps like a template: a one-element u32 array.
    let inner =
        matches!(map_type, 12 | 13).then(|| Box::new(map(&format!("{}.inner:array:4:4:1", f[0]))));
    MapDef {
        flags,
        inner,
        ..MapDef::with_sizes(f[0], map_type, num(f[2]), num(f[3]), num(f[4]))
    }
}

pub fn parse(path: &Path) -> Result<Case, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    parse_text(&name, &text)
}

/// A case in the corpus format given as text, named `name`.
pub fn parse_text(name: &str, text: &str) -> Result<Case, String> {
    let mut expect = None;
    let mut prog_type = None;
    let mut maps = vec![];
    let mut opts = VerifyOptions::default();
    for line in text.lines() {
        let Some(h) = line.trim().strip_prefix('#') else {
            continue;
        };
        let h = h.trim();
        if let Some(e) = h.strip_prefix("expect:") {
            let e = e.trim();
            expect = Some(if e == "accept" {
                Expect::Accept
            } else if let Some(m) = e.strip_prefix("reject") {
                Expect::Reject(m.trim().to_string())
            } else {
                return Err(format!("bad expect `{e}`"));
            });
        } else if let Some(t) = h.strip_prefix("type:") {
            prog_type = Some(match t.trim() {
                "xdp" => ProgramType::Xdp,
                "tc" => ProgramType::SchedCls,
                "socket" => ProgramType::SocketFilter,
                "raw" => ProgramType::Kprobe,
                t => return Err(format!("bad type `{t}`")),
            });
        } else if let Some(m) = h.strip_prefix("maps:") {
            maps.extend(m.split_whitespace().map(map));
        } else if let Some(n) = h.strip_prefix("max_insns:") {
            opts.max_insns = n.trim().parse().map_err(|_| "bad max_insns".to_string())?;
        }
    }
    let insns = assemble(text, Syntax::Ubpf).map_err(|e| format!("assembly: {e}"))?;
    let slots = RawInsn::slice_from_bytes(&encode_program(&insns)).expect("whole slots");
    let prog_type = prog_type.ok_or("no `# type:` header")?;
    Ok(Case {
        expect: expect.ok_or("no `# expect:` header")?,
        prog: ProgramDef {
            name: name.to_string(),
            section: prog_type.name().to_string(),
            prog_type,
            insns: slots,
            lines: vec![],
            func_info: vec![],
            line_info: vec![],
        },
        maps,
        opts,
    })
}

/// The corpus files, sorted by name.
pub fn files() -> Vec<std::path::PathBuf> {
    // Through the crates directory, so that other crates' tests that
    // include this module find the same corpus.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../waggle-verifier/tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "s"))
        .collect();
    files.sort();
    files
}
