// SPDX-License-Identifier: GPL-2.0-or-later

//! xdp-tools' xdp-filter, unchanged: every compiled XDP object of it that
//! the system has (Debian installs `xdpfilt_{alw,dny}_{all,eth,ip,tcp,udp}.o`
//! in `/usr/lib/<triplet>/bpf`, with libxdp1, which xdp-tools depends on;
//! `XDP_FILTER_DIR` names another directory).  Each program section of
//! each object loads and verifies as the filter verifies it by default
//! (XDP, for frames of at least an Ethernet header), with its maps pinned
//! by name (`LIBBPF_PIN_BY_NAME`); the maps are filled as xdp-filter's
//! user space fills them (`xdp-filter port|ip|ether ...`: the rule's
//! flags in the low bits of a per-CPU u64 whose upper bits count hits),
//! and frames get the verdicts the rules and the object's policy say
//! (allow: a frame matching a rule is dropped; deny: only such frames
//! pass), with the hits and `xdp_stats_map` counted.  Programs of
//! different objects loaded through one [`PinRegistry`] share their
//! maps.
//!
//! What an object filters is read from its `features` section, as
//! xdp-filter does; the object's name must agree.  Where `bpf()` works,
//! the kernel (`BPF_PROG_TEST_RUN`) must give the same verdicts and hit
//! counts on the same frames and rules.
//!
//! Skipped, with a message, when no object is installed
//! (`apt-get install xdp-tools`).

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::kernel;
use common::{ether, ipv4, ipv6, ports};
use object::{Object, ObjectSection};
use ubpf::maps::{Pinning, BPF_ANY};
use ubpf::{
    Engine, ErrorKind, Map, Packet, PacketMeta, PinRegistry, ProgType, Program, Trust,
    VerifyOptions, Vm, VmOptions,
};

// xdp-filter's common_kern_user.h
const FEAT_TCP: u32 = 1 << 0;
const FEAT_UDP: u32 = 1 << 1;
const FEAT_IPV6: u32 = 1 << 2;
const FEAT_IPV4: u32 = 1 << 3;
const FEAT_ETHERNET: u32 = 1 << 4;
const FEAT_ALLOW: u32 = 1 << 5;
const FEAT_DENY: u32 = 1 << 6;
const MAP_FLAG_SRC: u64 = 1 << 0;
const MAP_FLAG_DST: u64 = 1 << 1;
const MAP_FLAG_TCP: u64 = 1 << 2;
const MAP_FLAG_UDP: u64 = 1 << 3;
const MAP_FLAGS: u64 = 0xf;
const COUNTER_SHIFT: u32 = 6;

const XDP_ABORTED: u64 = 0;
const XDP_DROP: u64 = 1;
const XDP_PASS: u64 = 2;

/// The filter's default verification: frames of at least `ETH_HLEN`.
const MIN_LEN: usize = 14;

/// The directories where xdp-tools' objects may be.
fn object_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("XDP_FILTER_DIR")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    dirs.push(format!("/usr/lib/{}-linux-gnu/bpf", std::env::consts::ARCH).into());
    dirs.push("/usr/lib/bpf".into());
    dirs.push("/usr/local/lib/bpf".into());
    dirs
}

/// One xdp-filter object.
struct Filter {
    path: PathBuf,
    /// File name without `.o`.
    name: String,
    /// Its `features` word (`FEAT_*`).
    features: u32,
}

impl Filter {
    fn new(path: PathBuf) -> Self {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a file name")
            .to_owned();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let elf = object::File::parse(&*bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let section = elf
            .section_by_name("features")
            .unwrap_or_else(|| panic!("{name}: no features section"));
        let data = section.data().expect("features data");
        let features = u32::from_le_bytes(data[..4].try_into().expect("a u32"));
        Self {
            path,
            name,
            features,
        }
    }

    const fn has(&self, feature: u32) -> bool {
        self.features & feature != 0
    }

    /// Deny policy: frames pass only if a rule matches.
    const fn deny(&self) -> bool {
        self.has(FEAT_DENY)
    }

    /// Whether the program parses IP headers (and aborts on bad ones).
    const fn parses_ip(&self) -> bool {
        self.has(FEAT_IPV4 | FEAT_IPV6 | FEAT_TCP | FEAT_UDP)
    }

    /// The maps the object must declare, all pinned by name, sorted.
    fn expected_maps(&self) -> Vec<&'static str> {
        let mut maps = vec!["xdp_stats_map"];
        if self.has(FEAT_ETHERNET) {
            maps.push("filter_ethernet");
        }
        if self.has(FEAT_IPV4) {
            maps.push("filter_ipv4");
        }
        if self.has(FEAT_IPV6) {
            maps.push("filter_ipv6");
        }
        if self.has(FEAT_TCP | FEAT_UDP) {
            maps.push("filter_ports");
        }
        maps.sort_unstable();
        maps
    }

    /// The object's program sections, each loaded by name.
    fn programs(&self) -> Vec<Program> {
        let names = match Program::load_file(&self.path, None) {
            Ok(p) => p.object_programs().to_vec(),
            Err(e) => match e.kind() {
                ErrorKind::AmbiguousSection { available } => available.clone(),
                _ => panic!("{}: {e}", self.name),
            },
        };
        assert!(!names.is_empty(), "{}: no program", self.name);
        names
            .iter()
            .map(|n| {
                Program::load_file(&self.path, Some(n))
                    .unwrap_or_else(|e| panic!("{} {n}: {e}", self.name))
            })
            .collect()
    }
}

/// What a name `xdpfilt_<policy>_<what>` says the features are.
fn features_of_name(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("xdpfilt_")?;
    let (policy, what) = rest.split_once('_')?;
    let policy = match policy {
        "alw" => FEAT_ALLOW,
        "dny" => FEAT_DENY,
        _ => return None,
    };
    let what = match what {
        "all" => FEAT_TCP | FEAT_UDP | FEAT_IPV6 | FEAT_IPV4 | FEAT_ETHERNET,
        "eth" => FEAT_ETHERNET,
        "ip" => FEAT_IPV4 | FEAT_IPV6,
        "tcp" => FEAT_TCP,
        "udp" => FEAT_UDP,
        _ => return None,
    };
    Some(policy | what)
}

/// The xdp-filter objects of the first directory that has any, by name;
/// None (after saying so) when there are none.
fn filters() -> Option<Vec<Filter>> {
    for dir in object_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("xdpfilt_") && n.ends_with(".o"))
            })
            .collect();
        if paths.is_empty() {
            continue;
        }
        paths.sort();
        let filters: Vec<Filter> = paths.into_iter().map(Filter::new).collect();
        for f in &filters {
            if let Some(want) = features_of_name(&f.name) {
                assert_eq!(f.features, want, "{}: features word", f.name);
            }
            assert!(
                f.has(FEAT_ALLOW) != f.has(FEAT_DENY),
                "{}: one policy, features {:#x}",
                f.name,
                f.features
            );
        }
        return Some(filters);
    }
    let dirs: Vec<String> = object_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    println!(
        "skipped: xdp-filter's objects (xdpfilt_*.o) are not installed (looked in {}); \
         apt-get install xdp-tools, or set XDP_FILTER_DIR",
        dirs.join(", ")
    );
    None
}

/// `prog` as the filter prepares it by default: XDP (from its section),
/// verified for frames of at least [`MIN_LEN`] bytes, on the JIT (or,
/// without `jit`, the interpreter with the proof), its pinned maps from
/// `pins`.
fn prepare(prog: &Program, jit: bool, pins: &PinRegistry) -> Vm {
    let name = prog.origin().to_owned();
    let ty = ProgType::from_section(prog.section());
    assert_eq!(ty, ProgType::Xdp, "{name}: section {}", prog.section());
    let mut prog = prog.clone();
    prog.set_prog_type(ty);
    let convention = ty.convention();
    let options = VerifyOptions {
        convention,
        min_len: MIN_LEN,
    };
    let proof = ubpf::verify(&prog, &options)
        .unwrap_or_else(|e| panic!("our verifier refuses {name}: {e}"));
    let (engine, proof) = if jit {
        (Engine::Jit(Trust::Verified(proof)), None)
    } else {
        (Engine::Interpreter, Some(proof))
    };
    let opts = VmOptions { convention, proof };
    let vm = Vm::with_pins(prog, engine, opts, pins, None).unwrap_or_else(|e| panic!("{e}"));
    assert!(vm.is_verified());
    vm
}

fn run(vm: &mut Vm, frame: &[u8]) -> u64 {
    let mut pkt = Packet::new(frame);
    vm.run_packet(&mut pkt, &PacketMeta::default())
        .unwrap_or_else(|e| panic!("run: {e}"))
        .r0
}

/// The rules, as xdp-filter's commands add them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    /// `xdp-filter port 53 --mode dst --proto udp`
    Dns,
    /// `xdp-filter port 22 --mode src,dst --proto tcp`
    Ssh,
    /// `xdp-filter ip 10.0.0.66 --mode src`
    Ipv4Src,
    /// `xdp-filter ip 2001:db8::66 --mode dst`
    Ipv6Dst,
    /// `xdp-filter ether 02:00:00:00:00:66 --mode src`
    EtherSrc,
}

const RULES: [Rule; 5] = [
    Rule::Dns,
    Rule::Ssh,
    Rule::Ipv4Src,
    Rule::Ipv6Dst,
    Rule::EtherSrc,
];

const RULE_IPV4: [u8; 4] = [10, 0, 0, 66];
const RULE_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x66];

fn v6(last: u8) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[15] = last;
    a
}

/// The port map's key: the port in network byte order, zero-extended to
/// a u32 (`htons(port)` stored in a `__u32`).
fn port_key(port: u16) -> Vec<u8> {
    let mut k = port.to_be_bytes().to_vec();
    k.extend_from_slice(&[0, 0]);
    k
}

impl Rule {
    /// The feature that checks the rule.
    const fn feature(self) -> u32 {
        match self {
            Self::Dns => FEAT_UDP,
            Self::Ssh => FEAT_TCP,
            Self::Ipv4Src => FEAT_IPV4,
            Self::Ipv6Dst => FEAT_IPV6,
            Self::EtherSrc => FEAT_ETHERNET,
        }
    }

    /// Its map, key and flags.
    fn entry(self) -> (&'static str, Vec<u8>, u64) {
        match self {
            Self::Dns => ("filter_ports", port_key(53), MAP_FLAG_DST | MAP_FLAG_UDP),
            Self::Ssh => (
                "filter_ports",
                port_key(22),
                MAP_FLAG_SRC | MAP_FLAG_DST | MAP_FLAG_TCP,
            ),
            Self::Ipv4Src => ("filter_ipv4", RULE_IPV4.to_vec(), MAP_FLAG_SRC),
            Self::Ipv6Dst => ("filter_ipv6", v6(0x66).to_vec(), MAP_FLAG_DST),
            Self::EtherSrc => ("filter_ethernet", RULE_MAC.to_vec(), MAP_FLAG_SRC),
        }
    }

    /// Add the rule to `map` as xdp-filter's `map_set_flags()` does: the
    /// flags replace the value's flag bits, its hit count stays.
    fn add(self, map: &Map) {
        let (_, key, flags) = self.entry();
        let old = map
            .lookup(&key)
            .map_or(0, |v| u64::from_le_bytes(v[..8].try_into().unwrap()));
        let value = (old & !MAP_FLAGS) | flags;
        map.update(&key, &value.to_le_bytes(), BPF_ANY)
            .unwrap_or_else(|e| panic!("{self:?}: {e}"));
    }

    /// The value of the rule's entry in `map`: flags and hits.
    fn value(self, map: &Map) -> u64 {
        let (_, key, _) = self.entry();
        let v = map.lookup(&key).unwrap_or_else(|e| panic!("{self:?}: {e}"));
        u64::from_le_bytes(v[..8].try_into().unwrap())
    }
}

/// A frame of the test and the rule it matches, if any.
struct Case {
    what: &'static str,
    frame: Vec<u8>,
    rule: Option<Rule>,
    /// Its IPv4 header is cut short: programs that parse IP abort.
    bad_ip: bool,
}

fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut l4 = ports(sport, dport, 8);
    l4[4..6].copy_from_slice(&12u16.to_be_bytes());
    l4.extend_from_slice(b"data");
    ipv4(17, src, dst, &l4)
}

fn tcp(sport: u16, dport: u16) -> Vec<u8> {
    let mut l4 = ports(sport, dport, 20);
    l4[12] = 0x50; // data offset: 5 words
    l4[13] = 0x02; // SYN
    l4
}

fn udp6(dst: [u8; 16], dport: u16) -> Vec<u8> {
    let mut l4 = ports(40000, dport, 8);
    l4[4..6].copy_from_slice(&8u16.to_be_bytes());
    ipv6(17, v6(1), dst, &l4)
}

/// An ARP request from `sha`/`spa` for `tpa`.
fn arp(sha: [u8; 6], spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
    a.extend_from_slice(&sha);
    a.extend_from_slice(&spa);
    a.extend_from_slice(&[0; 6]);
    a.extend_from_slice(&tpa);
    let mut f = ether(0x0806, &[], &a);
    f[6..12].copy_from_slice(&sha);
    f
}

fn cases() -> Vec<Case> {
    let (me, peer) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let case = |what, frame, rule| Case {
        what,
        frame,
        rule,
        bad_ip: false,
    };
    let mut from_rule_mac = ether(0x0800, &[], &udp4(me, peer, 40000, 54));
    from_rule_mac[6..12].copy_from_slice(&RULE_MAC);
    vec![
        case(
            "UDP to port 53",
            ether(0x0800, &[], &udp4(me, peer, 40000, 53)),
            Some(Rule::Dns),
        ),
        case(
            "UDP to port 53 in a VLAN",
            ether(0x0800, &[0x8100], &udp4(me, peer, 40000, 53)),
            Some(Rule::Dns),
        ),
        case(
            "UDP to port 54",
            ether(0x0800, &[], &udp4(me, peer, 40000, 54)),
            None,
        ),
        case(
            "UDP from port 53 (the rule is for the destination)",
            ether(0x0800, &[], &udp4(peer, me, 53, 40000)),
            None,
        ),
        case(
            "TCP to port 53 (the rule is for UDP)",
            ether(0x0800, &[], &ipv4(6, me, peer, &tcp(40000, 53))),
            None,
        ),
        case(
            "TCP from port 22",
            ether(0x0800, &[], &ipv4(6, peer, me, &tcp(22, 40000))),
            Some(Rule::Ssh),
        ),
        case(
            "UDP from 10.0.0.66",
            ether(0x0800, &[], &udp4(RULE_IPV4, peer, 40000, 54)),
            Some(Rule::Ipv4Src),
        ),
        case(
            "UDP to 10.0.0.66 (the rule is for the source)",
            ether(0x0800, &[], &udp4(me, RULE_IPV4, 40000, 54)),
            None,
        ),
        case(
            "IPv6 UDP to 2001:db8::66",
            ether(0x86dd, &[], &udp6(v6(0x66), 54)),
            Some(Rule::Ipv6Dst),
        ),
        case(
            "IPv6 UDP to 2001:db8::2",
            ether(0x86dd, &[], &udp6(v6(2), 54)),
            None,
        ),
        case(
            "IPv6 TCP to port 22",
            ether(0x86dd, &[], &ipv6(6, v6(1), v6(2), &tcp(40000, 22))),
            Some(Rule::Ssh),
        ),
        case("ARP request", arp([2, 0, 0, 0, 0, 1], me, peer), None),
        case(
            "ARP request from 02:00:00:00:00:66",
            arp(RULE_MAC, me, peer),
            Some(Rule::EtherSrc),
        ),
        case(
            "UDP from 02:00:00:00:00:66",
            from_rule_mac,
            Some(Rule::EtherSrc),
        ),
        Case {
            what: "IPv4 header cut short",
            frame: ether(0x0800, &[], &[0x45, 0, 0, 20, 0, 0]),
            rule: None,
            bad_ip: true,
        },
    ]
}

/// The verdict `f`'s program must give `c`.
fn expected(f: &Filter, c: &Case) -> u64 {
    if c.bad_ip && f.parses_ip() {
        return XDP_ABORTED;
    }
    let hit = c.rule.is_some_and(|r| f.has(r.feature()));
    // allow: a match drops; deny: only a match passes
    if hit == f.deny() {
        XDP_PASS
    } else {
        XDP_DROP
    }
}

/// `xdp_stats_map[action]`: packets and bytes.
fn stats(vm: &Vm, action: u64) -> (u64, u64) {
    let key = u32::try_from(action).unwrap().to_le_bytes();
    let v = vm.map("xdp_stats_map").unwrap().lookup(&key).unwrap();
    let word = |i: usize| u64::from_le_bytes(v[8 * i..8 * i + 8].try_into().unwrap());
    (word(0), word(1))
}

#[test]
fn every_object_loads_verifies_and_pins_its_maps_by_name() {
    let Some(filters) = filters() else {
        return;
    };
    println!("{} xdp-filter objects", filters.len());
    for f in &filters {
        let progs = f.programs();
        for prog in &progs {
            let names: Vec<&str> = prog.maps().iter().map(|m| m.name.as_str()).collect();
            let mut pinned: Vec<&str> = prog
                .maps()
                .iter()
                .zip(prog.map_extras())
                .filter(|(_, e)| e.pinning == Pinning::ByName)
                .map(|(m, _)| m.name.as_str())
                .collect();
            pinned.sort_unstable();
            assert_eq!(pinned, f.expected_maps(), "{}: pinned by name", f.name);
            assert_eq!(names.len(), pinned.len(), "{}: every map is pinned", f.name);
            println!(
                "{} ({}): features {:#04x}, pinned by name: {}",
                f.name,
                prog.section(),
                f.features,
                pinned.join(", ")
            );
            // loaded through a registry, the pinned maps are the registry's
            let pins = PinRegistry::new();
            let vm = prepare(prog, true, &pins);
            assert_eq!(pins.names(), f.expected_maps(), "{}", f.name);
            for name in f.expected_maps() {
                let theirs = pins.get(name).unwrap();
                let ours = vm.map_handle(name).unwrap();
                assert!(Arc::ptr_eq(&theirs, &ours), "{}: {name}", f.name);
            }
        }
    }
    // both policies (Debian's package: five feature sets each)
    assert!(filters.iter().any(Filter::deny), "a deny object");
    assert!(filters.iter().any(|f| !f.deny()), "an allow object");
}

#[test]
fn every_object_filters_by_its_rules_and_policy() {
    let Some(filters) = filters() else {
        return;
    };
    let cases = cases();
    for f in &filters {
        for prog in f.programs() {
            // one registry per object: its two Vms (verified interpreter
            // and JIT) share the maps
            let pins = PinRegistry::new();
            let mut vms = [prepare(&prog, false, &pins), prepare(&prog, true, &pins)];
            for rule in RULES.iter().filter(|r| f.has(r.feature())) {
                rule.add(vms[0].map(rule.entry().0).unwrap());
            }
            let mut want_stats = [(0u64, 0u64); 5];
            for c in &cases {
                let want = expected(f, c);
                for vm in &mut vms {
                    let got = run(vm, &c.frame);
                    assert_eq!(
                        got,
                        want,
                        "{} (jit {}): {}: {:02x?}",
                        f.name,
                        vm.is_jit(),
                        c.what,
                        c.frame
                    );
                    let s = &mut want_stats[usize::try_from(want).unwrap()];
                    s.0 += 1;
                    s.1 += c.frame.len() as u64;
                }
            }
            // each rule counted its hits (from bit 6 up), both Vms'
            for rule in RULES.iter().filter(|r| f.has(r.feature())) {
                let hits = 2 * cases.iter().filter(|c| c.rule == Some(*rule)).count() as u64;
                let (map, _, flags) = rule.entry();
                assert_eq!(
                    rule.value(vms[1].map(map).unwrap()),
                    flags | hits << COUNTER_SHIFT,
                    "{}: {rule:?}",
                    f.name
                );
            }
            // and the program counted every verdict
            for action in [XDP_ABORTED, XDP_DROP, XDP_PASS] {
                assert_eq!(
                    stats(&vms[0], action),
                    want_stats[usize::try_from(action).unwrap()],
                    "{}: xdp_stats_map[{action}]",
                    f.name
                );
            }
            assert_ne!(
                want_stats[1].0 * want_stats[2].0,
                0,
                "{}: drops and passes",
                f.name
            );
        }
    }
}

/// The object called `name`, if installed.
fn named<'a>(filters: &'a [Filter], name: &str) -> Option<&'a Filter> {
    filters.iter().find(|f| f.name == name)
}

fn only_program(f: &Filter) -> Program {
    let mut progs = f.programs();
    assert_eq!(progs.len(), 1, "{}", f.name);
    progs.remove(0)
}

#[test]
fn objects_loaded_through_one_registry_share_their_pinned_maps() {
    let Some(filters) = filters() else {
        return;
    };
    let (Some(udp), Some(tcp)) = (
        named(&filters, "xdpfilt_alw_udp"),
        named(&filters, "xdpfilt_alw_tcp"),
    ) else {
        println!("skipped: xdpfilt_alw_udp.o and xdpfilt_alw_tcp.o are not both installed");
        return;
    };
    let pins = PinRegistry::new();
    let mut a = prepare(&only_program(udp), true, &pins);
    let mut b = prepare(&only_program(tcp), true, &pins);
    assert_eq!(pins.names(), ["filter_ports", "xdp_stats_map"]);
    for name in ["filter_ports", "xdp_stats_map"] {
        let (ma, mb) = (a.map_handle(name).unwrap(), b.map_handle(name).unwrap());
        assert!(Arc::ptr_eq(&ma, &mb), "{name}: one map");
    }
    // the host adds a rule through one program's map, the other sees it
    Rule::Dns.add(a.map("filter_ports").unwrap());
    assert_eq!(
        Rule::Dns.value(b.map("filter_ports").unwrap()),
        MAP_FLAG_DST | MAP_FLAG_UDP
    );
    Rule::Ssh.add(b.map("filter_ports").unwrap());
    assert_eq!(
        Rule::Ssh.value(a.map("filter_ports").unwrap()),
        MAP_FLAG_SRC | MAP_FLAG_DST | MAP_FLAG_TCP
    );
    let cases = cases();
    let frame = |what: &str| &cases.iter().find(|c| c.what == what).unwrap().frame;
    let dns = frame("UDP to port 53");
    let ssh = frame("TCP from port 22");
    // each program filters its protocol by the shared rules
    assert_eq!(run(&mut a, dns), XDP_DROP);
    assert_eq!(run(&mut a, ssh), XDP_PASS, "alw_udp has no TCP rules");
    assert_eq!(run(&mut b, ssh), XDP_DROP);
    assert_eq!(run(&mut b, dns), XDP_PASS, "alw_tcp has no UDP rules");
    // a hit counted by one program is seen through the other's map
    assert_eq!(
        Rule::Dns.value(b.map("filter_ports").unwrap()),
        MAP_FLAG_DST | MAP_FLAG_UDP | 1 << COUNTER_SHIFT
    );
    assert_eq!(
        Rule::Ssh.value(a.map("filter_ports").unwrap()),
        MAP_FLAG_SRC | MAP_FLAG_DST | MAP_FLAG_TCP | 1 << COUNTER_SHIFT
    );
    // one xdp_stats_map for both: two drops, two passes
    let bytes = (dns.len() + ssh.len()) as u64;
    for vm in [&a, &b] {
        assert_eq!(stats(vm, XDP_DROP), (2, bytes));
        assert_eq!(stats(vm, XDP_PASS), (2, bytes));
    }

    // every object in the same registry: all their maps agree (libbpf's
    // rule: type, sizes, max_entries, flags), one map of each name
    let mut all: Vec<Vm> = filters
        .iter()
        .flat_map(Filter::programs)
        .map(|p| prepare(&p, true, &pins))
        .collect();
    let mut names: Vec<&str> = filters.iter().flat_map(Filter::expected_maps).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(pins.names(), names);
    for vm in &all {
        for m in vm.maps() {
            let pinned = pins.get(&m.def().name).unwrap();
            assert!(std::ptr::eq(m, Arc::as_ptr(&pinned)), "{}", m.def().name);
        }
    }
    // a frame through each: xdp_stats_map counts them all
    let before: u64 = [XDP_ABORTED, XDP_DROP, XDP_PASS]
        .iter()
        .map(|&v| stats(&a, v).0)
        .sum();
    for vm in &mut all {
        run(vm, frame("UDP to port 54"));
    }
    let after: u64 = [XDP_ABORTED, XDP_DROP, XDP_PASS]
        .iter()
        .map(|&v| stats(&b, v).0)
        .sum();
    assert_eq!(after - before, all.len() as u64);
}

#[test]
fn the_kernel_filters_alike() {
    let Some(filters) = filters() else {
        return;
    };
    if !kernel::available() {
        println!("skipped: bpf() is not available");
        return;
    }
    let cases = cases();
    for f in &filters {
        for prog in f.programs() {
            let k = match kernel::load(&prog, kernel::ProgType::Xdp).expect("bpf() works") {
                Ok(k) => k,
                Err(r) => panic!("the kernel refuses {}: {}\n{}", f.name, r.reason(), r.log),
            };
            // the rules on every CPU, as xdp-filter writes them
            for rule in RULES.iter().filter(|r| f.has(r.feature())) {
                let (map, key, flags) = rule.entry();
                let m = k.maps.iter().find(|m| m.def.name == map).unwrap();
                m.update(&key, &flags.to_le_bytes()).unwrap();
            }
            for c in &cases {
                let out = k
                    .test_run(&c.frame)
                    .unwrap_or_else(|e| panic!("BPF_PROG_TEST_RUN: {e}"));
                assert_eq!(
                    u64::from(out.retval),
                    expected(f, c),
                    "{} in the kernel: {}",
                    f.name,
                    c.what
                );
            }
            for rule in RULES.iter().filter(|r| f.has(r.feature())) {
                let hits = cases.iter().filter(|c| c.rule == Some(*rule)).count() as u64;
                let (map, key, flags) = rule.entry();
                let m = k.maps.iter().find(|m| m.def.name == map).unwrap();
                let v = m.lookup(&key, k.cpu()).unwrap();
                assert_eq!(
                    u64::from_le_bytes(v[..8].try_into().unwrap()),
                    flags | hits << COUNTER_SHIFT,
                    "{} in the kernel: {rule:?}",
                    f.name
                );
            }
        }
    }
}
