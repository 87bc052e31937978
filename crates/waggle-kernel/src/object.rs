//! [`KernelObject`]: an object file's BTF, maps and programs loaded into the
//! running kernel.

use crate::maps::{self, KernelMap, MapBtf};
use crate::programs::{self, LoadSpec};
use crate::run::{self, TestRun, TestRunResult};
use crate::{btf, ringbuf, sys, vmlinux, KernelError, MapEntries};
use std::os::fd::{AsRawFd, OwnedFd};
use waggle_object::{CoreTarget, Object, ProgramType};

/// A program of a [`KernelObject`], loaded and verified.
#[derive(Debug)]
pub struct KernelProgram {
    /// The function name (`xdp_lb`).
    pub name: String,
    /// The ELF section it came from (`xdp`, `tc`).
    pub section: String,
    /// The program type, from the section name.
    pub prog_type: ProgramType,
    /// The program's file descriptor; owned by the object, valid while it lives.
    pub fd: i32,
    /// The verifier's level-1 log of the load.
    pub verifier_log: String,
    owned: OwnedFd,
}

/// An object file loaded into the kernel: its BTF, maps and programs. Owns
/// their file descriptors and closes them on drop (the kernel frees the
/// objects when nothing else holds them).
#[derive(Debug)]
pub struct KernelObject {
    object: Object,
    maps: Vec<KernelMap>,
    programs: Vec<KernelProgram>,
    /// Keeps the BTF alive (the kernel holds its own references too).
    _btf: Option<OwnedFd>,
    cpus: usize,
    notes: Vec<String>,
}

impl KernelObject {
    /// Loads an object file into the kernel.
    ///
    /// The object is parsed and linked by `waggle_object`, with CO-RE
    /// relocations resolved against the running kernel's BTF
    /// (`/sys/kernel/btf/vmlinux`). Then, in order:
    ///
    /// 1. its BTF is uploaded (`BPF_BTF_LOAD`; DATASEC offsets as
    ///    `waggle_object` fixed them, variables sorted by offset; sanitized
    ///    as libbpf does only if the kernel rejects it, dropped if it rejects
    ///    that too; see [`KernelObject::notes`]);
    /// 2. its maps are created (`BPF_MAP_CREATE` with the kernel names of
    ///    [`KernelObject::map_kernel_name`], flags, BTF key/value type ids
    ///    when BTF was loaded, the inner map template for map-in-map);
    ///    global-data maps get their initial contents and `.rodata` maps are
    ///    frozen (`BPF_MAP_FREEZE`);
    /// 3. its programs are loaded (`BPF_PROG_LOAD` with the license, the
    ///    program type, the expected attach type, flags and, for tracing
    ///    sections, the vmlinux attach target the section name implies;
    ///    BTF func_info and line_info from `.BTF.ext` when the BTF is loaded,
    ///    left out, with a note, if the kernel refuses them; map references
    ///    bound to map fds), each with its level-1 verifier log; a rejection
    ///    is [`KernelError::Verifier`] with the whole log;
    /// 4. static prog-array and map-in-map slots (`.values = { ... }`) are
    ///    filled.
    ///
    /// `name` names the object in errors and gives global-data maps their
    /// kernel name prefix (as libbpf: the file name up to its first `.`).
    /// Pinning is ignored: every map is private to this object.
    pub fn load(name: &str, data: &[u8]) -> Result<KernelObject, KernelError> {
        let vmlinux = vmlinux()?;
        let object = Object::parse_for(name, data, CoreTarget::Btf(vmlinux))?;
        let mut notes = Vec::new();

        let btf_fd = match &object.btf {
            Some(b) => btf::upload(b, &mut notes)?,
            None => None,
        };
        let map_btf = match (&btf_fd, &object.btf) {
            (Some(fd), Some(btf)) => Some(MapBtf { fd, btf }),
            _ => None,
        };
        let maps = maps::create_all(&object, map_btf.as_ref(), &mut notes)?;

        let mut programs = Vec::with_capacity(object.programs.len());
        for def in &object.programs {
            let info = programs::attach_info(&def.section)?;
            let attach_btf_id = programs::attach_btf_id(&def.name, &info, vmlinux)?;
            let insns = programs::bind_maps(&def.name, &def.insns, &maps)?;
            let (funcs, lines) = programs::ext_records(def);
            let mut spec = LoadSpec {
                name: &def.name,
                prog_type: def.prog_type as u32,
                insns: &insns,
                license: &object.license,
                kern_version: object.kernel_version.unwrap_or(0),
                expected_attach_type: info.expected_attach_type,
                flags: info.flags,
                attach_btf_id,
                ext: btf_fd.as_ref().map(|fd| programs::ExtInfo {
                    btf_fd: fd.as_raw_fd(),
                    funcs: &funcs,
                    lines: &lines,
                }),
                log_level: 1,
            };
            let (owned, verifier_log) = match programs::load(&spec) {
                // As loaded by libbpf, with func and line info; if the
                // kernel refuses those, the program may still load without.
                Err(first @ KernelError::Verifier { .. }) if spec.ext.is_some() => {
                    spec.ext = None;
                    let Ok(loaded) = programs::load(&spec) else {
                        // Rejected either way: the log with source lines.
                        return Err(first);
                    };
                    if let KernelError::Verifier { errno, log, .. } = &first {
                        let last = log.lines().rev().find(|l| !l.starts_with("processed"));
                        notes.push(format!(
                            "program `{}`: loaded without BTF func/line info (with it: {}: {})",
                            def.name,
                            sys::errno_message(*errno),
                            last.unwrap_or("").trim()
                        ));
                    }
                    loaded
                }
                other => other?,
            };
            programs.push(KernelProgram {
                name: def.name.clone(),
                section: def.section.clone(),
                prog_type: def.prog_type,
                fd: owned.as_raw_fd(),
                verifier_log,
                owned,
            });
        }

        let loaded = KernelObject {
            object,
            maps,
            programs,
            _btf: btf_fd,
            cpus: sys::possible_cpus()?,
            notes,
        };
        loaded.fill_initial_slots()?;
        Ok(loaded)
    }

    /// Static `.values` initialisation: prog-array slots get program fds,
    /// map-in-map slots map fds.
    fn fill_initial_slots(&self) -> Result<(), KernelError> {
        for (def, map) in self.object.maps.iter().zip(&self.maps) {
            for (slot, target) in &def.initial_slots {
                let fd = if map.map_type == maps::BPF_MAP_TYPE_PROG_ARRAY {
                    self.programs
                        .iter()
                        .find(|p| &p.name == target)
                        .map(|p| p.owned.as_raw_fd())
                } else {
                    self.map(target).ok().map(|m| m.fd.as_raw_fd())
                };
                let fd = fd.ok_or_else(|| {
                    KernelError::InvalidInput(format!(
                        "map `{}` slot {slot}: the object has no {} `{target}`",
                        def.name,
                        if map.map_type == maps::BPF_MAP_TYPE_PROG_ARRAY {
                            "program"
                        } else {
                            "map"
                        }
                    ))
                })?;
                map.update(
                    &slot.to_le_bytes(),
                    &(fd as u32).to_le_bytes(),
                    0,
                    self.cpus,
                )?;
            }
        }
        Ok(())
    }

    /// The object as `waggle_object` parsed and linked it (CO-RE against
    /// the running kernel).
    pub fn object(&self) -> &Object {
        &self.object
    }

    /// What the load did differently from the plain path (BTF sanitized or
    /// dropped, maps created without BTF types), one sentence each.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The loaded programs, in the object's order.
    pub fn programs(&self) -> &[KernelProgram] {
        &self.programs
    }

    /// The program called `name`.
    pub fn program(&self, name: &str) -> Option<&KernelProgram> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// The map called `name`: Waggle's name (`counts`, `.rodata`) or the
    /// kernel's (`xdp_lb.rodata`).
    fn map(&self, name: &str) -> Result<&KernelMap, KernelError> {
        self.maps
            .iter()
            .find(|m| m.name == name)
            .or_else(|| self.maps.iter().find(|m| m.kernel_name == name))
            .ok_or_else(|| KernelError::NoSuchMap(name.to_string()))
    }

    /// The name the kernel knows map `name` by (`.rodata` ->
    /// `xdp_lb.rodata`), as bpftool shows it.
    pub fn map_kernel_name(&self, name: &str) -> Option<&str> {
        self.map(name).ok().map(|m| m.kernel_name.as_str())
    }

    /// The file descriptor of map `name` (owned by the object).
    pub fn map_fd(&self, name: &str) -> Option<i32> {
        self.map(name).ok().map(|m| m.fd.as_raw_fd())
    }

    /// `BPF_PROG_TEST_RUN` of `prog` (one of this object's programs).
    pub fn test_run(
        &self,
        prog: &KernelProgram,
        run: &TestRun<'_>,
    ) -> Result<TestRunResult, KernelError> {
        run::test_run(prog.fd, &format!("program `{}`", prog.name), run)
    }

    /// Every (key, value) of a map, via `BPF_MAP_GET_NEXT_KEY` and
    /// `BPF_MAP_LOOKUP_ELEM`. Per-CPU maps give every possible CPU's value,
    /// each rounded up to 8 bytes, concatenated (the bpf() syscall layout).
    pub fn map_entries(&self, map: &str) -> Result<MapEntries, KernelError> {
        self.map(map)?.entries(self.cpus)
    }

    /// The value under `key` (per-CPU maps: every possible CPU's value, as
    /// in [`map_entries`](Self::map_entries)), or `None` when absent.
    pub fn map_lookup(&self, map: &str, key: &[u8]) -> Result<Option<Vec<u8>>, KernelError> {
        self.map(map)?.lookup(key, self.cpus)
    }

    /// Writes `value` under `key` with `BPF_MAP_UPDATE_ELEM` flags
    /// (`BPF_ANY` 0, `BPF_NOEXIST` 1, `BPF_EXIST` 2); per-CPU maps take
    /// every possible CPU's value, each rounded up to 8 bytes.
    pub fn map_update(
        &self,
        map: &str,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> Result<(), KernelError> {
        self.map(map)?.update(key, value, flags, self.cpus)
    }

    /// The records a ring buffer map holds, consumed: the consumer and
    /// producer pages are mmapped as libbpf does; discarded records are
    /// skipped, and a record still being written ends the drain.
    pub fn ringbuf_drain(&self, map: &str) -> Result<Vec<Vec<u8>>, KernelError> {
        ringbuf::drain(self.map(map)?)
    }
}
