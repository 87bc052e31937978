//! Runs clang-compiled eBPF objects in userspace, with Linux semantics.
//!
//! [`LoadedObject::from_file`] reads an object (see `waggle-object`), creates
//! its maps (`waggle-maps`), binds its programs' map references to them,
//! rewrites their context accesses to Waggle's context layout
//! ([`context`]), and resolves their helper calls against Waggle's Linux
//! helpers. [`LoadedObject::run_packet`] and [`LoadedObject::run_raw`] then
//! run a program once, as Linux's `BPF_PROG_TEST_RUN` does, in the
//! interpreter's checked mode, safe for any program.
//!
//! Programs the verifier (`waggle-verifier`) accepted may run faster:
//! [`LoadedObject::run_packet_with`] and [`LoadedObject::run_raw_with`] take
//! an [`Engine`]: the checked interpreter, the unchecked one, or the JIT
//! (`waggle-jit`), which compiles each program once, on its first JIT run,
//! and keeps the code in its [`LoadedProgram`]
//! ([`LoadedProgram::jit_compile_time`]). They are `unsafe`: the caller
//! vouches that the verifier accepted the program. Every engine gives the
//! same results; [`RunResult::engine`] says which one ran. On the JIT, tail
//! calls go on in the target's compiled code, compiled on first use too.
//!
//! ```no_run
//! use waggle_runtime::{Engine, LoadOptions, LoadedObject, RunConfig};
//! let obj = LoadedObject::from_file("examples/c/xdp_drop_icmp.bpf.o".as_ref(), &LoadOptions::default())?;
//! let prog = obj.program("xdp_drop_icmp").unwrap();
//! let frame = [0u8; 64];
//! let result = obj.run_packet(prog, &frame, &RunConfig::default())?;
//! println!("verdict {}", result.retval);
//!
//! // Once `waggle_verifier::verify` has accepted `xdp_drop_icmp`:
//! // SAFETY: the verifier accepted the program.
//! let result = unsafe { obj.run_packet_with(prog, &frame, &RunConfig::default(), Engine::Jit)? };
//! println!("verdict {} on {}", result.retval, result.engine);
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
pub use run::{Engine, RunConfig, RunError, RunResult, FRAME_SIZE, HEADROOM, TAILROOM};
pub use typed::TypedMap;
pub use waggle_jit::{JitError, JitProgram};
pub use waggle_maps::{Map, MapError};
pub use waggle_object::{Object, ProgramType};
