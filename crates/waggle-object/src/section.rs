//! Program section names to program types, following libbpf's table.

use std::fmt;

/// `enum bpf_prog_type`, with Linux's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ProgramType {
    SocketFilter = 1,
    Kprobe = 2,
    SchedCls = 3,
    SchedAct = 4,
    Tracepoint = 5,
    Xdp = 6,
    PerfEvent = 7,
    CgroupSkb = 8,
    CgroupSock = 9,
    LwtIn = 10,
    LwtOut = 11,
    LwtXmit = 12,
    SockOps = 13,
    SkSkb = 14,
    CgroupDevice = 15,
    SkMsg = 16,
    RawTracepoint = 17,
    CgroupSockAddr = 18,
    LwtSeg6local = 19,
    LircMode2 = 20,
    SkReuseport = 21,
    FlowDissector = 22,
    CgroupSysctl = 23,
    RawTracepointWritable = 24,
    CgroupSockopt = 25,
    Tracing = 26,
    StructOps = 27,
    Ext = 28,
    Lsm = 29,
    SkLookup = 30,
    Syscall = 31,
    Netfilter = 32,
}

impl ProgramType {
    /// Linux's name without `BPF_PROG_TYPE_`, lower case, as bpftool prints it.
    pub fn name(self) -> &'static str {
        use ProgramType::*;
        match self {
            SocketFilter => "socket_filter",
            Kprobe => "kprobe",
            SchedCls => "sched_cls",
            SchedAct => "sched_act",
            Tracepoint => "tracepoint",
            Xdp => "xdp",
            PerfEvent => "perf_event",
            CgroupSkb => "cgroup_skb",
            CgroupSock => "cgroup_sock",
            LwtIn => "lwt_in",
            LwtOut => "lwt_out",
            LwtXmit => "lwt_xmit",
            SockOps => "sock_ops",
            SkSkb => "sk_skb",
            CgroupDevice => "cgroup_device",
            SkMsg => "sk_msg",
            RawTracepoint => "raw_tracepoint",
            CgroupSockAddr => "cgroup_sock_addr",
            LwtSeg6local => "lwt_seg6local",
            LircMode2 => "lirc_mode2",
            SkReuseport => "sk_reuseport",
            FlowDissector => "flow_dissector",
            CgroupSysctl => "cgroup_sysctl",
            RawTracepointWritable => "raw_tracepoint_writable",
            CgroupSockopt => "cgroup_sockopt",
            Tracing => "tracing",
            StructOps => "struct_ops",
            Ext => "ext",
            Lsm => "lsm",
            SkLookup => "sk_lookup",
            Syscall => "syscall",
            Netfilter => "netfilter",
        }
    }
}

impl fmt::Display for ProgramType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a section name is matched: exactly, or as `prefix/anything`, or either.
#[derive(Clone, Copy)]
enum Match {
    /// The name alone (`xdp`).
    Exact,
    /// `name/...` (`kprobe/do_unlinkat`); the name alone too, as libbpf allows
    /// for the ones whose attach target may come from elsewhere.
    Prefix,
}

/// libbpf's section definitions (tools/lib/bpf/libbpf.c, `section_defs`),
/// in its order: the first match wins.
const SECTIONS: &[(&str, Match, ProgramType)] = {
    use Match::*;
    use ProgramType::*;
    &[
        ("socket", Prefix, SocketFilter),
        ("sk_reuseport/migrate", Exact, SkReuseport),
        ("sk_reuseport", Exact, SkReuseport),
        ("kprobe", Prefix, Kprobe),
        ("uprobe", Prefix, Kprobe),
        ("uprobe.s", Prefix, Kprobe),
        ("kretprobe", Prefix, Kprobe),
        ("uretprobe", Prefix, Kprobe),
        ("uretprobe.s", Prefix, Kprobe),
        ("kprobe.multi", Prefix, Kprobe),
        ("kretprobe.multi", Prefix, Kprobe),
        ("kprobe.session", Prefix, Kprobe),
        ("uprobe.multi", Prefix, Kprobe),
        ("uretprobe.multi", Prefix, Kprobe),
        ("uprobe.multi.s", Prefix, Kprobe),
        ("uretprobe.multi.s", Prefix, Kprobe),
        ("ksyscall", Prefix, Kprobe),
        ("kretsyscall", Prefix, Kprobe),
        ("usdt", Prefix, Kprobe),
        ("usdt.s", Prefix, Kprobe),
        ("tc/ingress", Exact, SchedCls),
        ("tc/egress", Exact, SchedCls),
        ("tcx/ingress", Exact, SchedCls),
        ("tcx/egress", Exact, SchedCls),
        ("tc", Exact, SchedCls),
        ("classifier", Prefix, SchedCls),
        ("action", Prefix, SchedAct),
        ("netkit/primary", Exact, SchedCls),
        ("netkit/peer", Exact, SchedCls),
        ("tracepoint", Prefix, Tracepoint),
        ("tp", Prefix, Tracepoint),
        ("raw_tracepoint", Prefix, RawTracepoint),
        ("raw_tp", Prefix, RawTracepoint),
        ("raw_tracepoint.w", Prefix, RawTracepointWritable),
        ("raw_tp.w", Prefix, RawTracepointWritable),
        ("tp_btf", Prefix, Tracing),
        ("fentry", Prefix, Tracing),
        ("fmod_ret", Prefix, Tracing),
        ("fexit", Prefix, Tracing),
        ("fentry.s", Prefix, Tracing),
        ("fmod_ret.s", Prefix, Tracing),
        ("fexit.s", Prefix, Tracing),
        ("freplace", Prefix, Ext),
        ("lsm", Prefix, Lsm),
        ("lsm.s", Prefix, Lsm),
        ("lsm_cgroup", Prefix, Lsm),
        ("iter", Prefix, Tracing),
        ("iter.s", Prefix, Tracing),
        ("syscall", Exact, Syscall),
        ("xdp.frags/devmap", Exact, Xdp),
        ("xdp/devmap", Exact, Xdp),
        ("xdp.frags/cpumap", Exact, Xdp),
        ("xdp/cpumap", Exact, Xdp),
        ("xdp.frags", Exact, Xdp),
        ("xdp", Prefix, Xdp),
        ("perf_event", Exact, PerfEvent),
        ("lwt_in", Exact, LwtIn),
        ("lwt_out", Exact, LwtOut),
        ("lwt_xmit", Exact, LwtXmit),
        ("lwt_seg6local", Exact, LwtSeg6local),
        ("sockops", Exact, SockOps),
        ("sk_skb/stream_parser", Exact, SkSkb),
        ("sk_skb/stream_verdict", Exact, SkSkb),
        ("sk_skb/verdict", Exact, SkSkb),
        ("sk_skb", Prefix, SkSkb),
        ("sk_msg", Exact, SkMsg),
        ("lirc_mode2", Exact, LircMode2),
        ("flow_dissector", Exact, FlowDissector),
        ("cgroup_skb/ingress", Exact, CgroupSkb),
        ("cgroup_skb/egress", Exact, CgroupSkb),
        ("cgroup/skb", Exact, CgroupSkb),
        ("cgroup/sock_create", Exact, CgroupSock),
        ("cgroup/sock_release", Exact, CgroupSock),
        ("cgroup/sock", Exact, CgroupSock),
        ("cgroup/post_bind4", Exact, CgroupSock),
        ("cgroup/post_bind6", Exact, CgroupSock),
        ("cgroup/bind4", Exact, CgroupSockAddr),
        ("cgroup/bind6", Exact, CgroupSockAddr),
        ("cgroup/connect4", Exact, CgroupSockAddr),
        ("cgroup/connect6", Exact, CgroupSockAddr),
        ("cgroup/connect_unix", Exact, CgroupSockAddr),
        ("cgroup/sendmsg4", Exact, CgroupSockAddr),
        ("cgroup/sendmsg6", Exact, CgroupSockAddr),
        ("cgroup/sendmsg_unix", Exact, CgroupSockAddr),
        ("cgroup/recvmsg4", Exact, CgroupSockAddr),
        ("cgroup/recvmsg6", Exact, CgroupSockAddr),
        ("cgroup/recvmsg_unix", Exact, CgroupSockAddr),
        ("cgroup/getpeername4", Exact, CgroupSockAddr),
        ("cgroup/getpeername6", Exact, CgroupSockAddr),
        ("cgroup/getpeername_unix", Exact, CgroupSockAddr),
        ("cgroup/getsockname4", Exact, CgroupSockAddr),
        ("cgroup/getsockname6", Exact, CgroupSockAddr),
        ("cgroup/getsockname_unix", Exact, CgroupSockAddr),
        ("cgroup/sysctl", Exact, CgroupSysctl),
        ("cgroup/getsockopt", Exact, CgroupSockopt),
        ("cgroup/setsockopt", Exact, CgroupSockopt),
        ("cgroup/dev", Exact, CgroupDevice),
        ("struct_ops", Prefix, StructOps),
        ("struct_ops.s", Prefix, StructOps),
        ("sk_lookup", Exact, SkLookup),
        ("netfilter", Exact, Netfilter),
    ]
};

/// The program type of a section, or `None` when libbpf would not know it.
pub fn program_type(section: &str) -> Option<ProgramType> {
    SECTIONS.iter().find_map(|&(name, how, ty)| {
        let hit = match how {
            Match::Exact => section == name,
            Match::Prefix => {
                section == name
                    || section
                        .strip_prefix(name)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        };
        hit.then_some(ty)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libbpf_section_names() {
        assert_eq!(program_type("xdp"), Some(ProgramType::Xdp));
        assert_eq!(program_type("xdp/devmap"), Some(ProgramType::Xdp));
        assert_eq!(program_type("tc"), Some(ProgramType::SchedCls));
        assert_eq!(program_type("tcx/ingress"), Some(ProgramType::SchedCls));
        assert_eq!(program_type("classifier/x"), Some(ProgramType::SchedCls));
        assert_eq!(
            program_type("kprobe/do_unlinkat"),
            Some(ProgramType::Kprobe)
        );
        assert_eq!(program_type("uprobe.s/x"), Some(ProgramType::Kprobe));
        assert_eq!(
            program_type("tracepoint/syscalls/sys_enter_openat"),
            Some(ProgramType::Tracepoint)
        );
        assert_eq!(program_type("lsm/file_open"), Some(ProgramType::Lsm));
        assert_eq!(program_type("socket"), Some(ProgramType::SocketFilter));
        assert_eq!(
            program_type("cgroup_skb/egress"),
            Some(ProgramType::CgroupSkb)
        );
        assert_eq!(program_type("xdpfoo"), None, "prefix needs a slash");
        assert_eq!(program_type("tc/sideways"), None);
        assert_eq!(program_type("nonsense"), None);
    }
}
