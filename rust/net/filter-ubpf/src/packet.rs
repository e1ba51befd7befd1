// SPDX-License-Identifier: GPL-2.0-or-later

//! Where in a frame the program's memory starts.

const ETH_HLEN: usize = 14;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
const VLAN_HLEN: usize = 4;
const IPV4_MIN_HLEN: usize = 20;

/// The whole Ethernet frame, if it holds at least an Ethernet header
/// (raw mode guarantees programs that much).
pub fn ethernet_frame_mut(frame: &mut [u8]) -> Option<&mut [u8]> {
    (frame.len() >= ETH_HLEN).then_some(frame)
}

/// Offset of the IPv4 header in an Ethernet frame, skipping 802.1Q/802.1ad
/// tags; `None` unless the frame holds a complete IPv4 header there.
pub fn ipv4_offset(frame: &[u8]) -> Option<usize> {
    let mut off = ETH_HLEN - 2;
    loop {
        let ethertype = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
        match ethertype {
            ETH_P_8021Q | ETH_P_8021AD => off += VLAN_HLEN,
            ETH_P_IP => break,
            _ => return None,
        }
    }
    let l3 = off + 2;
    let ihl = usize::from(frame.get(l3)? & 0x0f) * 4;
    let version = frame[l3] >> 4;
    (version == 4 && ihl >= IPV4_MIN_HLEN && frame.len() >= l3 + ihl).then_some(l3)
}

/// The frame from its IPv4 header on (ip-mode), or `None` for frames that
/// are not IPv4 or too short to hold the IPv4 header.
pub fn ipv4_payload_mut(frame: &mut [u8]) -> Option<&mut [u8]> {
    let off = ipv4_offset(frame)?;
    frame.get_mut(off..)
}
