//! Backends of `waggle run`, and the differential mode that runs the same
//! input through each and reports any difference: Waggle's checked
//! interpreter, Waggle's JIT (for programs the verifier accepted) and the
//! Linux kernel.
//!
//! Every backend produces the same [`Observation`] of a run: return value,
//! output packet, and, at the end, map contents and ring buffer records, so
//! they compare field by field.

use crate::failure::Failure;
use std::collections::BTreeMap;
use waggle_kernel::{KernelObject, TestRun};
use waggle_maps::{MapType, RingBuf};
use waggle_runtime::{Engine as RuntimeEngine, LoadedObject, RunConfig};

/// Which engine runs the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Waggle's interpreter, checked.
    Interp,
    /// Waggle's JIT (the program must pass the verifier).
    Jit,
    /// The Linux kernel, through BPF_PROG_TEST_RUN (root or CAP_BPF).
    Kernel,
    /// Every available backend, compared.
    All,
}

/// What one run of one packet shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub retval: u64,
    pub packet: Option<Vec<u8>>,
}

/// Map contents and events after the runs, normalised so backends compare:
/// per-CPU values are summed over CPUs as 64-bit words (the backends have
/// different CPU counts), maps holding program or map references and event
/// channels are left out.
pub type MapState = BTreeMap<String, BTreeMap<Vec<u8>, Vec<u8>>>;

fn comparable(ty: MapType) -> bool {
    !matches!(
        ty,
        MapType::ProgArray
            | MapType::PerfEventArray
            | MapType::RingBuf
            | MapType::ArrayOfMaps
            | MapType::HashOfMaps
            | MapType::Queue
            | MapType::Stack
            | MapType::BloomFilter
    )
}

/// Sums per-CPU values (each `stride` bytes) word by word.
fn fold_percpu(value: &[u8], value_size: usize) -> Vec<u8> {
    let stride = value_size.div_ceil(8) * 8;
    let mut sum = vec![0u64; stride / 8];
    for cpu in value.chunks(stride) {
        for (i, w) in cpu.chunks(8).enumerate() {
            let mut b = [0u8; 8];
            b[..w.len()].copy_from_slice(w);
            sum[i] = sum[i].wrapping_add(u64::from_le_bytes(b));
        }
    }
    let mut out: Vec<u8> = sum.iter().flat_map(|w| w.to_le_bytes()).collect();
    out.truncate(value_size.max(1).div_ceil(8) * 8);
    out
}

/// One backend, loaded and ready.
pub enum Engine {
    /// Waggle's runtime, with one of its engines (the checked interpreter,
    /// or the JIT for a verified program): each backend has its own copy
    /// of the object, so maps do not mix.
    Waggle(Box<LoadedObject>, RuntimeEngine),
    Kernel(Box<KernelObject>),
}

impl Engine {
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Waggle(_, engine) => engine.name(),
            Engine::Kernel(_) => "kernel",
        }
    }

    /// Runs `prog` (by name) on one packet.
    pub fn run(&self, prog: &str, packet: &[u8], cfg: &RunConfig) -> Result<Observation, Failure> {
        match self {
            Engine::Waggle(obj, engine) => {
                let p = obj
                    .program(prog)
                    .ok_or_else(|| Failure::BadInput(format!("no program `{prog}`")))?;
                // SAFETY: `engines` gives the JIT only for a program the
                // verifier accepted; the interpreter is checked.
                let r = unsafe { obj.run_packet_with(p, packet, cfg, *engine) }
                    .map_err(|e| Failure::Program(e.to_string()))?;
                Ok(Observation {
                    retval: r.retval,
                    packet: r.packet,
                })
            }
            Engine::Kernel(obj) => {
                let p = obj.program(prog).ok_or_else(|| {
                    Failure::BadInput(format!("no program `{prog}` in the kernel object"))
                })?;
                let r = obj
                    .test_run(
                        p,
                        &TestRun {
                            data_in: packet,
                            ctx_in: None,
                            repeat: cfg.repeat.max(1),
                            data_out_capacity: packet.len() + 4096,
                        },
                    )
                    .map_err(|e| Failure::Program(format!("kernel: {e}")))?;
                Ok(Observation {
                    retval: r.retval as u64,
                    packet: Some(r.data_out),
                })
            }
        }
    }

    /// Map contents, normalised (see [`MapState`]), and ring buffer records.
    pub fn state(&self, defs: &LoadedObject) -> Result<(MapState, Vec<Vec<u8>>), Failure> {
        let mut maps = MapState::new();
        let mut events = Vec::new();
        for (name, map) in defs.maps() {
            let spec = map.spec();
            if spec.map_type == MapType::RingBuf {
                events.extend(match self {
                    Engine::Waggle(obj, _) => obj
                        .map(name)
                        .and_then(|m| m.as_any().downcast_ref::<RingBuf>().map(|r| r.drain()))
                        .unwrap_or_default(),
                    Engine::Kernel(obj) => obj
                        .ringbuf_drain(name)
                        .map_err(|e| Failure::Program(format!("kernel: {e}")))?,
                });
                continue;
            }
            if !comparable(spec.map_type) {
                continue;
            }
            let entries: Vec<(Vec<u8>, Vec<u8>)> = match self {
                Engine::Waggle(obj, _) => {
                    let m = obj.map(name).expect("same object");
                    let mut out = Vec::new();
                    let mut key: Option<Vec<u8>> = None;
                    while let Ok(next) = m.next_key(key.as_deref()) {
                        if let Ok(v) = m.lookup(&next) {
                            out.push((next.clone(), v));
                        }
                        key = Some(next);
                    }
                    out
                }
                Engine::Kernel(obj) => obj
                    .map_entries(name)
                    .map_err(|e| Failure::Program(format!("kernel: map `{name}`: {e}")))?,
            };
            let per_cpu = spec.map_type.is_per_cpu();
            maps.insert(
                name.to_string(),
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let v = if per_cpu {
                            fold_percpu(&v, spec.value_size as usize)
                        } else {
                            v
                        };
                        (k, v)
                    })
                    .collect(),
            );
        }
        Ok((maps, events))
    }
}

/// Loads the object into each backend `backend` selects. `verified` is
/// whether the verifier accepted the program to run (`Err`: why it did
/// not, or why it was not asked): the JIT needs it. For `All`, the JIT and
/// the kernel join only where they can (the reasons are returned when not).
pub fn engines(
    file: &std::path::Path,
    backend: Backend,
    verified: Result<(), String>,
    load: &waggle_runtime::LoadOptions,
) -> Result<(Vec<Engine>, Option<String>), Failure> {
    let data = std::fs::read(file)
        .map_err(|e| Failure::BadInput(format!("cannot read {}: {e}", file.display())))?;
    let name = file.display().to_string();
    let waggle = |engine: RuntimeEngine| -> Result<Engine, Failure> {
        let obj = waggle_runtime::Object::parse(&name, &data).map_err(Failure::bad_input)?;
        let loaded = LoadedObject::load(obj, load).map_err(Failure::bad_input)?;
        Ok(Engine::Waggle(Box::new(loaded), engine))
    };
    let interp = || waggle(RuntimeEngine::Interp);
    let jit = || -> Result<Engine, Failure> {
        verified.clone().map_err(|why| {
            Failure::BadInput(format!("the JIT runs verified programs only: {why}"))
        })?;
        waggle(RuntimeEngine::Jit)
    };
    let kernel = || -> Result<Engine, Failure> {
        waggle_kernel::availability()
            .map_err(|why| Failure::BadInput(format!("kernel backend unavailable: {why}")))?;
        let obj = KernelObject::load(&name, &data).map_err(Failure::bad_input)?;
        Ok(Engine::Kernel(Box::new(obj)))
    };
    match backend {
        Backend::Interp => Ok((vec![interp()?], None)),
        Backend::Jit => Ok((vec![jit()?], None)),
        Backend::Kernel => Ok((vec![kernel()?], None)),
        Backend::All => {
            let mut out = vec![interp()?];
            let mut skipped = Vec::new();
            match &verified {
                Ok(()) => out.push(jit()?),
                Err(why) => skipped.push(format!("jit: {why}")),
            }
            match waggle_kernel::availability() {
                Ok(()) => out.push(kernel()?),
                Err(why) => skipped.push(format!("kernel: {why}")),
            }
            Ok((out, (!skipped.is_empty()).then(|| skipped.join("; "))))
        }
    }
}

/// A difference between two backends.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Difference {
    pub what: String,
    pub backends: [String; 2],
    pub values: [String; 2],
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Compares each backend's observation of one packet with the first's.
pub fn compare_runs(label: &str, engines: &[Engine], obs: &[Observation]) -> Vec<Difference> {
    let mut diffs = Vec::new();
    for (e, o) in engines.iter().zip(obs).skip(1) {
        let base = &obs[0];
        let names = [engines[0].name().to_string(), e.name().to_string()];
        if o.retval != base.retval {
            diffs.push(Difference {
                what: format!("{label}: return value"),
                backends: names.clone(),
                values: [base.retval.to_string(), o.retval.to_string()],
            });
        }
        if o.packet != base.packet {
            diffs.push(Difference {
                what: format!("{label}: output packet"),
                backends: names,
                values: [
                    base.packet.as_deref().map(hex).unwrap_or_default(),
                    o.packet.as_deref().map(hex).unwrap_or_default(),
                ],
            });
        }
    }
    diffs
}

/// Compares map contents and events after the runs.
pub fn compare_state(engines: &[Engine], defs: &LoadedObject) -> Result<Vec<Difference>, Failure> {
    let states: Vec<(MapState, Vec<Vec<u8>>)> = engines
        .iter()
        .map(|e| e.state(defs))
        .collect::<Result<_, _>>()?;
    let mut diffs = Vec::new();
    for (i, (maps, events)) in states.iter().enumerate().skip(1) {
        let names = [engines[0].name().to_string(), engines[i].name().to_string()];
        let (base_maps, base_events) = &states[0];
        for (name, entries) in base_maps {
            let other = maps.get(name).cloned().unwrap_or_default();
            let keys: std::collections::BTreeSet<&Vec<u8>> =
                entries.keys().chain(other.keys()).collect();
            for k in keys {
                let (a, b) = (entries.get(k), other.get(k));
                if a != b {
                    diffs.push(Difference {
                        what: format!("map `{name}` key {}", hex(k)),
                        backends: names.clone(),
                        values: [
                            a.map(|v| hex(v)).unwrap_or_else(|| "(absent)".into()),
                            b.map(|v| hex(v)).unwrap_or_else(|| "(absent)".into()),
                        ],
                    });
                }
            }
        }
        if events != base_events {
            diffs.push(Difference {
                what: "ring buffer records".into(),
                backends: names,
                values: [
                    base_events
                        .iter()
                        .map(|e| hex(e))
                        .collect::<Vec<_>>()
                        .join(" | "),
                    events
                        .iter()
                        .map(|e| hex(e))
                        .collect::<Vec<_>>()
                        .join(" | "),
                ],
            });
        }
    }
    Ok(diffs)
}
