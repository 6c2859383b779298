// SPDX-License-Identifier: GPL-2.0
//! virtio-blk over an image file: walking a descriptor chain (indirect
//! tables included), parsing the request it carries, serving it. Every
//! descriptor table, buffer and status byte is checked against the window
//! before it is touched; every byte moves through the guest memory map
//! (`vm_memory`), which in window mode holds nothing but the window.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
#[cfg(test)]
use std::sync::Mutex;

use virtio_bindings::virtio_blk::{
    virtio_blk_config, VIRTIO_BLK_ID_BYTES, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK,
    VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_IN,
    VIRTIO_BLK_T_OUT,
};
use virtio_bindings::virtio_ring::{VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE};
use vm_memory::{Bytes, GuestAddress, GuestMemory};

use crate::window::Accounting;

pub const SECTOR: u64 = 512;
const DESC_SIZE: u64 = 16;
/// What GET_ID answers (up to 20 bytes, not NUL-terminated when full).
pub const SERIAL: &[u8] = b"rdma-window-backend";

/// One buffer of a chain: guest-physical address, length, whether the
/// device writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desc {
    pub addr: u64,
    pub len: u32,
    pub write: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ChainError {
    /// A descriptor table (indirect) outside the window, in window mode.
    Outside,
    /// Unreadable memory, a loop, a bad index, a malformed indirect table.
    Malformed(String),
}

/// Reads entry `index` of the descriptor table at `table`: (addr, len,
/// flags, next).
pub fn read_desc<M: GuestMemory>(
    mem: &M,
    table: u64,
    index: u16,
) -> Result<(u64, u32, u16, u16), ChainError> {
    let mut raw = [0u8; DESC_SIZE as usize];
    let at = table + u64::from(index) * DESC_SIZE;
    mem.read_slice(&mut raw, GuestAddress(at))
        .map_err(|e| ChainError::Malformed(format!("descriptor at 0x{at:x}: {e}")))?;
    let addr = u64::from_le_bytes(raw[0..8].try_into().unwrap());
    let len = u32::from_le_bytes(raw[8..12].try_into().unwrap());
    let flags = u16::from_le_bytes(raw[12..14].try_into().unwrap());
    let next = u16::from_le_bytes(raw[14..16].try_into().unwrap());
    Ok((addr, len, flags, next))
}

/// Walks the chain that starts at `head` of the descriptor table at
/// `table` (queue size `qsize`). The table itself lies in the window (its
/// queue was checked when set up); an indirect table is checked here.
pub fn walk_chain<M: GuestMemory>(
    mem: &M,
    acct: &Accounting,
    queue: usize,
    table: u64,
    qsize: u16,
    head: u16,
    indirect_ok: bool,
) -> Result<Vec<Desc>, ChainError> {
    let mut out = Vec::new();
    let (mut tbl, mut n, mut idx) = (table, qsize, head);
    let mut in_indirect = false;
    let mut steps = 0u32;
    loop {
        if idx >= n {
            return Err(ChainError::Malformed(format!(
                "descriptor index {idx} past a table of {n}"
            )));
        }
        steps += 1;
        if steps > u32::from(n) + 1 {
            return Err(ChainError::Malformed("descriptor chain loops".into()));
        }
        let (addr, len, flags, next) = read_desc(mem, tbl, idx)?;
        if u32::from(flags) & VRING_DESC_F_INDIRECT != 0 {
            if in_indirect || !indirect_ok || u32::from(flags) & VRING_DESC_F_NEXT != 0 {
                return Err(ChainError::Malformed(
                    "indirect descriptor where none may be".into(),
                ));
            }
            if len == 0 || u64::from(len) % DESC_SIZE != 0 || u64::from(len) / DESC_SIZE > 65536 {
                return Err(ChainError::Malformed(format!(
                    "indirect table of {len} bytes"
                )));
            }
            if !acct.check(addr, u64::from(len), queue, "indirect descriptor table") && !acct.audit
            {
                return Err(ChainError::Outside);
            }
            in_indirect = true;
            tbl = addr;
            // (65536 entries do not fit u16: such a table is refused above
            // unless it has fewer.)
            n = (u64::from(len) / DESC_SIZE).min(u64::from(u16::MAX)) as u16;
            idx = 0;
            steps = 0;
            continue;
        }
        out.push(Desc {
            addr,
            len,
            write: u32::from(flags) & VRING_DESC_F_WRITE != 0,
        });
        if u32::from(flags) & VRING_DESC_F_NEXT == 0 {
            return Ok(out);
        }
        idx = next;
    }
}

/// Pieces of guest memory: (address, length).
pub type Ranges = Vec<(u64, u64)>;

fn take_front(r: &mut Ranges, mut n: u64) -> Option<Ranges> {
    let mut out = Vec::new();
    while n > 0 {
        let (a, l) = *r.first()?;
        let k = l.min(n);
        out.push((a, k));
        if k == l {
            r.remove(0);
        } else {
            r[0] = (a + k, l - k);
        }
        n -= k;
    }
    Some(out)
}

fn take_back(r: &mut Ranges, mut n: u64) -> Option<Ranges> {
    let mut out = Vec::new();
    while n > 0 {
        let (a, l) = *r.last()?;
        let k = l.min(n);
        out.insert(0, (a + l - k, k));
        if k == l {
            r.pop();
        } else {
            *r.last_mut().unwrap() = (a, l - k);
        }
        n -= k;
    }
    Some(out)
}

/// A chain's buffers without the request header (its first 16 readable
/// bytes): the device-readable pieces left, and every device-writable
/// piece, the status byte included, in chain order. Needs no header: what
/// --find scans and the hostile modes overwrite, whatever the request.
pub fn buffers(chain: &[Desc]) -> (Ranges, Ranges) {
    let (mut readable, mut writable): (Ranges, Ranges) = (Vec::new(), Vec::new());
    for d in chain.iter().filter(|d| d.len > 0) {
        let to = if d.write {
            &mut writable
        } else {
            &mut readable
        };
        to.push((d.addr, u64::from(d.len)));
    }
    // (Fewer than 16 readable bytes: no header, and nothing left either.)
    let _ = take_front(&mut readable, 16);
    (readable, writable)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    In,
    Out,
    Flush,
    GetId,
    Other(u32),
}

/// A request as its chain lays it out; the framing of the chain into
/// descriptors does not matter (virtio 1.x, 2.6.4).
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub kind: Kind,
    pub sector: u64,
    /// The data: readable bytes after the header for OUT, writable bytes
    /// before the status for IN and GET_ID.
    pub data: Ranges,
    /// The status byte: the last writable byte.
    pub status: u64,
    /// The header's pieces (for the window check).
    pub header: Ranges,
}

impl Request {
    pub fn data_len(&self) -> u64 {
        self.data.iter().map(|r| r.1).sum()
    }
}

/// Splits a chain into header, data and status. Err: not a request (no
/// room for a header or a status, writable before readable).
pub fn parse<M: GuestMemory>(mem: &M, chain: &[Desc]) -> Result<Request, String> {
    let mut readable: Ranges = Vec::new();
    let mut writable: Ranges = Vec::new();
    for d in chain {
        if d.len == 0 {
            continue;
        }
        if d.write {
            writable.push((d.addr, u64::from(d.len)));
        } else if !writable.is_empty() {
            return Err("a device-readable descriptor after a device-writable one".into());
        } else {
            readable.push((d.addr, u64::from(d.len)));
        }
    }
    let header = take_front(&mut readable, 16).ok_or("no room for the 16-byte header")?;
    let status = take_back(&mut writable, 1).ok_or("no writable status byte")?[0].0;
    let mut raw = Vec::with_capacity(16);
    for &(a, l) in &header {
        let mut b = vec![0u8; l as usize];
        mem.read_slice(&mut b, GuestAddress(a))
            .map_err(|e| format!("header at 0x{a:x}: {e}"))?;
        raw.extend_from_slice(&b);
    }
    let t = u32::from_le_bytes(raw[0..4].try_into().unwrap());
    let sector = u64::from_le_bytes(raw[8..16].try_into().unwrap());
    let kind = match t {
        VIRTIO_BLK_T_IN => Kind::In,
        VIRTIO_BLK_T_OUT => Kind::Out,
        VIRTIO_BLK_T_FLUSH => Kind::Flush,
        VIRTIO_BLK_T_GET_ID => Kind::GetId,
        other => Kind::Other(other),
    };
    let data = match kind {
        Kind::Out => readable,
        Kind::In | Kind::GetId => writable,
        _ => Vec::new(),
    };
    Ok(Request {
        kind,
        sector,
        data,
        status,
        header,
    })
}

/// The disk behind the device.
pub trait Disk: Send + Sync {
    fn capacity(&self) -> u64;
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<()>;
    fn write_at(&self, buf: &[u8], off: u64) -> io::Result<()>;
    fn flush(&self) -> io::Result<()>;
}

pub struct FileDisk {
    file: File,
    size: u64,
}

impl FileDisk {
    pub fn open(path: &str) -> io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)?;
        let size = file.metadata()?.len();
        Ok(FileDisk { file, size })
    }
}

impl Disk for FileDisk {
    fn capacity(&self) -> u64 {
        self.size
    }
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, off)
    }
    fn write_at(&self, buf: &[u8], off: u64) -> io::Result<()> {
        self.file.write_all_at(buf, off)
    }
    fn flush(&self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// An in-memory disk, for tests.
#[cfg(test)]
pub struct MemDisk(pub Mutex<Vec<u8>>);

#[cfg(test)]
impl Disk for MemDisk {
    fn capacity(&self) -> u64 {
        self.0.lock().unwrap().len() as u64
    }
    fn read_at(&self, buf: &mut [u8], off: u64) -> io::Result<()> {
        let d = self.0.lock().unwrap();
        buf.copy_from_slice(&d[off as usize..off as usize + buf.len()]);
        Ok(())
    }
    fn write_at(&self, buf: &[u8], off: u64) -> io::Result<()> {
        let mut d = self.0.lock().unwrap();
        d[off as usize..off as usize + buf.len()].copy_from_slice(buf);
        Ok(())
    }
    fn flush(&self) -> io::Result<()> {
        Ok(())
    }
}

/// Serves one chain; returns the used length to report. Accesses outside
/// the window are counted (and, but in audit mode, fail the request with
/// IOERR, or with nothing written if the status byte is outside too).
pub fn serve<M: GuestMemory>(
    mem: &M,
    acct: &Accounting,
    disk: &dyn Disk,
    queue: usize,
    chain: &[Desc],
) -> u32 {
    let req = match parse(mem, chain) {
        Ok(r) => r,
        Err(e) => {
            acct.say(&format!("queue {queue}: bad request: {e}"));
            return 0;
        }
    };
    let mut inside = true;
    for &(a, l) in &req.header {
        inside &= acct.check(a, l, queue, "request header");
    }
    for &(a, l) in &req.data {
        inside &= acct.check(a, l, queue, "data buffer");
    }
    let status_inside = acct.check(req.status, 1, queue, "status byte");
    let served = acct.audit || (inside && status_inside);
    let (status, used) = if !served {
        (VIRTIO_BLK_S_IOERR, 0)
    } else {
        match execute(mem, disk, &req) {
            Ok(n) => {
                let bytes = if matches!(req.kind, Kind::In | Kind::Out) {
                    req.data_len()
                } else {
                    0
                };
                acct.request(bytes);
                (VIRTIO_BLK_S_OK, n)
            }
            Err(s) => {
                acct.request(0);
                (s, 0)
            }
        }
    };
    if (acct.audit || status_inside)
        && mem
            .write_slice(&[status as u8], GuestAddress(req.status))
            .is_ok()
    {
        used + 1
    } else {
        0
    }
}

/// Does what the request asks; Ok(bytes written into guest buffers) or
/// Err(status).
fn execute<M: GuestMemory>(mem: &M, disk: &dyn Disk, req: &Request) -> Result<u32, u32> {
    let len = req.data_len();
    let in_range = |len: u64| {
        req.sector
            .checked_mul(SECTOR)
            .and_then(|o| o.checked_add(len))
            .is_some_and(|end| end <= disk.capacity())
    };
    match req.kind {
        Kind::In => {
            if !in_range(len) {
                return Err(VIRTIO_BLK_S_IOERR);
            }
            let mut buf = vec![0u8; len as usize];
            disk.read_at(&mut buf, req.sector * SECTOR)
                .map_err(|_| VIRTIO_BLK_S_IOERR)?;
            let mut at = 0usize;
            for &(a, l) in &req.data {
                mem.write_slice(&buf[at..at + l as usize], GuestAddress(a))
                    .map_err(|_| VIRTIO_BLK_S_IOERR)?;
                at += l as usize;
            }
            u32::try_from(len).map_err(|_| VIRTIO_BLK_S_IOERR)
        }
        Kind::Out => {
            if !in_range(len) {
                return Err(VIRTIO_BLK_S_IOERR);
            }
            let mut buf = vec![0u8; len as usize];
            let mut at = 0usize;
            for &(a, l) in &req.data {
                mem.read_slice(&mut buf[at..at + l as usize], GuestAddress(a))
                    .map_err(|_| VIRTIO_BLK_S_IOERR)?;
                at += l as usize;
            }
            disk.write_at(&buf, req.sector * SECTOR)
                .map_err(|_| VIRTIO_BLK_S_IOERR)?;
            Ok(0)
        }
        Kind::Flush => disk.flush().map(|_| 0).map_err(|_| VIRTIO_BLK_S_IOERR),
        Kind::GetId => {
            let mut id = [0u8; VIRTIO_BLK_ID_BYTES as usize];
            id[..SERIAL.len()].copy_from_slice(SERIAL);
            let mut left = &id[..(len as usize).min(id.len())];
            let n = left.len() as u32;
            for &(a, l) in &req.data {
                let k = (l as usize).min(left.len());
                mem.write_slice(&left[..k], GuestAddress(a))
                    .map_err(|_| VIRTIO_BLK_S_IOERR)?;
                left = &left[k..];
            }
            Ok(n)
        }
        Kind::Other(_) => Err(VIRTIO_BLK_S_UNSUPP),
    }
}

/// The config space (struct virtio_blk_config): capacity in sectors,
/// seg_max, blk_size, num_queues.
pub fn config_space(capacity_bytes: u64, seg_max: u32, num_queues: u16) -> Vec<u8> {
    let mut c = vec![0u8; std::mem::size_of::<virtio_blk_config>()];
    c[0..8].copy_from_slice(&(capacity_bytes / SECTOR).to_le_bytes());
    c[12..16].copy_from_slice(&seg_max.to_le_bytes());
    c[20..24].copy_from_slice(&(SECTOR as u32).to_le_bytes());
    c[34..36].copy_from_slice(&num_queues.to_le_bytes());
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::tests::Captured;
    use crate::window::Window;
    use vm_memory::GuestMemoryMmap;

    const W: Window = Window {
        base: 0x5000_0000,
        size: 0x40_0000,
    };
    const TABLE: u64 = 0x5000_0000;
    const IND: u64 = 0x5000_2000;
    const HDR: u64 = 0x5000_4000;
    const DATA: u64 = 0x5001_0000;
    const STATUS: u64 = 0x5000_5000;

    /// Memory holding just the window, as the backend maps it.
    fn window_mem() -> GuestMemoryMmap {
        GuestMemoryMmap::from_ranges(&[(GuestAddress(W.base), W.size as usize)]).unwrap()
    }

    /// The window plus memory below it, as in audit mode.
    fn all_mem() -> GuestMemoryMmap {
        GuestMemoryMmap::from_ranges(&[(
            GuestAddress(0x4800_0000),
            0x4000_0000 - 0x800_0000 + W.size as usize,
        )])
        .unwrap()
    }

    fn acct(audit: bool) -> (Accounting, Captured) {
        let cap = Captured::default();
        (Accounting::new(W, audit, Box::new(cap.clone())), cap)
    }

    fn put_desc(
        mem: &GuestMemoryMmap,
        table: u64,
        i: u16,
        addr: u64,
        len: u32,
        flags: u32,
        next: u16,
    ) {
        let mut raw = [0u8; 16];
        raw[0..8].copy_from_slice(&addr.to_le_bytes());
        raw[8..12].copy_from_slice(&len.to_le_bytes());
        raw[12..14].copy_from_slice(&(flags as u16).to_le_bytes());
        raw[14..16].copy_from_slice(&next.to_le_bytes());
        mem.write_slice(&raw, GuestAddress(table + u64::from(i) * 16))
            .unwrap();
    }

    fn put_header(mem: &GuestMemoryMmap, t: u32, sector: u64) {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&t.to_le_bytes());
        h[8..16].copy_from_slice(&sector.to_le_bytes());
        mem.write_slice(&h, GuestAddress(HDR)).unwrap();
    }

    /// header, data, status as three descriptors from index 0 of `table`.
    fn three(mem: &GuestMemoryMmap, table: u64, data: u64, len: u32, write: bool) {
        let w = if write { VRING_DESC_F_WRITE } else { 0 };
        put_desc(mem, table, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
        put_desc(mem, table, 1, data, len, VRING_DESC_F_NEXT | w, 2);
        put_desc(mem, table, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
    }

    fn disk(sectors: usize) -> MemDisk {
        MemDisk(Mutex::new(
            (0..sectors * 512).map(|i| (i * 7 % 251) as u8).collect(),
        ))
    }

    fn status(mem: &GuestMemoryMmap) -> u8 {
        let mut s = [0u8];
        mem.read_slice(&mut s, GuestAddress(STATUS)).unwrap();
        s[0]
    }

    #[test]
    fn parse_framings() {
        let mem = window_mem();
        put_header(&mem, VIRTIO_BLK_T_IN, 3);
        // Header, two data buffers and the status in one writable buffer
        // with the last data bytes: framing must not matter.
        let chain = [
            Desc {
                addr: HDR,
                len: 16,
                write: false,
            },
            Desc {
                addr: DATA,
                len: 512,
                write: true,
            },
            Desc {
                addr: DATA + 0x1000,
                len: 513,
                write: true,
            },
        ];
        let r = parse(&mem, &chain).unwrap();
        assert_eq!((r.kind, r.sector), (Kind::In, 3));
        assert_eq!(r.data, vec![(DATA, 512), (DATA + 0x1000, 512)]);
        assert_eq!(r.status, DATA + 0x1000 + 512);
        // A header split over two descriptors.
        put_header(&mem, VIRTIO_BLK_T_OUT, 9);
        let chain = [
            Desc {
                addr: HDR,
                len: 8,
                write: false,
            },
            Desc {
                addr: HDR + 8,
                len: 8 + 1024,
                write: false,
            },
            Desc {
                addr: STATUS,
                len: 1,
                write: true,
            },
        ];
        let r = parse(&mem, &chain).unwrap();
        assert_eq!((r.kind, r.sector, r.data_len()), (Kind::Out, 9, 1024));
        assert_eq!(r.header, vec![(HDR, 8), (HDR + 8, 8)]);
        // No status, no header, readable after writable.
        assert!(parse(&mem, &chain[..2]).is_err());
        assert!(parse(
            &mem,
            &[Desc {
                addr: STATUS,
                len: 1,
                write: true
            }]
        )
        .is_err());
        let bad = [chain[2], chain[0]];
        assert!(parse(&mem, &bad).is_err());
    }

    #[test]
    fn buffers_leave_the_header_out() {
        let d = |addr, len, write| Desc { addr, len, write };
        // Header split over two buffers, the second carrying data too.
        let chain = [
            d(HDR, 8, false),
            d(HDR + 8, 8 + 100, false),
            d(DATA, 0, false),
            d(DATA, 512, true),
            d(STATUS, 1, true),
        ];
        let (r, w) = buffers(&chain);
        assert_eq!(r, vec![(HDR + 16, 100)]);
        assert_eq!(w, vec![(DATA, 512), (STATUS, 1)]);
        let (r, w) = buffers(&chain[..1]);
        assert!(r.is_empty() && w.is_empty());
    }

    #[test]
    fn walk_direct_and_indirect() {
        let mem = window_mem();
        let (a, _) = acct(false);
        three(&mem, TABLE, DATA, 4096, true);
        let c = walk_chain(&mem, &a, 0, TABLE, 8, 0, true).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(
            c[1],
            Desc {
                addr: DATA,
                len: 4096,
                write: true
            }
        );
        // One indirect descriptor at index 5 pointing at a table of three.
        three(&mem, IND, DATA, 4096, false);
        put_desc(&mem, TABLE, 5, IND, 48, VRING_DESC_F_INDIRECT, 0);
        let c = walk_chain(&mem, &a, 0, TABLE, 8, 5, true).unwrap();
        assert_eq!(c.len(), 3);
        assert!(!c[1].write);
        // Not negotiated, or a loop, or a bad index: refused.
        assert!(walk_chain(&mem, &a, 0, TABLE, 8, 5, false).is_err());
        put_desc(&mem, TABLE, 6, HDR, 16, VRING_DESC_F_NEXT, 6);
        assert!(matches!(
            walk_chain(&mem, &a, 0, TABLE, 8, 6, true),
            Err(ChainError::Malformed(_))
        ));
        assert!(walk_chain(&mem, &a, 0, TABLE, 8, 9, true).is_err());
        assert_eq!(a.outside(), 0);
    }

    #[test]
    fn indirect_table_outside_counted_and_refused() {
        let mem = all_mem();
        let (a, cap) = acct(false);
        put_desc(&mem, TABLE, 0, 0x4800_0000, 48, VRING_DESC_F_INDIRECT, 0);
        assert_eq!(
            walk_chain(&mem, &a, 1, TABLE, 8, 0, true),
            Err(ChainError::Outside)
        );
        assert_eq!(a.outside(), 1);
        assert!(cap
            .text()
            .contains("GPA 0x48000000 len 48 queue 1 (indirect descriptor table)"));
        // Audit mode: counted, followed.
        let (a, _) = acct(true);
        three(&mem, 0x4800_0000, DATA, 512, true);
        assert_eq!(walk_chain(&mem, &a, 1, TABLE, 8, 0, true).unwrap().len(), 3);
        assert_eq!(a.outside(), 1);
    }

    #[test]
    fn read_write_roundtrip() {
        let mem = window_mem();
        let (a, _) = acct(false);
        let d = disk(64);
        // Write 4 KiB at sector 8, then read it back to another buffer.
        let pattern: Vec<u8> = (0..4096).map(|i| (i % 13) as u8).collect();
        mem.write_slice(&pattern, GuestAddress(DATA)).unwrap();
        put_header(&mem, VIRTIO_BLK_T_OUT, 8);
        three(&mem, TABLE, DATA, 4096, false);
        let chain = walk_chain(&mem, &a, 0, TABLE, 8, 0, true).unwrap();
        assert_eq!(serve(&mem, &a, &d, 0, &chain), 1);
        assert_eq!(status(&mem), VIRTIO_BLK_S_OK as u8);
        assert_eq!(&d.0.lock().unwrap()[8 * 512..8 * 512 + 4096], &pattern[..]);
        put_header(&mem, VIRTIO_BLK_T_IN, 8);
        three(&mem, TABLE, DATA + 0x2000, 4096, true);
        let chain = walk_chain(&mem, &a, 0, TABLE, 8, 0, true).unwrap();
        assert_eq!(serve(&mem, &a, &d, 0, &chain), 4097);
        let mut back = vec![0u8; 4096];
        mem.read_slice(&mut back, GuestAddress(DATA + 0x2000))
            .unwrap();
        assert_eq!(back, pattern);
        assert_eq!((a.requests(), a.bytes(), a.outside()), (2, 8192, 0));
        // Past the end of the disk: IOERR.
        put_header(&mem, VIRTIO_BLK_T_IN, 63);
        assert_eq!(serve(&mem, &a, &d, 0, &chain), 1);
        assert_eq!(status(&mem), VIRTIO_BLK_S_IOERR as u8);
    }

    #[test]
    fn flush_get_id_unsupported() {
        let mem = window_mem();
        let (a, _) = acct(false);
        let d = disk(8);
        put_header(&mem, VIRTIO_BLK_T_FLUSH, 0);
        let flush = [
            Desc {
                addr: HDR,
                len: 16,
                write: false,
            },
            Desc {
                addr: STATUS,
                len: 1,
                write: true,
            },
        ];
        assert_eq!(serve(&mem, &a, &d, 0, &flush), 1);
        assert_eq!(status(&mem), VIRTIO_BLK_S_OK as u8);
        put_header(&mem, VIRTIO_BLK_T_GET_ID, 0);
        three(&mem, TABLE, DATA, 20, true);
        let chain = walk_chain(&mem, &a, 0, TABLE, 8, 0, true).unwrap();
        assert_eq!(serve(&mem, &a, &d, 0, &chain), 21);
        let mut id = [0u8; 20];
        mem.read_slice(&mut id, GuestAddress(DATA)).unwrap();
        assert_eq!(&id[..SERIAL.len()], SERIAL);
        put_header(&mem, 99, 0);
        assert_eq!(serve(&mem, &a, &d, 0, &flush), 1);
        assert_eq!(status(&mem), VIRTIO_BLK_S_UNSUPP as u8);
    }

    #[test]
    fn buffer_outside_fails_with_ioerr_but_served_in_audit() {
        let d = disk(64);
        // Window mode, memory of the window alone: a data buffer at
        // 0x48000000 is counted and the request fails, disk untouched.
        let mem = window_mem();
        let (a, cap) = acct(false);
        put_header(&mem, VIRTIO_BLK_T_OUT, 0);
        let chain = [
            Desc {
                addr: HDR,
                len: 16,
                write: false,
            },
            Desc {
                addr: 0x4800_0000,
                len: 4096,
                write: false,
            },
            Desc {
                addr: STATUS,
                len: 1,
                write: true,
            },
        ];
        let before = d.0.lock().unwrap().clone();
        assert_eq!(serve(&mem, &a, &d, 1, &chain), 1);
        assert_eq!(status(&mem), VIRTIO_BLK_S_IOERR as u8);
        assert_eq!(*d.0.lock().unwrap(), before);
        assert_eq!((a.outside(), a.requests()), (1, 0));
        assert!(cap
            .text()
            .contains("outside the window: GPA 0x48000000 len 4096 queue 1"));
        // Status byte outside too: nothing written, used length 0.
        let chain2 = [
            chain[0],
            Desc {
                addr: 0x4800_1000,
                len: 1,
                write: true,
            },
        ];
        put_header(&mem, VIRTIO_BLK_T_FLUSH, 0);
        assert_eq!(serve(&mem, &a, &d, 1, &chain2), 0);
        assert_eq!(a.outside(), 2);
        // Audit mode over all memory: counted, and served.
        let mem = all_mem();
        let (a, _) = acct(true);
        put_header(&mem, VIRTIO_BLK_T_OUT, 0);
        mem.write_slice(&[0xab; 4096], GuestAddress(0x4800_0000))
            .unwrap();
        assert_eq!(serve(&mem, &a, &d, 1, &chain), 1);
        assert_eq!(status(&mem), VIRTIO_BLK_S_OK as u8);
        assert_eq!(d.0.lock().unwrap()[..4096], [0xab; 4096]);
        assert_eq!((a.outside(), a.requests(), a.bytes()), (1, 1, 4096));
    }

    #[test]
    fn config_layout() {
        let c = config_space(64 << 20, 126, 2);
        assert_eq!(u64::from_le_bytes(c[0..8].try_into().unwrap()), 131072);
        assert_eq!(u32::from_le_bytes(c[12..16].try_into().unwrap()), 126);
        assert_eq!(u16::from_le_bytes(c[34..36].try_into().unwrap()), 2);
    }
}
