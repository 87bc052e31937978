//! Loading an object into the runtime: its maps created, its programs bound
//! to them, their context accesses rewritten and their helpers resolved.

use crate::context::{self, CtxAccessError, CtxKind};
use crate::env::Shared;
use crate::helper_names::helper_name;
use crate::helpers;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;
use thiserror::Error;
use waggle_analysis::cfg::Cfg;
use waggle_isa::{decode_slots, CallTarget, DecodeError, Insn, LdImm64, RawInsn};
use waggle_jit::{JitError, JitOptions, JitProgram};
use waggle_maps::{
    map_address, ArrayOfMaps, HashOfMaps, Map, MapError, MapFlags, MapOptions, MapSpec, MapType,
    ProgArray,
};
use waggle_object::{MapDef, Object, ObjectError, ProgramType};
use waggle_vm::{HelperRegistry, PrepareError, Program, Region};

/// Why an object cannot be loaded into the runtime.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoadError {
    #[error(transparent)]
    Object(#[from] ObjectError),
    #[error("{object}: cannot read: {reason}")]
    Read { object: String, reason: String },
    #[error("{object}: map `{map}`: unsupported map type {map_type}")]
    UnsupportedMapType {
        object: String,
        map: String,
        map_type: u32,
    },
    #[error("{object}: map `{map}`: {reason}")]
    Map {
        object: String,
        map: String,
        reason: MapError,
    },
    #[error("{object}: program `{program}`: {reason}")]
    Program {
        object: String,
        program: String,
        reason: ProgramError,
    },
}

/// Why one program cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProgramError {
    #[error("instruction {pc}: calls helper {name} ({id}), which Waggle does not provide")]
    UnknownHelper { pc: usize, id: i32, name: String },
    #[error("instruction {pc}: a CO-RE relocation found no match in Waggle's types (the loader poisoned this instruction, as libbpf does); the program reads a kernel type Waggle does not provide")]
    PoisonedCoRe { pc: usize },
    #[error("instruction {pc}: references map index {index}, but the object has {count} maps")]
    BadMapIndex { pc: usize, index: i32, count: usize },
    #[error("instruction {pc}: direct value access into map `{map}`, which is not a global-data or array map")]
    NoDirectValue { pc: usize, map: String },
    #[error(transparent)]
    Context(#[from] CtxAccessError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Prepare(#[from] PrepareError),
}

/// How the runtime creates maps.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Per-CPU slots of per-CPU maps; running threads pick theirs.
    pub cpus: u32,
    /// Compile programs for the JIT with constant blinding, as Linux does
    /// with `bpf_jit_harden` (see `waggle_jit::JitOptions`): for programs
    /// from untrusted sources. Off by default.
    pub blind_constants: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            blind_constants: false,
        }
    }
}

/// A program ready to run.
pub struct LoadedProgram {
    pub name: String,
    pub section: String,
    pub prog_type: ProgramType,
    pub ctx: CtxKind,
    /// The instructions as executed: map references bound to addresses,
    /// context accesses rewritten.
    pub insns: Vec<RawInsn>,
    /// The instructions as the object has them (after linking), for display.
    pub object_insns: Vec<RawInsn>,
    pub(crate) program: Arc<Program>,
    /// The program compiled by the JIT, on its first JIT run (or
    /// [`LoadedProgram::jit`]); a failure is kept too, so it is not retried.
    pub(crate) jit: OnceLock<Result<JitProgram, JitError>>,
    /// The object's maps, for map helper calls the JIT compiles without
    /// the helper.
    jit_maps: Arc<helpers::JitMaps>,
    /// [`LoadOptions::blind_constants`].
    blind_constants: bool,
}

impl LoadedProgram {
    /// The program compiled to native code, compiling it on the first call
    /// (later calls, and JIT runs, reuse it). Compiling is safe; running the
    /// result is not (see [`LoadedObject::run_packet_with`]).
    ///
    /// Map helper calls on the object's maps are compiled without the
    /// helper where the map type allows (array lookups inlined, other
    /// operations called directly; see [`JitProgram::map_call_sites`]).
    pub fn jit(&self) -> Result<&JitProgram, JitError> {
        self.jit
            .get_or_init(|| {
                let decoded = decode_slots(&self.insns).map_err(PrepareError::from)?;
                let registry = self.program.registry().clone();
                let maps = |addr| self.jit_maps.access(addr);
                let opts = JitOptions {
                    maps: Some(&maps),
                    blind_constants: self.blind_constants,
                    // The runtime runs the JIT only for verified programs
                    // (the contract of `run_packet_with`).
                    verified: true,
                };
                JitProgram::compile(&decoded, registry, &opts)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// How long the JIT took to compile the program, once it has (`None`
    /// before the first JIT run or [`LoadedProgram::jit`] call, and when
    /// compilation failed).
    pub fn jit_compile_time(&self) -> Option<Duration> {
        match self.jit.get() {
            Some(Ok(jit)) => Some(jit.compile_time()),
            _ => None,
        }
    }
}

/// An object loaded into the runtime.
pub struct LoadedObject {
    pub object: Object,
    pub(crate) maps: Vec<Arc<dyn Map>>,
    pub(crate) programs: Vec<LoadedProgram>,
    pub(crate) shared: Arc<Shared>,
    /// Value memory of global-data maps, which programs reach without a
    /// lookup: granted to every checked run.
    pub(crate) static_regions: Vec<Region>,
    pub(crate) cpus: u32,
}

fn spec_of(object: &str, def: &MapDef) -> Result<MapSpec, LoadError> {
    let map_type =
        MapType::from_u32(def.map_type).ok_or_else(|| LoadError::UnsupportedMapType {
            object: object.to_string(),
            map: def.name.clone(),
            map_type: def.map_type,
        })?;
    Ok(MapSpec {
        name: def.name.clone(),
        map_type,
        key_size: def.key_size,
        value_size: def.value_size,
        max_entries: def.max_entries,
        flags: def.flags,
        map_extra: def.map_extra,
        spin_lock_offset: def.spin_lock_offset,
        inner: match &def.inner {
            Some(inner) => Some(Box::new(spec_of(object, inner)?)),
            None => None,
        },
    })
}

impl LoadedObject {
    /// Reads and loads the object file at `path`.
    pub fn from_file(
        path: &std::path::Path,
        opts: &LoadOptions,
    ) -> Result<LoadedObject, LoadError> {
        let name = path.display().to_string();
        let data = std::fs::read(path).map_err(|e| LoadError::Read {
            object: name.clone(),
            reason: e.to_string(),
        })?;
        LoadedObject::load(Object::parse(&name, &data)?, opts)
    }

    /// Creates `object`'s maps and prepares its programs.
    pub fn load(object: Object, opts: &LoadOptions) -> Result<LoadedObject, LoadError> {
        let obj_name = object.name.clone();
        let map_err = |map: &str, reason: MapError| LoadError::Map {
            object: obj_name.clone(),
            map: map.to_string(),
            reason,
        };
        let map_opts = MapOptions { cpus: opts.cpus };

        let mut maps = Vec::with_capacity(object.maps.len());
        let mut static_regions = Vec::new();
        for def in &object.maps {
            let spec = spec_of(&obj_name, def)?;
            let map = waggle_maps::create(&spec, map_opts).map_err(|e| map_err(&def.name, e))?;
            let key = 0u32.to_le_bytes();
            if let Some(data) = &def.data {
                map.update_all(&key, &data.bytes, waggle_maps::BPF_ANY)
                    .map_err(|e| map_err(&def.name, e))?;
            }
            // Programs reach the value of a one-element array without a
            // lookup (`BPF_PSEUDO_MAP_VALUE`, as Linux's
            // `array_map_direct_value_addr` allows): global data, and any
            // such map a program addresses directly.
            if def.data.is_some() || (spec.map_type == MapType::Array && spec.max_entries == 1) {
                let value = map
                    .lookup_ptr(&key, 0)
                    .ok_or_else(|| map_err(&def.name, MapError::NotFound))?;
                let read_only = def.data.as_ref().is_some_and(|d| d.read_only)
                    || spec.flags & MapFlags::RDONLY_PROG != 0;
                static_regions.push(Region::new(
                    value.as_ptr() as u64,
                    def.value_size as u64,
                    !read_only,
                ));
            }
            maps.push(map);
        }
        let shared = Arc::new(Shared {
            maps: RwLock::new(maps.iter().map(|m| (map_address(m), m.clone())).collect()),
            programs: RwLock::new(Vec::new()),
        });

        let registry = Arc::new(helpers::registry());
        let jit_maps = Arc::new(helpers::JitMaps::new(&maps, opts.cpus));
        let mut programs = Vec::with_capacity(object.programs.len());
        for def in &object.programs {
            let prog_err = |reason: ProgramError| LoadError::Program {
                object: obj_name.clone(),
                program: def.name.clone(),
                reason,
            };
            let ctx = CtxKind::of(def.prog_type);
            let insns =
                prepare_insns(&object, &maps, &def.insns, ctx, &registry).map_err(prog_err)?;
            let decoded = decode_slots(&insns).map_err(|e| prog_err(e.into()))?;
            let program =
                Program::new(&decoded, registry.clone()).map_err(|e| prog_err(e.into()))?;
            programs.push(LoadedProgram {
                name: def.name.clone(),
                section: def.section.clone(),
                prog_type: def.prog_type,
                ctx,
                insns,
                object_insns: def.insns.clone(),
                program: Arc::new(program),
                jit: OnceLock::new(),
                jit_maps: jit_maps.clone(),
                blind_constants: opts.blind_constants,
            });
        }
        *shared.programs.write().expect("program table lock") =
            programs.iter().map(|p| p.program.clone()).collect();

        let loaded = LoadedObject {
            object,
            maps,
            programs,
            shared,
            static_regions,
            cpus: opts.cpus,
        };
        loaded.fill_initial_slots()?;
        Ok(loaded)
    }

    /// Static `.values` initialisation of prog arrays and map-in-map types.
    fn fill_initial_slots(&self) -> Result<(), LoadError> {
        for (def, map) in self.object.maps.iter().zip(&self.maps) {
            for (index, target) in &def.initial_slots {
                let key = index.to_le_bytes();
                let fail = |reason: MapError| LoadError::Map {
                    object: self.object.name.clone(),
                    map: def.name.clone(),
                    reason,
                };
                if map.as_any().is::<ProgArray>() {
                    let id = self
                        .programs
                        .iter()
                        .position(|p| &p.name == target)
                        .ok_or_else(|| {
                            fail(MapError::Invalid(format!(
                                "no program `{target}` for slot {index}"
                            )))
                        })?;
                    map.update_all(&key, &(id as u32).to_le_bytes(), waggle_maps::BPF_ANY)
                        .map_err(fail)?;
                } else {
                    let inner = self
                        .map(target)
                        .ok_or_else(|| {
                            fail(MapError::Invalid(format!(
                                "no map `{target}` for slot {index}"
                            )))
                        })?
                        .clone();
                    self.set_inner_map(&def.name, &key, inner).map_err(fail)?;
                }
            }
        }
        Ok(())
    }

    /// Stores `inner` in map-in-map `outer` at `key`, making it reachable to
    /// programs.
    pub fn set_inner_map(
        &self,
        outer: &str,
        key: &[u8],
        inner: Arc<dyn Map>,
    ) -> Result<(), MapError> {
        let map = self
            .map(outer)
            .ok_or_else(|| MapError::Invalid(format!("no map `{outer}`")))?;
        let any = map.as_any();
        if let Some(m) = any.downcast_ref::<ArrayOfMaps>() {
            m.set_inner(key, inner.clone())?;
        } else if let Some(m) = any.downcast_ref::<HashOfMaps>() {
            m.set_inner(key, inner.clone())?;
        } else {
            return Err(MapError::Invalid(format!(
                "map `{outer}` is not a map-in-map type"
            )));
        }
        self.shared
            .maps
            .write()
            .expect("map table lock")
            .insert(map_address(&inner), inner);
        Ok(())
    }

    pub fn programs(&self) -> &[LoadedProgram] {
        &self.programs
    }

    pub fn program(&self, name: &str) -> Option<&LoadedProgram> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// Maps with their names, in the object's order.
    pub fn maps(&self) -> impl Iterator<Item = (&str, &Arc<dyn Map>)> {
        self.object
            .maps
            .iter()
            .map(|d| d.name.as_str())
            .zip(self.maps.iter())
    }

    pub fn map(&self, name: &str) -> Option<&Arc<dyn Map>> {
        self.maps().find(|(n, _)| *n == name).map(|(_, m)| m)
    }

    /// Per-CPU slots of this object's per-CPU maps.
    pub fn cpus(&self) -> u32 {
        self.cpus
    }
}

/// Binds map references to addresses, checks helpers, rewrites context
/// accesses.
fn prepare_insns(
    object: &Object,
    maps: &[Arc<dyn Map>],
    linked: &[RawInsn],
    ctx: CtxKind,
    registry: &HelperRegistry,
) -> Result<Vec<RawInsn>, ProgramError> {
    let decoded = decode_slots(linked)?;
    let mut insns = linked.to_vec();
    let map_at = |pc: usize, index: i32| {
        usize::try_from(index)
            .ok()
            .and_then(|i| maps.get(i).map(|m| (i, m)))
            .ok_or(ProgramError::BadMapIndex {
                pc,
                index,
                count: maps.len(),
            })
    };
    let mut value_bases: HashMap<usize, u64> = HashMap::new();
    for &(pc, insn) in &decoded {
        match insn {
            Insn::LdImm64 { dst, value } => {
                let addr = match value {
                    LdImm64::MapIdx(index) => map_address(map_at(pc, index)?.1),
                    LdImm64::MapIdxValue { map_idx, offset } => {
                        let (i, map) = map_at(pc, map_idx)?;
                        let base = match value_bases.get(&i) {
                            Some(&b) => b,
                            None => {
                                let is_array = map.spec().map_type == MapType::Array;
                                let ptr = is_array
                                    .then(|| map.lookup_ptr(&0u32.to_le_bytes(), 0))
                                    .flatten()
                                    .ok_or_else(|| ProgramError::NoDirectValue {
                                        pc,
                                        map: object.maps[i].name.clone(),
                                    })?;
                                value_bases.insert(i, ptr.as_ptr() as u64);
                                ptr.as_ptr() as u64
                            }
                        };
                        base + offset as u64
                    }
                    _ => continue,
                };
                let bound = Insn::LdImm64 {
                    dst,
                    value: LdImm64::Imm(addr),
                }
                .encode();
                insns[pc] = bound[0];
                insns[pc + 1] = bound[1];
            }
            Insn::Call(CallTarget::Helper(id)) => {
                let known = u32::try_from(id)
                    .ok()
                    .and_then(|id| registry.get(id))
                    .is_some();
                if id == waggle_btf::core::POISON_HELPER_ID {
                    return Err(ProgramError::PoisonedCoRe { pc });
                }
                if !known {
                    let name = u32::try_from(id)
                        .ok()
                        .and_then(helper_name)
                        .unwrap_or("(not a Linux helper)");
                    return Err(ProgramError::UnknownHelper {
                        pc,
                        id,
                        name: name.to_string(),
                    });
                }
            }
            _ => {}
        }
    }
    context::rewrite(ctx, &Cfg::new(&decoded), &mut insns)?;
    Ok(insns)
}
