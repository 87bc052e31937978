//! Shared helpers: reading the committed fixture objects.
#![allow(dead_code)]

use object::{Object, ObjectSection};
use std::path::PathBuf;
use waggle_btf::{Btf, BtfExt};
use waggle_isa::RawInsn;

pub fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub fn read_data(name: &str) -> Vec<u8> {
    std::fs::read(data_path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

/// A fixture object: its raw bytes, from which sections are taken.
pub struct Obj {
    pub bytes: Vec<u8>,
}

impl Obj {
    pub fn load(name: &str) -> Obj {
        Obj {
            bytes: read_data(name),
        }
    }

    pub fn section(&self, name: &str) -> Option<Vec<u8>> {
        let file = object::File::parse(&*self.bytes).expect("valid ELF");
        let sec = file.section_by_name(name)?;
        Some(sec.data().expect("section data").to_vec())
    }

    pub fn btf_bytes(&self) -> Vec<u8> {
        self.section(".BTF").expect(".BTF section")
    }

    pub fn btf(&self) -> Btf {
        Btf::parse(&self.btf_bytes()).expect("parse .BTF")
    }

    pub fn ext(&self, btf: &Btf) -> BtfExt {
        BtfExt::parse(&self.section(".BTF.ext").expect(".BTF.ext section"), btf)
            .expect("parse .BTF.ext")
    }

    pub fn insns(&self, section: &str) -> Vec<RawInsn> {
        RawInsn::slice_from_bytes(&self.section(section).expect("program section"))
            .expect("whole instructions")
    }
}
