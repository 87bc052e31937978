//! Maps: created with `BPF_MAP_CREATE` from the object's definitions, global
//! data written and `.rodata` frozen, and the element operations behind
//! `KernelObject`'s map accessors.

use crate::sys::{self, MapCreateAttr, MapElemAttr};
use crate::{KernelError, MapEntries};
use std::os::fd::{AsRawFd, OwnedFd};
use waggle_btf::{Btf, BtfKind};
use waggle_object::{MapDef, Object};

// `enum bpf_map_type` values this module treats specially.
pub(crate) const BPF_MAP_TYPE_PROG_ARRAY: u32 = 3;
const BPF_MAP_TYPE_PERF_EVENT_ARRAY: u32 = 4;
const BPF_MAP_TYPE_PERCPU_HASH: u32 = 5;
const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
const BPF_MAP_TYPE_STACK_TRACE: u32 = 7;
const BPF_MAP_TYPE_CGROUP_ARRAY: u32 = 8;
const BPF_MAP_TYPE_LRU_PERCPU_HASH: u32 = 10;
const BPF_MAP_TYPE_ARRAY_OF_MAPS: u32 = 12;
const BPF_MAP_TYPE_HASH_OF_MAPS: u32 = 13;
const BPF_MAP_TYPE_DEVMAP: u32 = 14;
const BPF_MAP_TYPE_SOCKMAP: u32 = 15;
const BPF_MAP_TYPE_CPUMAP: u32 = 16;
const BPF_MAP_TYPE_XSKMAP: u32 = 17;
const BPF_MAP_TYPE_SOCKHASH: u32 = 18;
const BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: u32 = 21;
const BPF_MAP_TYPE_QUEUE: u32 = 22;
const BPF_MAP_TYPE_STACK: u32 = 23;
const BPF_MAP_TYPE_DEVMAP_HASH: u32 = 25;
pub(crate) const BPF_MAP_TYPE_RINGBUF: u32 = 27;
const BPF_MAP_TYPE_USER_RINGBUF: u32 = 31;

/// A map created in the kernel.
pub(crate) struct KernelMap {
    /// Waggle's name (`counts`, `.rodata`).
    pub name: String,
    /// The name given to the kernel (`xdp_lb.rodata`).
    pub kernel_name: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub fd: OwnedFd,
}

impl std::fmt::Debug for KernelMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelMap")
            .field("name", &self.name)
            .field("kernel_name", &self.kernel_name)
            .field("map_type", &self.map_type)
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

/// The libbpf-style prefix of an object's name: its file name up to the
/// first `.` (`xdp_lb.bpf.o` -> `xdp_lb`).
pub(crate) fn object_prefix(object: &str) -> &str {
    let base = object.rsplit('/').next().unwrap_or(object);
    base.split('.').next().unwrap_or(base)
}

/// The kernel name of a map: global-data maps as libbpf names them (up to 8
/// bytes of the object's name, then the section name: `subprog_.bss`,
/// `xdp_lb.rodata`; no prefix for `.rodata.str1.1`-like names), others their
/// own name; cut to 15 bytes of `[A-Za-z0-9_.]`.
pub(crate) fn kernel_map_name(object: &str, def: &MapDef) -> String {
    if def.data.is_none() {
        return sys::sanitize_name(&def.name);
    }
    let real = def.name.as_str();
    let sfx_len = real.len().max(7);
    let pfx = object_prefix(object);
    let has_inner_dot = real.get(1..).is_some_and(|r| r.contains('.'));
    let pfx_len = if has_inner_dot || sfx_len >= sys::BPF_OBJ_NAME_LEN {
        0
    } else {
        (sys::BPF_OBJ_NAME_LEN - sfx_len - 1).min(pfx.len())
    };
    let prefix: String = pfx.chars().take(pfx_len).collect();
    sys::sanitize_name(&format!("{prefix}{real}"))
}

/// Map types whose definitions carry no BTF key/value ids (libbpf's list).
fn takes_no_btf(map_type: u32) -> bool {
    matches!(
        map_type,
        BPF_MAP_TYPE_PERF_EVENT_ARRAY
            | BPF_MAP_TYPE_CGROUP_ARRAY
            | BPF_MAP_TYPE_STACK_TRACE
            | BPF_MAP_TYPE_ARRAY_OF_MAPS
            | BPF_MAP_TYPE_HASH_OF_MAPS
            | BPF_MAP_TYPE_DEVMAP
            | BPF_MAP_TYPE_DEVMAP_HASH
            | BPF_MAP_TYPE_CPUMAP
            | BPF_MAP_TYPE_XSKMAP
            | BPF_MAP_TYPE_SOCKMAP
            | BPF_MAP_TYPE_SOCKHASH
            | BPF_MAP_TYPE_QUEUE
            | BPF_MAP_TYPE_STACK
    )
}

/// Whether the syscall view of the map's values holds one per possible CPU.
fn is_per_cpu(map_type: u32) -> bool {
    matches!(
        map_type,
        BPF_MAP_TYPE_PERCPU_HASH
            | BPF_MAP_TYPE_PERCPU_ARRAY
            | BPF_MAP_TYPE_LRU_PERCPU_HASH
            | BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
    )
}

/// The BTF an object's maps refer to: the uploaded fd and the object's BTF
/// (same type ids) for finding global-data DATASECs.
pub(crate) struct MapBtf<'a> {
    pub fd: &'a OwnedFd,
    pub btf: &'a Btf,
}

/// Creates every map of `obj`, in `Object::maps` order (the order of the
/// programs' map indices), and writes the global-data maps' contents.
pub(crate) fn create_all(
    obj: &Object,
    btf: Option<&MapBtf<'_>>,
    notes: &mut Vec<String>,
) -> Result<Vec<KernelMap>, KernelError> {
    create_defs(&obj.name, &obj.maps, btf, notes)
}

/// Creates the maps `defs`, in order, named as maps of object `object`, and
/// writes the global-data maps' contents (freezing `.rodata`).
pub(crate) fn create_defs(
    object: &str,
    defs: &[MapDef],
    btf: Option<&MapBtf<'_>>,
    notes: &mut Vec<String>,
) -> Result<Vec<KernelMap>, KernelError> {
    let cpus = sys::possible_cpus()?;
    let mut maps = Vec::with_capacity(defs.len());
    for def in defs {
        let kernel_name = kernel_map_name(object, def);
        let map = create(def, &kernel_name, btf, cpus, notes)?;
        if let Some(data) = &def.data {
            map.update(&0u32.to_le_bytes(), &data.bytes, 0, cpus)?;
            if data.read_only {
                map.freeze()?;
            }
        }
        maps.push(map);
    }
    Ok(maps)
}

/// `BPF_MAP_CREATE` of one definition (and of its inner-map template, for
/// map-in-map types, closed again once the outer map holds it).
fn create(
    def: &MapDef,
    kernel_name: &str,
    btf: Option<&MapBtf<'_>>,
    cpus: usize,
    notes: &mut Vec<String>,
) -> Result<KernelMap, KernelError> {
    let what = format!(
        "map `{}` (kernel name `{kernel_name}`, type {})",
        def.name, def.map_type
    );
    let mut attr = MapCreateAttr {
        map_type: def.map_type,
        key_size: def.key_size,
        value_size: def.value_size,
        max_entries: def.max_entries,
        map_flags: def.flags,
        map_name: sys::obj_name(kernel_name),
        map_extra: def.map_extra,
        ..Default::default()
    };
    match def.map_type {
        // libbpf: one slot per CPU when the size is left out.
        BPF_MAP_TYPE_PERF_EVENT_ARRAY if def.max_entries == 0 => {
            attr.max_entries = u32::try_from(cpus).unwrap_or(u32::MAX);
        }
        BPF_MAP_TYPE_RINGBUF | BPF_MAP_TYPE_USER_RINGBUF => {
            attr.max_entries = ringbuf_size(def.max_entries);
        }
        _ => {}
    }

    let inner = match (&def.inner, def.map_type) {
        (Some(inner), BPF_MAP_TYPE_ARRAY_OF_MAPS | BPF_MAP_TYPE_HASH_OF_MAPS) => {
            let name = sys::sanitize_name(&format!("{kernel_name}.inner"));
            Some(create(inner, &name, btf, cpus, notes)?)
        }
        (None, BPF_MAP_TYPE_ARRAY_OF_MAPS | BPF_MAP_TYPE_HASH_OF_MAPS) => {
            return Err(KernelError::InvalidInput(format!(
                "{what}: a map-in-map needs an inner map template (`__array(values, ...)`)"
            )));
        }
        _ => None,
    };
    if let Some(inner) = &inner {
        attr.inner_map_fd = inner.fd.as_raw_fd() as u32;
    }

    if let Some(b) = btf.filter(|_| !takes_no_btf(def.map_type)) {
        let (key, value) = match &def.data {
            // Global data: key void, value the section's DATASEC.
            Some(_) => (0, b.btf.find_type(BtfKind::Datasec, &def.name).unwrap_or(0)),
            None => (def.btf_key_type_id, def.btf_value_type_id),
        };
        if value != 0 {
            attr.btf_fd = b.fd.as_raw_fd() as u32;
            attr.btf_key_type_id = key;
            attr.btf_value_type_id = value;
        }
    }

    // SAFETY: the attr holds no pointers.
    let result = unsafe { sys::bpf_fd(sys::BPF_MAP_CREATE, &mut attr) };
    let fd = match result {
        Ok(fd) => fd,
        // As libbpf: when the kernel refuses the BTF description, retry without it.
        Err(errno) if attr.btf_fd != 0 && errno != libc::EPERM => {
            attr.btf_fd = 0;
            attr.btf_key_type_id = 0;
            attr.btf_value_type_id = 0;
            // SAFETY: as above.
            let fd = unsafe { sys::bpf_fd(sys::BPF_MAP_CREATE, &mut attr) }
                .map_err(|e| sys::syscall_error("BPF_MAP_CREATE", &what, e))?;
            notes.push(format!(
                "{what}: created without BTF types (with them: {})",
                sys::errno_message(errno)
            ));
            fd
        }
        Err(errno) => return Err(sys::syscall_error("BPF_MAP_CREATE", what, errno)),
    };
    Ok(KernelMap {
        name: def.name.clone(),
        kernel_name: kernel_name.to_string(),
        map_type: def.map_type,
        key_size: def.key_size,
        value_size: def.value_size,
        max_entries: attr.max_entries,
        fd,
    })
}

/// libbpf's ring buffer size: the smallest power-of-two multiple of the
/// page size that holds `size` bytes.
fn ringbuf_size(size: u32) -> u32 {
    let page = sys::page_size() as u64;
    let pages = (size as u64).div_ceil(page).max(1);
    let bytes = pages.next_power_of_two() * page;
    u32::try_from(bytes).unwrap_or(size)
}

impl KernelMap {
    fn what(&self) -> String {
        format!("map `{}`", self.name)
    }

    /// Bytes of a value in the syscall view: per-CPU maps hold every possible
    /// CPU's value, each rounded up to 8 bytes.
    pub fn value_len(&self, cpus: usize) -> usize {
        if is_per_cpu(self.map_type) {
            (self.value_size as usize).div_ceil(8) * 8 * cpus
        } else {
            self.value_size as usize
        }
    }

    fn check_key(&self, key: &[u8]) -> Result<(), KernelError> {
        if key.len() != self.key_size as usize {
            return Err(KernelError::InvalidInput(format!(
                "{}: key of {} bytes, the map's keys are {} bytes",
                self.what(),
                key.len(),
                self.key_size
            )));
        }
        Ok(())
    }

    fn key_ptr(key: &[u8]) -> u64 {
        if key.is_empty() {
            0
        } else {
            key.as_ptr() as u64
        }
    }

    /// `BPF_MAP_LOOKUP_ELEM`: the value, or `None` when the key is absent.
    pub fn lookup(&self, key: &[u8], cpus: usize) -> Result<Option<Vec<u8>>, KernelError> {
        self.check_key(key)?;
        let mut value = vec![0u8; self.value_len(cpus)];
        let mut attr = MapElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            key: Self::key_ptr(key),
            value: value.as_mut_ptr() as u64,
            ..Default::default()
        };
        // SAFETY: key is key_size bytes, value value_len bytes, both live.
        match unsafe { sys::bpf(sys::BPF_MAP_LOOKUP_ELEM, &mut attr) } {
            Ok(_) => Ok(Some(value)),
            Err(libc::ENOENT) => Ok(None),
            Err(e) => Err(sys::syscall_error("BPF_MAP_LOOKUP_ELEM", self.what(), e)),
        }
    }

    /// `BPF_MAP_UPDATE_ELEM` with `flags` (`BPF_ANY` 0, `BPF_NOEXIST` 1,
    /// `BPF_EXIST` 2, ...).
    pub fn update(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u64,
        cpus: usize,
    ) -> Result<(), KernelError> {
        self.check_key(key)?;
        let want = self.value_len(cpus);
        if value.len() != want {
            return Err(KernelError::InvalidInput(format!(
                "{}: value of {} bytes, the map takes {want}{}",
                self.what(),
                value.len(),
                if is_per_cpu(self.map_type) {
                    format!(
                        " ({cpus} possible CPUs x {} bytes rounded up to 8)",
                        self.value_size
                    )
                } else {
                    String::new()
                }
            )));
        }
        let mut attr = MapElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            key: Self::key_ptr(key),
            value: value.as_ptr() as u64,
            flags,
            ..Default::default()
        };
        // SAFETY: key and value have the map's sizes and outlive the call.
        match unsafe { sys::bpf(sys::BPF_MAP_UPDATE_ELEM, &mut attr) } {
            Ok(_) => Ok(()),
            // On a map that exists, EPERM is about the map, not privilege.
            Err(libc::EPERM) => Err(KernelError::Syscall {
                op: "BPF_MAP_UPDATE_ELEM",
                what: self.what(),
                errno: libc::EPERM,
                message: format!(
                    "{}: the map is frozen or read-only to userspace",
                    sys::errno_message(libc::EPERM)
                ),
            }),
            Err(e) => Err(sys::syscall_error("BPF_MAP_UPDATE_ELEM", self.what(), e)),
        }
    }

    /// `BPF_MAP_GET_NEXT_KEY`: the key after `key` (the first for `None`), or
    /// `None` at the end.
    pub fn next_key(&self, key: Option<&[u8]>) -> Result<Option<Vec<u8>>, KernelError> {
        if let Some(k) = key {
            self.check_key(k)?;
        }
        let mut next = vec![0u8; self.key_size as usize];
        let mut attr = MapElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            key: key.map_or(0, Self::key_ptr),
            value: next.as_mut_ptr() as u64,
            ..Default::default()
        };
        // SAFETY: key (or null) and next are key_size bytes and live.
        match unsafe { sys::bpf(sys::BPF_MAP_GET_NEXT_KEY, &mut attr) } {
            Ok(_) => Ok(Some(next)),
            Err(libc::ENOENT) => Ok(None),
            Err(e) => Err(sys::syscall_error("BPF_MAP_GET_NEXT_KEY", self.what(), e)),
        }
    }

    /// Every (key, value), walking the keys with `BPF_MAP_GET_NEXT_KEY`.
    /// Keys deleted during the walk are skipped; the walk is bounded so a
    /// map changing under it cannot keep it going forever.
    pub fn entries(&self, cpus: usize) -> Result<MapEntries, KernelError> {
        let mut out = Vec::new();
        let limit = (self.max_entries as usize)
            .saturating_mul(2)
            .saturating_add(16);
        let mut key = self.next_key(None)?;
        while let Some(k) = key {
            if let Some(v) = self.lookup(&k, cpus)? {
                out.push((k.clone(), v));
            }
            if out.len() > limit {
                return Err(KernelError::InvalidInput(format!(
                    "{}: more than {limit} keys while walking (is the map changing?)",
                    self.what()
                )));
            }
            key = self.next_key(Some(&k))?;
        }
        Ok(out)
    }

    /// `BPF_MAP_FREEZE`: no more writes from userspace.
    pub fn freeze(&self) -> Result<(), KernelError> {
        let mut attr = MapElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            ..Default::default()
        };
        // SAFETY: no pointers.
        unsafe { sys::bpf(sys::BPF_MAP_FREEZE, &mut attr) }
            .map(drop)
            .map_err(|e| sys::syscall_error("BPF_MAP_FREEZE", self.what(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_def(name: &str) -> MapDef {
        let mut def = MapDef::with_sizes(name, 2, 4, 4, 1);
        if name.starts_with('.') {
            def.data = Some(waggle_object::MapData {
                bytes: vec![0; 4],
                read_only: false,
            });
        }
        def
    }

    #[test]
    fn libbpf_internal_map_names() {
        let n = |obj: &str, map: &str| kernel_map_name(obj, &data_def(map));
        assert_eq!(n("subprog_globals.bpf.o", ".bss"), "subprog_.bss");
        assert_eq!(n("subprog_globals.bpf.o", ".rodata"), "subprog_.rodata");
        assert_eq!(n("xdp_lb.bpf.o", ".rodata"), "xdp_lb.rodata");
        assert_eq!(n("dir/xdp_lb.bpf.o", ".data"), "xdp_lb.data");
        assert_eq!(n("x.o", ".rodata.str1.1"), ".rodata.str1.1");
        assert_eq!(n("x.o", "a_map_with_a_long_name"), "a_map_with_a_lo");
        assert_eq!(n("x.o", "my-map"), "my_map");
    }
}
