// SPDX-License-Identifier: GPL-2.0-or-later

//! Packet helpers for ip-mode, where the program's memory starts at the
//! IPv4 header instead of the Ethernet frame.

const ETH_HLEN: usize = 14;
const ETH_P_IP: u16 = 0x0800;
const VLAN_TPIDS: [u16; 3] = [0x8100, 0x88a8, 0x9100];
const MAX_VLAN_TAGS: usize = 2;
const IPV4_MIN_HLEN: usize = 20;

/// Offset of the IPv4 header in the Ethernet frame `frame`, skipping up
/// to two 802.1Q/802.1ad tags; `None` for frames that do not carry a
/// complete IPv4 header (version 4, header length at least 20 bytes and
/// within the frame).
pub fn ipv4_offset(frame: &[u8]) -> Option<usize> {
    let mut off = ETH_HLEN - 2;
    for _ in 0..=MAX_VLAN_TAGS {
        let proto = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
        if VLAN_TPIDS.contains(&proto) {
            off += 4;
            continue;
        }
        if proto != ETH_P_IP {
            return None;
        }
        let l3 = off + 2;
        let first = *frame.get(l3)?;
        let ihl = usize::from(first & 0x0f) * 4;
        let complete = first >> 4 == 4 && ihl >= IPV4_MIN_HLEN && frame.len() >= l3 + ihl;
        return complete.then_some(l3);
    }
    None
}

/// The memory a filter program runs on, for the Ethernet frame `frame`:
/// with `ip_mode`, the frame from its IPv4 header on; otherwise the whole
/// frame.  `None` means the program is not run and the frame passes:
/// in ip-mode a frame without a complete IPv4 header, otherwise a frame
/// shorter than an Ethernet header.  Programs can thus rely on a complete
/// IPv4 header (ip-mode) or Ethernet header (raw mode) being there.
pub fn program_memory(frame: &mut [u8], ip_mode: bool) -> Option<&mut [u8]> {
    if ip_mode {
        let off = ipv4_offset(frame)?;
        frame.get_mut(off..)
    } else {
        (frame.len() >= ETH_HLEN).then_some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::{ipv4_offset, program_memory};

    fn frame(tags: &[u16], proto: u16) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        for t in tags {
            f.extend_from_slice(&t.to_be_bytes());
            f.extend_from_slice(&[0, 1]);
        }
        f.extend_from_slice(&proto.to_be_bytes());
        f.extend_from_slice(&[0x45; 20]);
        f
    }

    #[test]
    fn offsets() {
        assert_eq!(ipv4_offset(&frame(&[], 0x0800)), Some(14));
        assert_eq!(ipv4_offset(&frame(&[0x8100], 0x0800)), Some(18));
        assert_eq!(ipv4_offset(&frame(&[0x88a8, 0x8100], 0x0800)), Some(22));
        assert_eq!(ipv4_offset(&frame(&[0x8100, 0x8100, 0x8100], 0x0800)), None);
        assert_eq!(ipv4_offset(&frame(&[], 0x0806)), None);
        assert_eq!(ipv4_offset(&frame(&[], 0x86dd)), None);
        assert_eq!(ipv4_offset(&[0; 13]), None);
        assert_eq!(ipv4_offset(&frame(&[], 0x0800)[..14]), None);
        // truncated IPv4 header, wrong version, header length below 20
        assert_eq!(ipv4_offset(&frame(&[], 0x0800)[..33]), None);
        let mut f = frame(&[], 0x0800);
        f[14] = 0x65;
        assert_eq!(ipv4_offset(&f), None);
        f[14] = 0x44;
        assert_eq!(ipv4_offset(&f), None);
    }

    #[test]
    fn memory() {
        let mut f = frame(&[0x8100], 0x0800);
        let len = f.len();
        assert_eq!(
            program_memory(&mut f, true).map(|m| m.len()),
            Some(len - 18)
        );
        assert_eq!(program_memory(&mut f, false).map(|m| m.len()), Some(len));
        let mut arp = frame(&[], 0x0806);
        assert!(program_memory(&mut arp, true).is_none());
        assert!(program_memory(&mut arp, false).is_some());
        assert!(program_memory(&mut [0u8; 13], false).is_none());
    }
}
