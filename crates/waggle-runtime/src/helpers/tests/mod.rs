//! Programs calling the helpers, run checked (and some unchecked).

mod control;
mod maps;
mod misc;
mod output;
mod packet;

/// Assembly loading `regs` (register, value) then calling helper `id` and
/// exiting with its result. `r1` keeps the run's memory pointer unless set.
pub(super) fn call(id: u32, regs: &[(u8, u64)]) -> String {
    let mut s = String::new();
    for (r, v) in regs {
        s += &format!("lddw %r{r}, {v:#x}\n");
    }
    s + &format!("call {id}\nexit\n")
}

/// The address of `x`.
pub(super) fn addr<T: ?Sized>(x: &T) -> u64 {
    x as *const T as *const u8 as u64
}
