//! The target BTF for programs that run on Waggle's userspace runtime.

use crate::Btf;
use std::sync::OnceLock;

/// The raw `.BTF` bytes built from `data/waggle_types.bpf.c` by
/// `data/build.sh`: Linux's UAPI declarations of `struct xdp_md`,
/// `struct __sk_buff`, `enum xdp_action`, `enum sk_action` and
/// `struct bpf_spin_lock` (with the types they use; the pointees of
/// `__sk_buff`'s `flow_keys` and `sk` are forward declarations only).
pub const WAGGLE_TYPES_BTF: &[u8] = include_bytes!("../data/waggle_types.btf");

/// [`WAGGLE_TYPES_BTF`], parsed once: the target BTF for CO-RE relocation
/// of programs run by Waggle's userspace runtime.
pub fn waggle_types() -> &'static Btf {
    static BTF: OnceLock<Btf> = OnceLock::new();
    // The bytes are ours, built by data/build.sh and parsed by this crate's
    // tests, so they cannot fail to parse.
    BTF.get_or_init(|| Btf::parse(WAGGLE_TYPES_BTF).expect("data/waggle_types.btf is valid BTF"))
}
