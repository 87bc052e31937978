//! Runs clang-compiled eBPF objects in userspace, with Linux semantics.
//!
//! [`LoadedObject::from_file`] reads an object (see `waggle-object`), creates
//! its maps (`waggle-maps`), binds its programs' map references to them,
//! rewrites their context accesses to Waggle's context layout
//! ([`context`]), and resolves their helper calls against Waggle's Linux
//! helpers. [`LoadedObject::run_packet`] and [`LoadedObject::run_raw`] then
//! run a program once, as Linux's `BPF_PROG_TEST_RUN` does.
//!
//! ```no_run
//! use waggle_runtime::{LoadOptions, LoadedObject, RunConfig};
//! let obj = LoadedObject::from_file("examples/c/xdp_drop_icmp.bpf.o".as_ref(), &LoadOptions::default())?;
//! let prog = obj.program("xdp_drop_icmp").unwrap();
//! let frame = [0u8; 64];
//! let result = obj.run_packet(prog, &frame, &RunConfig::default())?;
//! println!("verdict {}", result.retval);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod context;
pub mod env;
pub use waggle_analysis::helper_names;
mod helpers;
mod loader;
mod run;
mod typed;

pub use env::Redirect;
pub use loader::{LoadError, LoadOptions, LoadedObject, LoadedProgram, ProgramError};
pub use run::{RunConfig, RunError, RunResult, FRAME_SIZE, HEADROOM, TAILROOM};
pub use typed::TypedMap;
pub use waggle_maps::{Map, MapError};
pub use waggle_object::{Object, ProgramType};
