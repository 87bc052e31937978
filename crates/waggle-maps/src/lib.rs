//! eBPF maps with Linux semantics.
//!
//! Programs reach map values by pointer (as in Linux, `bpf_map_lookup_elem`
//! returns the address of the value itself), so every map keeps its values in
//! memory that does not move for the map's lifetime: elements are
//! preallocated and recycled, never freed while the map lives. The
//! application and any number of threads running programs may use a map at
//! once; each running thread passes its per-CPU slot number (`cpu`).
//!
//! Errors are Linux's: [`MapError::errno`] gives the negative errno a helper
//! returns to a program.

mod spec;
pub use spec::{MapFlags, MapSpec, MapType, BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST};

mod error;
pub use error::MapError;

mod map;
pub use map::{create, map_address, Map, MapOptions};
