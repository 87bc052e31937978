//! Uploading an object's BTF with `BPF_BTF_LOAD`.
//!
//! The BTF is the one `waggle_object` parsed, DATASEC sizes and offsets
//! already filled in from the ELF symbols. Before upload the variables of
//! each DATASEC are sorted by offset (the kernel requires it; clang emits
//! them in declaration order, which need not be the layout order). Only if
//! the kernel rejects that is a sanitized copy tried, replacing what older
//! kernels do not know as libbpf does; if that is rejected too, the object
//! is loaded without BTF (maps then carry no BTF type ids), as libbpf does.

use crate::sys::{self, BtfLoadAttr, BPF_BTF_LOAD};
use crate::KernelError;
use std::os::fd::OwnedFd;
use waggle_btf::{linkage, Btf, BtfType, Composite, Int, Ref};

/// Log buffer for a rejected BTF's second, logged, attempt.
const BTF_LOG_SIZE: usize = 1 << 20;

/// Uploads `btf`; returns its fd, or `None` (with a note saying why) when
/// the kernel accepts no form of it.
pub(crate) fn upload(btf: &Btf, notes: &mut Vec<String>) -> Result<Option<OwnedFd>, KernelError> {
    let prepared = prepare(btf);
    let first = match try_load(&prepared)? {
        Ok(fd) => return Ok(Some(fd)),
        Err(reason) => reason,
    };
    let (sanitized, changes) = sanitize(&prepared);
    if !changes.is_empty() {
        match try_load(&sanitized)? {
            Ok(fd) => {
                notes.push(format!(
                    "the kernel rejected the object's BTF ({first}); uploaded it sanitized: {}",
                    changes.join(", ")
                ));
                return Ok(Some(fd));
            }
            Err(second) => {
                notes.push(format!(
                    "the kernel rejected the object's BTF ({first}) and its sanitized form \
                     ({second}); loading without BTF"
                ));
                return Ok(None);
            }
        }
    }
    notes.push(format!(
        "the kernel rejected the object's BTF ({first}); loading without BTF"
    ));
    Ok(None)
}

/// One upload attempt: the fd, or why the kernel refused (errno and the
/// end of its log). EPERM/ENOSYS are errors: nothing will load then.
fn try_load(btf: &Btf) -> Result<Result<OwnedFd, String>, KernelError> {
    let bytes = btf.to_bytes().map_err(|e| {
        KernelError::InvalidInput(format!("the object's BTF cannot be encoded: {e}"))
    })?;
    match load_bytes(&bytes, None) {
        Ok(fd) => Ok(Ok(fd)),
        Err(errno) => {
            if let Some(reason) = sys::unavailable_reason("BPF_BTF_LOAD", errno) {
                return Err(KernelError::Unavailable(reason));
            }
            // Again with a log, for the kernel's reason.
            let mut log = vec![0u8; BTF_LOG_SIZE];
            let again = load_bytes(&bytes, Some(&mut log));
            let text = sys::log_text(&log);
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_string();
            match again {
                // Accepted the second time (a transient failure).
                Ok(fd) => Ok(Ok(fd)),
                Err(_) if last.is_empty() => Ok(Err(sys::errno_message(errno))),
                Err(_) => Ok(Err(format!("{}: {last}", sys::errno_message(errno)))),
            }
        }
    }
}

/// `BPF_BTF_LOAD` of raw bytes, with an optional log buffer.
pub(crate) fn load_bytes(bytes: &[u8], log: Option<&mut Vec<u8>>) -> Result<OwnedFd, i32> {
    let size = u32::try_from(bytes.len()).map_err(|_| libc::E2BIG)?;
    let mut attr = BtfLoadAttr {
        btf: bytes.as_ptr() as u64,
        btf_size: size,
        ..Default::default()
    };
    if let Some(log) = log {
        attr.btf_log_buf = log.as_mut_ptr() as u64;
        attr.btf_log_size = u32::try_from(log.len()).unwrap_or(u32::MAX);
        attr.btf_log_level = 1;
    }
    // SAFETY: `btf` points at `bytes` (btf_size bytes) and the log at a
    // writable buffer of btf_log_size bytes; both outlive the call.
    unsafe { sys::bpf_fd(BPF_BTF_LOAD, &mut attr) }
}

/// The object's BTF as the kernel wants it: DATASEC variables in offset order.
fn prepare(btf: &Btf) -> Btf {
    let mut out = btf.clone();
    let ids: Vec<u32> = out.types().map(|(id, _)| id).collect();
    for id in ids {
        if let Ok(BtfType::Datasec(ds)) = out.type_by_id_mut(id) {
            ds.vars.sort_by_key(|v| v.offset);
        }
    }
    out
}

/// libbpf's sanitization for kernels that do not know newer BTF: kinds
/// replaced by ones of the same size and references, without renumbering.
/// Returns the copy and what was changed.
fn sanitize(btf: &Btf) -> (Btf, Vec<&'static str>) {
    let mut out = btf.clone();
    let mut changes = Vec::new();
    let mut note = |what: &'static str| {
        if !changes.contains(&what) {
            changes.push(what);
        }
    };
    // FUNCs listed in DATASECs (`.ksyms` kfuncs), which the kernel rejects there.
    let funcs: Vec<u32> = btf
        .types()
        .filter(|(_, t)| matches!(t, BtfType::Func(_)))
        .map(|(id, _)| id)
        .collect();
    let ids: Vec<u32> = out.types().map(|(id, _)| id).collect();
    for id in ids {
        let Ok(ty) = out.type_by_id_mut(id) else {
            continue;
        };
        let replacement = match ty {
            BtfType::DeclTag(_) => {
                note("DECL_TAG as INT");
                Some(BtfType::Int(Int {
                    name_off: 0,
                    size: 1,
                    encoding: 0,
                    offset: 0,
                    bits: 8,
                }))
            }
            BtfType::TypeTag(r) => {
                note("TYPE_TAG as CONST");
                Some(BtfType::Const(Ref {
                    name_off: 0,
                    type_id: r.type_id,
                    kind_flag: false,
                }))
            }
            BtfType::Float(f) => {
                note("FLOAT as an empty STRUCT");
                Some(opaque(f.size))
            }
            BtfType::Enum64(e) => {
                note("ENUM64 as an empty STRUCT");
                Some(opaque(e.size))
            }
            BtfType::Enum(e) if e.signed => {
                note("signed ENUM as unsigned");
                e.signed = false;
                None
            }
            BtfType::Func(f) if f.linkage as u32 != linkage::STATIC => {
                note("global FUNC as static");
                f.linkage = linkage::STATIC as u16;
                None
            }
            BtfType::Var(v) if v.linkage == linkage::EXTERN => {
                note("extern VAR as global");
                v.linkage = linkage::GLOBAL;
                None
            }
            BtfType::Datasec(ds) => {
                let before = ds.vars.len();
                ds.vars.retain(|v| !funcs.contains(&v.type_id));
                if ds.vars.len() != before {
                    note("FUNCs dropped from DATASECs");
                }
                let end = ds
                    .vars
                    .iter()
                    .map(|v| v.offset.saturating_add(v.size))
                    .max()
                    .unwrap_or(0);
                if ds.size < end {
                    note("DATASEC sizes from their variables");
                    ds.size = end;
                }
                None
            }
            _ => None,
        };
        if let Some(r) = replacement {
            *ty = r;
        }
    }
    (out, changes)
}

/// A nameless, memberless struct of `size` bytes.
fn opaque(size: u32) -> BtfType {
    BtfType::Struct(Composite {
        name_off: 0,
        size,
        kind_flag: false,
        members: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use waggle_btf::{Datasec, DeclTag, Var, VarSecInfo, BTF_INT_SIGNED};

    /// `int a, b;` in `.data`, the DATASEC listing (var id, offset) pairs.
    fn data_btf(vars: &[(u32, u32)]) -> Btf {
        let mut btf = Btf::new();
        let int = btf.add_string("int");
        btf.add_type(BtfType::Int(Int {
            name_off: int,
            size: 4,
            encoding: BTF_INT_SIGNED,
            offset: 0,
            bits: 32,
        }))
        .unwrap();
        for name in ["a", "b"] {
            let off = btf.add_string(name);
            btf.add_type(BtfType::Var(Var {
                name_off: off,
                type_id: 1,
                linkage: linkage::GLOBAL,
            }))
            .unwrap();
        }
        let sec = btf.add_string(".data");
        btf.add_type(BtfType::Datasec(Datasec {
            name_off: sec,
            size: 8,
            vars: vars
                .iter()
                .map(|&(type_id, offset)| VarSecInfo {
                    type_id,
                    offset,
                    size: 4,
                })
                .collect(),
        }))
        .unwrap();
        btf
    }

    fn kernel() -> bool {
        match crate::availability() {
            Ok(()) => true,
            Err(reason) => {
                println!("skipped: {reason}");
                false
            }
        }
    }

    #[test]
    fn datasec_variables_are_uploaded_in_offset_order() {
        if !kernel() {
            return;
        }
        // b (id 3) at 4 listed before a (id 2) at 0: the kernel wants them sorted.
        let btf = data_btf(&[(3, 4), (2, 0)]);
        assert!(load_bytes(&btf.to_bytes().unwrap(), None).is_err());
        let mut notes = Vec::new();
        assert!(upload(&btf, &mut notes).unwrap().is_some());
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn btf_the_kernel_refuses_is_dropped_with_a_note() {
        if !kernel() {
            return;
        }
        // Overlapping variables: nothing sanitization fixes.
        let btf = data_btf(&[(2, 0), (3, 2)]);
        let mut notes = Vec::new();
        assert!(upload(&btf, &mut notes).unwrap().is_none());
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("loading without BTF"), "{notes:?}");
    }

    #[test]
    fn sanitization_replaces_what_old_kernels_reject() {
        let mut btf = data_btf(&[(2, 0), (3, 4)]);
        let tag = btf.add_string("tag");
        btf.add_type(BtfType::DeclTag(DeclTag {
            name_off: tag,
            type_id: 2,
            component_idx: -1,
            kind_flag: false,
        }))
        .unwrap();
        btf.add_type(BtfType::TypeTag(Ref {
            name_off: tag,
            type_id: 1,
            kind_flag: false,
        }))
        .unwrap();
        let (out, changes) = sanitize(&btf);
        assert_eq!(changes, ["DECL_TAG as INT", "TYPE_TAG as CONST"]);
        assert!(matches!(out.type_by_id(5), Ok(BtfType::Int(_))));
        assert!(matches!(out.type_by_id(6), Ok(BtfType::Const(r)) if r.type_id == 1));
        assert_eq!(out.type_count(), btf.type_count());
        assert!(out.validate().is_ok());
        let (_, none) = sanitize(&data_btf(&[(2, 0), (3, 4)]));
        assert!(none.is_empty());
    }
}
