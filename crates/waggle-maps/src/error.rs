//! Map errors, one per errno Linux returns for maps.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MapError {
    /// `ENOENT`: no element for the key (or an empty queue, stack, bloom miss).
    #[error("no such element")]
    NotFound,
    /// `EEXIST`: `BPF_NOEXIST` and the key is present.
    #[error("element exists")]
    Exists,
    /// `E2BIG`: the map is full, or an index is past `max_entries`.
    #[error("map is full or index out of range")]
    TooBig,
    /// `EINVAL`: bad flags, sizes or arguments; the message says which.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// `ENOMEM`: memory for the map could not be had.
    #[error("out of memory")]
    NoMemory,
    /// `ENOTSUPP`/`EOPNOTSUPP`: the operation does not apply to this map type.
    #[error("operation not supported by {0} maps")]
    NotSupported(&'static str),
    /// `EBUSY`: the element is locked or in use.
    #[error("resource busy")]
    Busy,
    /// `ENOSPC`: no room left (a full LPM trie, a full perf event buffer).
    #[error("no space left")]
    NoSpace,
    /// `EAGAIN`: no room right now, try later (`bpf_ringbuf_output` on a full ring).
    #[error("resource temporarily unavailable")]
    TryAgain,
}

impl MapError {
    /// The negative errno a helper returns for this error, as Linux does.
    pub fn errno(&self) -> i64 {
        match self {
            MapError::NotFound => -2,
            MapError::Exists => -17,
            MapError::TooBig => -7,
            MapError::Invalid(_) => -22,
            MapError::NoMemory => -12,
            MapError::NotSupported(_) => -95,
            MapError::Busy => -16,
            MapError::NoSpace => -28,
            MapError::TryAgain => -11,
        }
    }
}
