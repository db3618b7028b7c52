//! The guest's network for a job granted one: brings `lo` and `eth0` up, gives `eth0` its
//! address and the default route (rtnetlink messages, built here by hand: the static init has
//! no `ip` to run), and writes `/etc/resolv.conf`. The numbers are the protocol's
//! (`bridle_guest_init::NET_*`), the same the host gave passt.

use bridle_guest_init::{NET_ADDRESS, NET_GATEWAY, NET_MTU, NET_NAMESERVER, NET_PREFIX};
use rustix::fd::OwnedFd;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
use std::io;
use std::time::{Duration, Instant};

/// The interface QEMU's virtio-net device becomes.
const IFNAME: &str = "eth0";
/// How long init waits for the driver to register `eth0` (it probes before init runs; this
/// only covers a slow boot).
const IF_WAIT: Duration = Duration::from_secs(5);

// linux/netlink.h and linux/rtnetlink.h.
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const IFF_UP: u32 = 0x1;
const IFLA_MTU: u16 = 4;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const AF_INET: u8 = 2;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RTN_UNICAST: u8 = 1;
/// The loopback interface's index: always 1.
const LO_INDEX: u32 = 1;

/// Configures the guest's network. Errors name the step.
pub fn configure() -> Result<(), (&'static str, io::Error)> {
    let eth0 = wait_for_interface().map_err(|e| ("find eth0", e))?;
    let sock = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| ("open a netlink socket", e.into()))?;
    let mut nl = Netlink { sock, seq: 0 };
    nl.request(RTM_NEWLINK, 0, &link_up(LO_INDEX, None))
        .map_err(|e| ("bring lo up", e))?;
    nl.request(RTM_NEWLINK, 0, &link_up(eth0, Some(NET_MTU)))
        .map_err(|e| ("bring eth0 up", e))?;
    nl.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &address(eth0))
        .map_err(|e| ("address eth0", e))?;
    nl.request(
        RTM_NEWROUTE,
        NLM_F_CREATE | NLM_F_EXCL,
        &default_route(eth0),
    )
    .map_err(|e| ("add the default route", e))?;
    let [a, b, c, d] = NET_NAMESERVER;
    std::fs::write("/etc/resolv.conf", format!("nameserver {a}.{b}.{c}.{d}\n"))
        .map_err(|e| ("write /etc/resolv.conf", e))?;
    Ok(())
}

fn wait_for_interface() -> io::Result<u32> {
    let probe = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )?;
    let deadline = Instant::now() + IF_WAIT;
    loop {
        match rustix::net::netdevice::name_to_index(&probe, IFNAME) {
            Ok(index) => return Ok(index),
            Err(e) if Instant::now() >= deadline => return Err(e.into()),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

struct Netlink {
    sock: OwnedFd,
    seq: u32,
}

impl Netlink {
    /// Sends one request with `body` and waits for the kernel's acknowledgement.
    fn request(&mut self, kind: u16, flags: u16, body: &[u8]) -> io::Result<()> {
        self.seq += 1;
        let len = 16 + body.len();
        let mut msg = Vec::with_capacity(len);
        msg.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_ne_bytes());
        msg.extend_from_slice(&kind.to_ne_bytes());
        msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | flags).to_ne_bytes());
        msg.extend_from_slice(&self.seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        rustix::net::send(&self.sock, &msg, SendFlags::empty())?;
        let mut buf = [0u8; 1024];
        loop {
            let (n, _) = rustix::net::recv(&self.sock, &mut buf, RecvFlags::empty())?;
            let reply = &buf[..n.min(buf.len())];
            if let Some(result) = ack(reply, self.seq) {
                return result;
            }
        }
    }
}

/// The outcome in an `NLMSG_ERROR` reply to request `seq`, if `reply` is one.
fn ack(reply: &[u8], seq: u32) -> Option<io::Result<()>> {
    let kind = u16::from_ne_bytes([*reply.get(4)?, *reply.get(5)?]);
    let got_seq = u32::from_ne_bytes(reply.get(8..12)?.try_into().ok()?);
    if kind != NLMSG_ERROR || got_seq != seq {
        return None;
    }
    let errno = i32::from_ne_bytes(reply.get(16..20)?.try_into().ok()?);
    Some(if errno == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(-errno))
    })
}

/// An attribute: length, type, value, padded to 4 bytes.
fn attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// `struct ifinfomsg` setting IFF_UP, and the MTU if given.
fn link_up(index: u32, mtu: Option<u32>) -> Vec<u8> {
    let mut b = vec![0u8, 0]; // ifi_family AF_UNSPEC, pad
    b.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
    b.extend_from_slice(&index.to_ne_bytes()); // ifi_index
    b.extend_from_slice(&IFF_UP.to_ne_bytes()); // ifi_flags
    b.extend_from_slice(&IFF_UP.to_ne_bytes()); // ifi_change
    if let Some(mtu) = mtu {
        attr(&mut b, IFLA_MTU, &mtu.to_ne_bytes());
    }
    b
}

/// `struct ifaddrmsg` plus the address, for `eth0`.
fn address(index: u32) -> Vec<u8> {
    let mut b = vec![AF_INET, NET_PREFIX, 0, RT_SCOPE_UNIVERSE];
    b.extend_from_slice(&index.to_ne_bytes());
    attr(&mut b, IFA_LOCAL, &NET_ADDRESS);
    attr(&mut b, IFA_ADDRESS, &NET_ADDRESS);
    b
}

/// `struct rtmsg` for `default via NET_GATEWAY dev eth0`.
fn default_route(index: u32) -> Vec<u8> {
    let mut b = vec![
        AF_INET,
        0, // dst_len: the default route
        0, // src_len
        0, // tos
        RT_TABLE_MAIN,
        RTPROT_BOOT,
        RT_SCOPE_UNIVERSE,
        RTN_UNICAST,
    ];
    b.extend_from_slice(&0u32.to_ne_bytes()); // rtm_flags
    attr(&mut b, RTA_GATEWAY, &NET_GATEWAY);
    attr(&mut b, RTA_OIF, &index.to_ne_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_the_kernels_layout() {
        // ifinfomsg is 16 bytes, one 8-byte attribute after it.
        assert_eq!(link_up(2, None).len(), 16);
        assert_eq!(link_up(2, Some(1500)).len(), 24);
        // ifaddrmsg is 8 bytes, two 8-byte attributes.
        assert_eq!(address(2).len(), 24);
        // rtmsg is 12 bytes, two 8-byte attributes.
        assert_eq!(default_route(2).len(), 28);
        let mut reply = vec![0u8; 36];
        reply[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        reply[8..12].copy_from_slice(&7u32.to_ne_bytes());
        assert!(matches!(ack(&reply, 7), Some(Ok(()))));
        assert!(ack(&reply, 8).is_none());
        reply[16..20].copy_from_slice(&(-17i32).to_ne_bytes());
        let e = ack(&reply, 7)
            .and_then(Result::err)
            .map(|e| e.raw_os_error());
        assert_eq!(e, Some(Some(17)));
    }
}
