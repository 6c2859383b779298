// SPDX-License-Identifier: GPL-2.0
//! The window: the one range of guest-physical memory the guest shares with
//! this backend, its arithmetic against the memory regions QEMU sends, and
//! the accounting of every access that falls outside it.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// `[base, base + size)` of guest-physical memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub base: u64,
    pub size: u64,
}

fn parse_number(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("'{s}' is not a number"))
}

impl Window {
    /// Parses `BASE+SIZE` (hex with 0x, or decimal), as the DT's `reg` says it.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (base, size) = s
            .split_once('+')
            .ok_or_else(|| format!("window '{s}': expected BASE+SIZE, like 0x50000000+0x400000"))?;
        let (base, size) = (parse_number(base)?, parse_number(size)?);
        if size == 0 {
            return Err(format!("window '{s}': size is zero"));
        }
        if base.checked_add(size).is_none() {
            return Err(format!("window '{s}': runs past the address space"));
        }
        Ok(Window { base, size })
    }

    pub fn end(&self) -> u64 {
        self.base + self.size
    }

    /// Whether all of `[gpa, gpa + len)` lies inside the window. A range
    /// that wraps around the address space never does.
    pub fn contains(&self, gpa: u64, len: u64) -> bool {
        match gpa.checked_add(len) {
            Some(end) => gpa >= self.base && end <= self.end(),
            None => false,
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "0x{:x}+0x{:x}", self.base, self.size)
    }
}

/// One region of QEMU's memory table (SET_MEM_TABLE), as numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub gpa: u64,
    pub size: u64,
    /// Where QEMU itself maps it (ring addresses arrive in this space).
    pub user_addr: u64,
    /// Where it starts in the region's file.
    pub mmap_offset: u64,
}

/// What to map for the window: `size` bytes of the region's file from
/// `file_offset`, at guest-physical `gpa`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowMap {
    pub region: usize,
    pub gpa: u64,
    pub size: u64,
    pub file_offset: u64,
}

pub const PAGE: u64 = 4096;

/// Finds the region that holds all of the window and the part of its file
/// to map. Err says why not: the window in no region, across two, or
/// not page aligned (mmap needs page-aligned offsets).
pub fn window_map(w: &Window, regions: &[Region]) -> Result<WindowMap, String> {
    if !w.base.is_multiple_of(PAGE) || !w.size.is_multiple_of(PAGE) {
        return Err(format!("the window {w} is not page aligned"));
    }
    for (i, r) in regions.iter().enumerate() {
        let Some(rend) = r.gpa.checked_add(r.size) else {
            continue;
        };
        if r.gpa <= w.base && w.end() <= rend {
            let delta = w.base - r.gpa;
            let file_offset = r
                .mmap_offset
                .checked_add(delta)
                .ok_or_else(|| format!("region {i}: file offset overflows"))?;
            if !file_offset.is_multiple_of(PAGE) {
                return Err(format!("the window's offset 0x{file_offset:x} in region {i}'s file is not page aligned"));
            }
            return Ok(WindowMap {
                region: i,
                gpa: w.base,
                size: w.size,
                file_offset,
            });
        }
    }
    let list: Vec<String> = regions
        .iter()
        .map(|r| format!("0x{:x}+0x{:x}", r.gpa, r.size))
        .collect();
    Err(format!(
        "the window {w} is not inside any memory region QEMU sent ({}): refusing the memory table",
        if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        }
    ))
}

/// Translates an address of QEMU's own address space (how vhost-user
/// gives ring addresses) to a guest-physical one, through the table.
pub fn vmm_va_to_gpa(regions: &[Region], va: u64) -> Option<u64> {
    regions
        .iter()
        .find(|r| va >= r.user_addr && va - r.user_addr < r.size)
        .map(|r| r.gpa + (va - r.user_addr))
}

/// Counters of the whole run, shared by every queue.
pub struct Accounting {
    pub window: Window,
    pub audit: bool,
    requests: AtomicU64,
    bytes: AtomicU64,
    outside: AtomicU64,
    /// Memory tables refused (the window in none of their regions).
    refused: AtomicU64,
    out: Mutex<Box<dyn Write + Send>>,
}

impl Accounting {
    pub fn new(window: Window, audit: bool, out: Box<dyn Write + Send>) -> Self {
        Accounting {
            window,
            audit,
            requests: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            outside: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            out: Mutex::new(out),
        }
    }

    pub fn say(&self, line: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// Checks one access: true if it lies in the window. One outside is
    /// counted and reported, whatever happens to it next.
    pub fn check(&self, gpa: u64, len: u64, queue: usize, what: &str) -> bool {
        if self.window.contains(gpa, len) {
            return true;
        }
        self.outside.fetch_add(1, Ordering::Relaxed);
        self.say(&format!(
            "outside the window: GPA 0x{gpa:x} len {len} queue {queue} ({what})"
        ));
        false
    }

    pub fn request(&self, bytes: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn refuse_table(&self, why: &str) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        self.say(&format!("SET_MEM_TABLE refused: {why}"));
    }

    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// The exit status: 1 for any access outside the window, 3 for a
    /// refused memory table, else 0.
    pub fn exit_status(&self) -> i32 {
        if self.outside() > 0 {
            1
        } else if self.refused() > 0 {
            3
        } else {
            0
        }
    }

    pub fn outside(&self) -> u64 {
        self.outside.load(Ordering::Relaxed)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub fn closing_line(&self) -> String {
        format!(
            "window backend: {} requests, {} bytes, {} accesses outside {}{}{}",
            self.requests(),
            self.bytes(),
            self.outside(),
            self.window,
            if self.audit {
                " (audit: all guest memory mapped)"
            } else {
                ""
            },
            match self.refused() {
                0 => String::new(),
                n => format!("; {n} memory table(s) refused"),
            }
        )
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::sync::Arc;

    /// A writer the tests can read back.
    #[derive(Clone, Default)]
    pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        pub fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    const W: Window = Window {
        base: 0x5000_0000,
        size: 0x40_0000,
    };

    #[test]
    fn parse() {
        assert_eq!(Window::parse("0x50000000+0x400000"), Ok(W));
        assert_eq!(Window::parse("1342177280+4194304"), Ok(W));
        assert!(Window::parse("0x50000000").is_err());
        assert!(Window::parse("0x50000000+0").is_err());
        assert!(Window::parse("0xfffffffffffff000+0x2000").is_err());
        assert!(Window::parse("zz+0x1000").is_err());
        assert_eq!(W.to_string(), "0x50000000+0x400000");
    }

    #[test]
    fn contains_edges() {
        assert!(W.contains(0x5000_0000, 1));
        assert!(W.contains(0x5000_0000, 0x40_0000));
        assert!(W.contains(0x503f_ffff, 1));
        assert!(!W.contains(0x503f_ffff, 2));
        assert!(!W.contains(0x4fff_ffff, 1));
        assert!(!W.contains(0x4fff_ffff, 2));
        assert!(!W.contains(0x5040_0000, 1));
        assert!(!W.contains(u64::MAX, 2));
        assert!(W.contains(0x5000_1000, 0));
    }

    fn ram() -> Region {
        // QEMU virt: 1 GiB of RAM at 0x40000000, all in one memfd.
        Region {
            gpa: 0x4000_0000,
            size: 0x4000_0000,
            user_addr: 0x7f00_0000_0000,
            mmap_offset: 0,
        }
    }

    #[test]
    fn map_inside_one_region() {
        let m = window_map(&W, &[ram()]).unwrap();
        assert_eq!(
            m,
            WindowMap {
                region: 0,
                gpa: 0x5000_0000,
                size: 0x40_0000,
                file_offset: 0x1000_0000
            }
        );
        // A region that starts later in its file, and a second region first.
        let low = Region {
            gpa: 0,
            size: 0x1000_0000,
            user_addr: 0x1000,
            mmap_offset: 0,
        };
        let r = Region {
            mmap_offset: 0x20_0000,
            ..ram()
        };
        let m = window_map(&W, &[low, r]).unwrap();
        assert_eq!((m.region, m.file_offset), (1, 0x1020_0000));
    }

    #[test]
    fn refuse_window_outside_or_across() {
        let small = Region {
            size: 0x1000_0000,
            ..ram()
        }; // ends at 0x50000000
        let e = window_map(&W, &[small]).unwrap_err();
        assert!(e.contains("not inside any memory region"), "{e}");
        // Straddling two regions is refused too: one mapping, one file.
        let a = Region {
            size: 0x1020_0000,
            ..ram()
        };
        let b = Region {
            gpa: 0x5020_0000,
            size: 0x100_0000,
            user_addr: 0x9000_0000,
            mmap_offset: 0,
        };
        assert!(window_map(&W, &[a, b]).is_err());
        assert!(window_map(&W, &[]).unwrap_err().contains("(none)"));
        let odd = Window {
            base: 0x5000_0800,
            size: 0x1000,
        };
        assert!(window_map(&odd, &[ram()])
            .unwrap_err()
            .contains("page aligned"));
    }

    #[test]
    fn va_translation() {
        let r = [ram()];
        assert_eq!(vmm_va_to_gpa(&r, 0x7f00_1000_0000), Some(0x5000_0000));
        assert_eq!(vmm_va_to_gpa(&r, 0x7f00_4000_0000), None);
        assert_eq!(vmm_va_to_gpa(&r, 0x1000), None);
    }

    #[test]
    fn accounting_counts_and_prints_each_outside_access() {
        let cap = Captured::default();
        let a = Accounting::new(W, false, Box::new(cap.clone()));
        assert!(a.check(0x5000_0000, 4096, 0, "buffer"));
        assert!(!a.check(0x4800_0000, 512, 1, "buffer"));
        assert!(!a.check(0x503f_f000, 0x2000, 0, "buffer"));
        a.request(4096);
        a.request(512);
        assert_eq!(a.outside(), 2);
        assert_eq!(cap.text().lines().count(), 2);
        assert!(cap
            .text()
            .starts_with("outside the window: GPA 0x48000000 len 512 queue 1"));
        assert_eq!(
            a.closing_line(),
            "window backend: 2 requests, 4608 bytes, 2 accesses outside 0x50000000+0x400000"
        );
        assert_eq!(a.exit_status(), 1);
    }

    #[test]
    fn refused_table_is_a_failure_too() {
        let cap = Captured::default();
        let a = Accounting::new(W, false, Box::new(cap.clone()));
        assert_eq!(a.exit_status(), 0);
        a.refuse_table("the window is in no region");
        assert_eq!(a.exit_status(), 3);
        assert!(a
            .closing_line()
            .ends_with("0 accesses outside 0x50000000+0x400000; 1 memory table(s) refused"));
        assert!(cap
            .text()
            .starts_with("SET_MEM_TABLE refused: the window is in no region"));
    }
}
