//! The channel between Bridle's native host and the init of a microVM guest: length-prefixed
//! frames over one virtio-serial port.
//!
//! The host trusts nothing the guest sends (a job that broke out of its uid inside the guest
//! could write frames), so [`FrameReader`] bounds every length before allocating and every
//! decoder returns a typed error instead of panicking. The guest trusts the host.
//!
//! Guest to host: `READY` once booted and waiting (a snapshot is taken at exactly this point,
//! before any job data exists in the guest), `STARTED` when the job's process runs, `STDOUT` /
//! `STDERR` chunks, then `EXIT`, or `FATAL` if init itself failed.
//! Host to guest: one `GO` carrying fresh entropy, the host's clock and the job's parameters.
//! Before any of that, a snapshot maker's kernel command line may name an interpreter to warm
//! up ([`WarmFiles`]).

use std::io::{self, Read, Write};

/// Guest → host: booted, waiting for `GO`.
pub const TAG_READY: u8 = b'R';
/// Guest → host: the job's process has started (the wall-clock limit counts from here).
pub const TAG_STARTED: u8 = b'S';
/// Guest → host: a chunk of the job's stdout.
pub const TAG_STDOUT: u8 = b'O';
/// Guest → host: a chunk of the job's stderr.
pub const TAG_STDERR: u8 = b'E';
/// Guest → host: the job ended ([`ExitReport`]).
pub const TAG_EXIT: u8 = b'X';
/// Guest → host: init failed before or while starting the job (UTF-8 message).
pub const TAG_FATAL: u8 = b'F';
/// Host → guest: run the job ([`Go`]).
pub const TAG_GO: u8 = b'G';

/// The largest payload of one frame. Output chunks are read in pieces of at most this size, so a
/// compromised guest cannot make the host allocate more per frame.
pub const MAX_FRAME: usize = 64 * 1024;
/// Bytes of fresh host entropy in each `GO`: a full reseed of the guest's ChaCha20 CRNG key.
pub const SEED_LEN: usize = 32;
/// The uid and gid the job runs as inside the guest (nobody/nogroup).
pub const JOB_UID: u32 = 65534;

/// The guest's network, when the job is granted one (`Go::network`): `eth0`, a virtio-net
/// device backed on the host by passt, configured statically by init. The host gives passt the
/// same numbers, so neither side needs DHCP. The guest's address on `eth0`.
pub const NET_ADDRESS: [u8; 4] = [10, 0, 2, 15];
/// The prefix length of [`NET_ADDRESS`]'s network.
pub const NET_PREFIX: u8 = 24;
/// The default gateway (passt answers for it; with `--no-map-gw` it leads nowhere on the host).
pub const NET_GATEWAY: [u8; 4] = [10, 0, 2, 2];
/// The resolver the guest's `/etc/resolv.conf` names: passt forwards its port 53 to the host's.
pub const NET_NAMESERVER: [u8; 4] = [10, 0, 2, 3];
/// The link MTU: passt's own default, and what keeps throughput up under TCG.
pub const NET_MTU: u32 = 65520;

/// The kernel command-line argument that makes init warm an interpreter up before it reports
/// `READY` (so before a snapshot is taken): `bridle.warm=LOADER,PROGRAM,FILE,…`, each a path
/// relative to the shared `/usr` ([`WarmFiles`]).
pub const WARM_ARG: &str = "bridle.warm=";
/// Where init copies a warm interpreter's files: the guest's root file system, in its memory, so
/// they are part of the snapshot (a 9p export cannot be: QEMU refuses to migrate while one is
/// mounted).
pub const WARM_ROOT: &str = "/rt";
/// The most files a warm interpreter may name (it needs about ten).
const MAX_WARM_FILES: usize = 32;

/// The files a warm interpreter needs in guest memory, each relative to `/usr`: the dynamic
/// loader it is started with, the interpreter itself, then its libraries (under the names the
/// loader looks up) and locale data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmFiles {
    pub loader: String,
    pub program: String,
    pub rest: Vec<String>,
}

impl WarmFiles {
    /// The files named by [`WARM_ARG`] in a kernel command line; `None` when it has none.
    pub fn from_cmdline(cmdline: &str) -> Result<Option<Self>, ProtoError> {
        let Some(list) = cmdline
            .split_ascii_whitespace()
            .find_map(|arg| arg.strip_prefix(WARM_ARG))
        else {
            return Ok(None);
        };
        let files: Vec<&str> = list.split(',').collect();
        if files.len() < 2 || files.len() > MAX_WARM_FILES {
            return Err(ProtoError::Malformed(
                "bridle.warm: loader, program and at most 30 more",
            ));
        }
        if !files.iter().all(|f| is_plain_relative(f)) {
            return Err(ProtoError::Malformed(
                "bridle.warm: not a plain relative path",
            ));
        }
        Ok(Some(WarmFiles {
            loader: files[0].to_owned(),
            program: files[1].to_owned(),
            rest: files[2..].iter().map(|f| (*f).to_owned()).collect(),
        }))
    }

    /// The command-line argument naming these files, or `None` if one of them cannot be named
    /// there (an absolute path, `..`, a comma, a space).
    pub fn to_arg(&self) -> Option<String> {
        let all: Vec<&str> = [self.loader.as_str(), self.program.as_str()]
            .into_iter()
            .chain(self.rest.iter().map(String::as_str))
            .collect();
        let ok = all.len() <= MAX_WARM_FILES && all.iter().all(|f| is_plain_relative(f));
        ok.then(|| format!("{WARM_ARG}{}", all.join(",")))
    }
}

/// A relative path of plain names: no `.` or `..` component, nothing but letters, digits and
/// `._+-` in them (so it survives a kernel command line and cannot leave `/usr`).
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
        })
}

/// A protocol violation or a short read.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    /// The peer announced a frame larger than [`MAX_FRAME`].
    #[error("frame of {0} bytes exceeds {MAX_FRAME}")]
    TooLarge(usize),
    /// A frame's payload does not decode.
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
    /// The channel failed or closed mid-frame.
    #[error("channel: {0}")]
    Io(#[from] io::Error),
}

/// Writes one frame. Payloads longer than [`MAX_FRAME`] are refused, not split: callers chunk.
pub fn write_frame(w: &mut impl Write, tag: u8, payload: &[u8]) -> Result<(), ProtoError> {
    if payload.len() > MAX_FRAME {
        return Err(ProtoError::TooLarge(payload.len()));
    }
    let len = u32::try_from(payload.len()).map_err(|_| ProtoError::TooLarge(payload.len()))?;
    let mut buf = Vec::with_capacity(5 + payload.len());
    buf.push(tag);
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(payload);
    w.write_all(&buf)?;
    w.flush()?;
    Ok(())
}

/// Incremental frame parsing over a byte stream that may deliver frames in arbitrary pieces
/// (the host reads with timeouts, so a frame can arrive split across reads).
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
}

impl FrameReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes read from the channel.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, if one is buffered. Errors on an oversized length before the
    /// payload arrives, so the buffer never grows past one header plus [`MAX_FRAME`] plus one
    /// read.
    pub fn next_frame(&mut self) -> Result<Option<(u8, Vec<u8>)>, ProtoError> {
        let Some(header) = self.buf.get(..5) else {
            return Ok(None);
        };
        let tag = header[0];
        let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if len > MAX_FRAME {
            return Err(ProtoError::TooLarge(len));
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let payload = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Ok(Some((tag, payload)))
    }
}

/// Reads exactly one frame from a blocking reader (the guest's side).
pub fn read_frame(r: &mut impl Read) -> Result<(u8, Vec<u8>), ProtoError> {
    let mut header = [0u8; 5];
    r.read_exact(&mut header)?;
    let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
    if len > MAX_FRAME {
        return Err(ProtoError::TooLarge(len));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok((header[0], payload))
}

/// The host's order to run the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Go {
    /// Fresh host entropy, mixed into the guest's pool and forced into a CRNG reseed.
    pub seed: [u8; SEED_LEN],
    /// The host's clock (nanoseconds since the epoch): a restored snapshot's clock is stale.
    pub unix_nanos: u64,
    /// The runtime's absolute path inside the guest (under the shared `/usr`).
    pub runtime: String,
    /// Processes plus threads the job's uid may have (RLIMIT_NPROC).
    pub pids: u32,
    /// Size of the job's writable `/tmp` (tmpfs) in bytes.
    pub tmp_bytes: u64,
    /// Whether to configure `eth0` (the host attached a network device) for the job.
    pub network: bool,
}

impl Go {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SEED_LEN + 24 + self.runtime.len());
        out.extend_from_slice(&self.seed);
        out.extend_from_slice(&self.unix_nanos.to_le_bytes());
        out.extend_from_slice(&self.pids.to_le_bytes());
        out.extend_from_slice(&self.tmp_bytes.to_le_bytes());
        out.push(u8::from(self.network));
        out.extend_from_slice(self.runtime.as_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        let fixed = SEED_LEN + 8 + 4 + 8 + 1;
        if bytes.len() < fixed {
            return Err(ProtoError::Malformed("GO too short"));
        }
        let mut seed = [0u8; SEED_LEN];
        seed.copy_from_slice(&bytes[..SEED_LEN]);
        let rest = &bytes[SEED_LEN..];
        let unix_nanos = u64::from_le_bytes(arr8(&rest[..8]));
        let pids = u32::from_le_bytes([rest[8], rest[9], rest[10], rest[11]]);
        let tmp_bytes = u64::from_le_bytes(arr8(&rest[12..20]));
        let network = match rest[20] {
            0 => false,
            1 => true,
            _ => return Err(ProtoError::Malformed("network flag is not 0 or 1")),
        };
        let runtime = std::str::from_utf8(&rest[21..])
            .map_err(|_| ProtoError::Malformed("runtime is not UTF-8"))?
            .to_owned();
        if !runtime.starts_with("/usr/") || runtime.contains("..") {
            return Err(ProtoError::Malformed("runtime must be a path under /usr"));
        }
        Ok(Go {
            seed,
            unix_nanos,
            runtime,
            pids,
            tmp_bytes,
            network,
        })
    }
}

/// How the job ended, as init saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitReport {
    /// The exit status, when the job exited.
    pub code: Option<i32>,
    /// The signal number, when a signal killed it.
    pub signal: Option<i32>,
    /// Whether the guest's OOM killer ran during the job.
    pub oom: bool,
    /// User plus system CPU time of the job and its waited-for children, by the guest's clock
    /// (which keeps running while the host does not schedule the vCPU: see the host's cap).
    pub cpu_ms: u64,
    /// The largest resident set, in bytes, that any one of the job's processes reached: the
    /// job's main process and every descendant that was waited for (`getrusage(RUSAGE_CHILDREN)
    /// .ru_maxrss` after init reaped the job). It is the maximum over those processes, not
    /// their sum at any moment; orphans nobody waited for are not counted.
    pub peak_rss: u64,
    /// Whether the job's processes plus threads were seen at its process limit (a fork or
    /// thread creation then fails with `EAGAIN`).
    pub pids_hit: bool,
}

/// The length of an encoded [`ExitReport`].
const EXIT_LEN: usize = 1 + 4 + 1 + 8 + 8 + 1;

impl ExitReport {
    pub fn encode(&self) -> Vec<u8> {
        let (kind, value) = match (self.code, self.signal) {
            (Some(c), _) => (0u8, c),
            (None, Some(s)) => (1u8, s),
            (None, None) => (2u8, 0),
        };
        let mut out = vec![kind];
        out.extend_from_slice(&value.to_le_bytes());
        out.push(u8::from(self.oom));
        out.extend_from_slice(&self.cpu_ms.to_le_bytes());
        out.extend_from_slice(&self.peak_rss.to_le_bytes());
        out.push(u8::from(self.pids_hit));
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ProtoError> {
        if bytes.len() != EXIT_LEN {
            return Err(ProtoError::Malformed("EXIT has the wrong length"));
        }
        let flag = |b: u8, what: &'static str| match b {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(ProtoError::Malformed(what)),
        };
        let value = i32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        let (code, signal) = match bytes[0] {
            0 => (Some(value), None),
            1 => (None, Some(value)),
            2 => (None, None),
            _ => return Err(ProtoError::Malformed("EXIT kind")),
        };
        Ok(ExitReport {
            code,
            signal,
            oom: flag(bytes[5], "EXIT oom flag is not 0 or 1")?,
            cpu_ms: u64::from_le_bytes(arr8(&bytes[6..14])),
            peak_rss: u64::from_le_bytes(arr8(&bytes[14..22])),
            pids_hit: flag(bytes[22], "EXIT pids flag is not 0 or 1")?,
        })
    }
}

fn arr8(s: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_in_pieces() {
        let mut wire = Vec::new();
        write_frame(&mut wire, TAG_STDOUT, b"hello").unwrap();
        write_frame(&mut wire, TAG_READY, b"").unwrap();
        let mut r = FrameReader::new();
        let mut got = Vec::new();
        for byte in &wire {
            r.feed(std::slice::from_ref(byte));
            while let Some(f) = r.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(
            got,
            vec![(TAG_STDOUT, b"hello".to_vec()), (TAG_READY, Vec::new())]
        );
    }

    #[test]
    fn oversized_frames_are_refused_before_allocation() {
        let mut r = FrameReader::new();
        let mut header = vec![TAG_STDOUT];
        header.extend_from_slice(&u32::MAX.to_le_bytes());
        r.feed(&header);
        assert!(matches!(r.next_frame(), Err(ProtoError::TooLarge(_))));
        let mut sink = Vec::new();
        let big = vec![0u8; MAX_FRAME + 1];
        assert!(write_frame(&mut sink, TAG_STDOUT, &big).is_err());
        assert!(read_frame(&mut header.as_slice()).is_err());
    }

    #[test]
    fn go_round_trips_and_rejects_bad_runtimes() {
        let go = Go {
            seed: [7; SEED_LEN],
            unix_nanos: 1_700_000_000_000_000_000,
            runtime: "/usr/bin/python3".into(),
            pids: 64,
            tmp_bytes: 1 << 20,
            network: false,
        };
        assert_eq!(Go::decode(&go.encode()).unwrap(), go);
        let networked = Go {
            network: true,
            ..go.clone()
        };
        assert_eq!(Go::decode(&networked.encode()).unwrap(), networked);
        let bad = Go {
            runtime: "/usr/../etc/x".into(),
            ..go.clone()
        };
        assert!(Go::decode(&bad.encode()).is_err());
        assert!(Go::decode(&[0u8; 10]).is_err());
        let mut bad_flag = go.encode();
        bad_flag[SEED_LEN + 20] = 2;
        assert!(Go::decode(&bad_flag).is_err());
    }

    #[test]
    fn warm_files_round_trip_through_the_command_line_and_refuse_escapes() {
        let files = WarmFiles {
            loader: "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2".into(),
            program: "bin/python3.11".into(),
            rest: vec![
                "lib/x86_64-linux-gnu/libc.so.6".into(),
                "lib/locale/C.utf8/LC_CTYPE".into(),
            ],
        };
        let arg = files.to_arg().unwrap();
        let cmdline = format!("console=ttyS0 quiet {arg} panic=-1");
        assert_eq!(
            WarmFiles::from_cmdline(&cmdline).unwrap(),
            Some(files.clone())
        );
        assert_eq!(
            WarmFiles::from_cmdline("console=ttyS0 quiet").unwrap(),
            None
        );
        for bad in [
            "bridle.warm=bin/python3",
            "bridle.warm=/lib/ld.so,bin/python3",
            "bridle.warm=../lib/ld.so,bin/python3",
            "bridle.warm=lib/./ld.so,bin/python3",
            "bridle.warm=lib//ld.so,bin/python3",
            "bridle.warm=lib/ld.so,bin/py$thon",
        ] {
            assert!(WarmFiles::from_cmdline(bad).is_err(), "{bad}");
        }
        let mut escaping = files;
        escaping.rest.push("../etc/shadow".into());
        assert_eq!(escaping.to_arg(), None);
    }

    #[test]
    fn exit_reports_round_trip() {
        for report in [
            ExitReport {
                code: Some(3),
                signal: None,
                oom: false,
                cpu_ms: 12,
                peak_rss: 64 << 20,
                pids_hit: false,
            },
            ExitReport {
                code: None,
                signal: Some(9),
                oom: true,
                cpu_ms: 0,
                peak_rss: u64::MAX,
                pids_hit: true,
            },
        ] {
            let wire = report.encode();
            assert_eq!(wire.len(), EXIT_LEN);
            assert_eq!(ExitReport::decode(&wire).unwrap(), report);
            // Strict: one byte short or long (the old 14-byte report included) is refused.
            assert!(ExitReport::decode(&wire[..EXIT_LEN - 1]).is_err());
            let mut long = wire.clone();
            long.push(0);
            assert!(ExitReport::decode(&long).is_err());
            for at in [5, EXIT_LEN - 1] {
                let mut bad = wire.clone();
                bad[at] = 2;
                assert!(ExitReport::decode(&bad).is_err(), "flag byte {at}");
            }
        }
        assert!(ExitReport::decode(&[9; EXIT_LEN]).is_err());
        assert!(ExitReport::decode(&[0; 14]).is_err());
        assert!(ExitReport::decode(&[0; 3]).is_err());
    }
}
