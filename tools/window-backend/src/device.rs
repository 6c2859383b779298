// SPDX-License-Identifier: GPL-2.0
//! The vhost-user side: the frontend's messages (vhost's
//! `VhostUserBackendReqHandlerMut`), the vrings (vhost-user-backend's
//! `VringRwLock` over virtio-queue), and one worker thread that serves
//! every queue when kicked.
//!
//! Not vhost-user-backend's `VhostUserDaemon`: its handler maps every
//! region QEMU sends, whole. Here SET_MEM_TABLE maps only the window
//! (or, with --audit, everything), and SET_VRING_ADDR checks the rings.
//! What happens to each chain is ring.rs's.

use std::fs::File;
use std::io;
use std::os::unix::io::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use vhost::vhost_user::message::{
    VhostTransferStateDirection, VhostTransferStatePhase, VhostUserConfigFlags, VhostUserInflight,
    VhostUserLog, VhostUserMemoryRegion, VhostUserProtocolFeatures, VhostUserShMemConfig,
    VhostUserSharedMsg, VhostUserSingleMemoryRegion, VhostUserVirtioFeatures,
    VhostUserVringAddrFlags, VhostUserVringState,
};
use vhost::vhost_user::{
    Backend, Error as VuError, GpuBackend, Result as VuResult, VhostUserBackendReqHandlerMut,
};
use vhost::VhostUserMemoryRegionBase;
use vhost_user_backend::{VringRwLock, VringT};
use virtio_bindings::virtio_blk::{
    VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_MQ, VIRTIO_BLK_F_SEG_MAX,
};
use virtio_bindings::virtio_config::{VIRTIO_F_ACCESS_PLATFORM, VIRTIO_F_VERSION_1};
use virtio_bindings::virtio_ring::{VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC};
use virtio_queue::QueueT;
use vm_memory::{
    FileOffset, GuestAddress, GuestAddressSpace, GuestMemoryAtomic, GuestMemoryMmap,
    GuestRegionMmap, MmapRegion,
};
use vmm_sys_util::epoll::{ControlOperation, Epoll, EpollEvent, EventSet};
use vmm_sys_util::eventfd::EventFd;

use crate::blk::{self, Disk};
use crate::hostile::Hostile;
use crate::marker::Marker;
use crate::ring::{self, Ctx};
use crate::window::{self, Accounting, Region};

type Mem = GuestMemoryAtomic<GuestMemoryMmap>;
type Vring = VringRwLock<Mem>;

/// The features offered: ACCESS_PLATFORM, VERSION_1, indirect descriptors,
/// EVENT_IDX, multiqueue, flush, seg_max, blk_size (read, write and
/// get-id need no bit), and vhost-user's protocol features.
pub fn features() -> u64 {
    [
        VIRTIO_F_ACCESS_PLATFORM,
        VIRTIO_F_VERSION_1,
        VIRTIO_RING_F_INDIRECT_DESC,
        VIRTIO_RING_F_EVENT_IDX,
        VIRTIO_BLK_F_MQ,
        VIRTIO_BLK_F_FLUSH,
        VIRTIO_BLK_F_SEG_MAX,
        VIRTIO_BLK_F_BLK_SIZE,
    ]
    .iter()
    .fold(VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits(), |f, b| {
        f | (1u64 << b)
    })
}

/// What the worker and the message handler share.
pub struct Shared {
    pub acct: Arc<Accounting>,
    disk: Box<dyn Disk>,
    mem: Mem,
    vrings: Vec<Vring>,
    /// A queue whose rings lie outside the window: never processed.
    broken: Vec<AtomicBool>,
    indirect: AtomicBool,
    /// --hostile, if given.
    hostile: Option<Arc<Hostile>>,
    /// --find, if given.
    marker: Option<Arc<Marker>>,
    epoll: Epoll,
    exit: EventFd,
}

const EXIT_TOKEN: u64 = u64::MAX;

impl Shared {
    fn serve_queue(&self, q: usize) {
        if self.broken[q].load(Ordering::Acquire) {
            return;
        }
        let vring = &self.vrings[q];
        let mem = self.mem.memory();
        let mut st = vring.get_mut();
        if !st.get_queue().ready() || !st.is_enabled() {
            return;
        }
        let ctx = Ctx {
            acct: &self.acct,
            disk: &*self.disk,
            indirect: self.indirect.load(Ordering::Relaxed),
            hostile: self.hostile.as_deref(),
            marker: self.marker.as_deref(),
        };
        ring::serve_ring(&ctx, &*mem, q, &mut *st);
    }

    /// The worker: waits for kicks, serves the kicked queue.
    fn run(&self) {
        let mut events = vec![EpollEvent::default(); 16];
        loop {
            let n = match self.epoll.wait(-1, &mut events) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.acct.say(&format!("worker: epoll: {e}"));
                    return;
                }
            };
            for ev in &events[..n] {
                let q = ev.data();
                if q == EXIT_TOKEN {
                    return;
                }
                let q = q as usize;
                let _ = self.vrings[q].read_kick();
                self.serve_queue(q);
            }
        }
    }

    pub fn stop(&self) {
        let _ = self.exit.write(1);
    }
}

pub struct Handler {
    pub shared: Arc<Shared>,
    num_queues: usize,
    max_queue_size: u16,
    config: Vec<u8>,
    owned: bool,
    acked_features: u64,
    /// Every region of QEMU's table, as numbers (mapped or not).
    regions: Vec<Region>,
    /// The kick fd each queue has in the epoll set, if any.
    registered: Vec<Option<RawFd>>,
    backend_req: Option<Backend>,
}

fn other(msg: String) -> VuError {
    VuError::ReqHandlerError(io::Error::other(msg))
}

impl Handler {
    pub fn new(
        acct: Arc<Accounting>,
        disk: Box<dyn Disk>,
        num_queues: usize,
        max_queue_size: u16,
        hostile: Option<Arc<Hostile>>,
        marker: Option<Arc<Marker>>,
    ) -> io::Result<(Self, thread::JoinHandle<()>)> {
        let mem = GuestMemoryAtomic::new(GuestMemoryMmap::new());
        let vrings = (0..num_queues)
            .map(|_| {
                Vring::new(mem.clone(), max_queue_size)
                    .map_err(|e| io::Error::other(format!("{e:?}")))
            })
            .collect::<io::Result<Vec<_>>>()?;
        // seg_max: what one chain may carry (the queue size less header and
        // status), capped as QEMU's own backends do.
        let seg_max = (u32::from(max_queue_size) - 2).min(254);
        let config = blk::config_space(disk.capacity(), seg_max, num_queues as u16);
        let shared = Arc::new(Shared {
            acct,
            disk,
            mem,
            vrings,
            broken: (0..num_queues).map(|_| AtomicBool::new(false)).collect(),
            indirect: AtomicBool::new(false),
            hostile,
            marker,
            epoll: Epoll::new()?,
            exit: EventFd::new(0)?,
        });
        shared.epoll.ctl(
            ControlOperation::Add,
            shared.exit.as_raw_fd(),
            EpollEvent::new(EventSet::IN, EXIT_TOKEN),
        )?;
        let worker = {
            let s = shared.clone();
            thread::Builder::new()
                .name("vring_worker".into())
                .spawn(move || s.run())?
        };
        Ok((
            Handler {
                shared,
                num_queues,
                max_queue_size,
                config,
                owned: false,
                acked_features: 0,
                regions: Vec::new(),
                registered: vec![None; num_queues],
                backend_req: None,
            },
            worker,
        ))
    }

    fn vring(&self, index: u32) -> VuResult<&Vring> {
        self.shared
            .vrings
            .get(index as usize)
            .ok_or(VuError::InvalidParam)
    }

    fn unregister(&mut self, q: usize) {
        if let Some(fd) = self.registered[q].take() {
            let _ = self
                .shared
                .epoll
                .ctl(ControlOperation::Delete, fd, EpollEvent::default());
        }
    }

    /// The queue's kick fd is watched while the queue is ready and enabled.
    fn update_registration(&mut self, q: usize) -> VuResult<()> {
        let vring = &self.shared.vrings[q];
        let (fd, want) = {
            let st = vring.get_ref();
            (
                st.get_kick().as_ref().map(|k| k.as_raw_fd()),
                st.get_queue().ready() && st.is_enabled(),
            )
        };
        match (fd, want) {
            (Some(fd), true) if self.registered[q] != Some(fd) => {
                self.unregister(q);
                self.shared
                    .epoll
                    .ctl(
                        ControlOperation::Add,
                        fd,
                        EpollEvent::new(EventSet::IN, q as u64),
                    )
                    .map_err(VuError::ReqHandlerError)?;
                self.registered[q] = Some(fd);
            }
            (_, false) | (None, _) => self.unregister(q),
            _ => {}
        }
        Ok(())
    }

    fn start_if_ready(&mut self, q: usize) -> VuResult<()> {
        let vring = &self.shared.vrings[q];
        let needs = {
            let st = vring.get_ref();
            !st.get_queue().ready() && st.get_kick().is_some()
        };
        if needs {
            vring.set_queue_ready(true);
        }
        self.update_registration(q)
    }

    fn map_whole(r: &VhostUserMemoryRegion, file: File) -> VuResult<GuestRegionMmap> {
        let (gpa, size, offset) = (r.guest_phys_addr, r.memory_size, r.mmap_offset);
        let m = MmapRegion::from_file(FileOffset::new(file, offset), size as usize)
            .map_err(|e| other(format!("mmap of region 0x{gpa:x}: {e}")))?;
        GuestRegionMmap::new(m, GuestAddress(gpa)).ok_or(VuError::InvalidParam)
    }
}

impl VhostUserBackendReqHandlerMut for Handler {
    fn set_owner(&mut self) -> VuResult<()> {
        if self.owned {
            return Err(VuError::InvalidOperation("already claimed"));
        }
        self.owned = true;
        Ok(())
    }

    fn reset_owner(&mut self) -> VuResult<()> {
        self.owned = false;
        self.acked_features = 0;
        Ok(())
    }

    fn reset_device(&mut self) -> VuResult<()> {
        for q in 0..self.num_queues {
            self.shared.vrings[q].set_enabled(false);
            self.update_registration(q)?;
        }
        self.acked_features = 0;
        Ok(())
    }

    fn get_features(&mut self) -> VuResult<u64> {
        Ok(features())
    }

    fn set_features(&mut self, f: u64) -> VuResult<()> {
        if f & !features() != 0 {
            self.shared.acct.say(&format!(
                "SET_FEATURES refused: 0x{f:x} has bits not offered"
            ));
            return Err(VuError::InvalidParam);
        }
        self.acked_features = f;
        let event_idx = f & (1 << VIRTIO_RING_F_EVENT_IDX) != 0;
        self.shared.indirect.store(
            f & (1 << VIRTIO_RING_F_INDIRECT_DESC) != 0,
            Ordering::Relaxed,
        );
        for q in 0..self.num_queues {
            self.shared.vrings[q].set_queue_event_idx(event_idx);
            if f & VhostUserVirtioFeatures::PROTOCOL_FEATURES.bits() == 0 {
                self.shared.vrings[q].set_enabled(true);
                self.update_registration(q)?;
            }
        }
        Ok(())
    }

    fn set_mem_table(
        &mut self,
        ctx: &[VhostUserMemoryRegion],
        files: Vec<File>,
        _postcopy_listening: Option<bool>,
    ) -> VuResult<Option<Vec<VhostUserMemoryRegionBase>>> {
        let acct = self.shared.acct.clone();
        let regions: Vec<Region> = ctx
            .iter()
            .map(|r| Region {
                gpa: r.guest_phys_addr,
                size: r.memory_size,
                user_addr: r.user_addr,
                mmap_offset: r.mmap_offset,
            })
            .collect();
        let table: Vec<String> = regions
            .iter()
            .map(|r| format!("0x{:x}+0x{:x}", r.gpa, r.size))
            .collect();
        let mapped = if acct.audit {
            let mut v = Vec::new();
            for (r, f) in ctx.iter().zip(files) {
                v.push(Arc::new(Self::map_whole(r, f)?));
            }
            acct.say(&format!(
                "memory table: {}; audit: mapped all of it, counting accesses outside {}",
                table.join(", "),
                acct.window
            ));
            v
        } else {
            let wm = match window::window_map(&acct.window, &regions) {
                Ok(m) => m,
                Err(e) => {
                    acct.refuse_table(&e);
                    return Err(other(e));
                }
            };
            let file = files
                .into_iter()
                .nth(wm.region)
                .ok_or(VuError::InvalidParam)?;
            let m = MmapRegion::from_file(FileOffset::new(file, wm.file_offset), wm.size as usize)
                .map_err(|e| other(format!("mmap of the window: {e}")))?;
            acct.say(&format!(
                "memory table: {}; mapped only the window 0x{:x}+0x{:x} (file offset 0x{:x} of region {})",
                table.join(", "),
                wm.gpa,
                wm.size,
                wm.file_offset,
                wm.region
            ));
            vec![Arc::new(
                GuestRegionMmap::new(m, GuestAddress(wm.gpa)).ok_or(VuError::InvalidParam)?,
            )]
        };
        let mem = GuestMemoryMmap::from_arc_regions(mapped).map_err(|e| other(format!("{e}")))?;
        self.shared.mem.lock().unwrap().replace(mem);
        self.regions = regions;
        Ok(None)
    }

    fn set_vring_num(&mut self, index: u32, num: u32) -> VuResult<()> {
        if num == 0 || num > u32::from(self.max_queue_size) {
            self.shared
                .acct
                .say(&format!("queue {index}: SET_VRING_NUM {num} refused"));
            return Err(VuError::InvalidParam);
        }
        self.vring(index)?.set_queue_size(num as u16);
        Ok(())
    }

    fn set_vring_addr(
        &mut self,
        index: u32,
        _flags: VhostUserVringAddrFlags,
        descriptor: u64,
        used: u64,
        available: u64,
        _log: u64,
    ) -> VuResult<()> {
        let q = index as usize;
        let vring = self.vring(index)?;
        let gpa = |va| {
            window::vmm_va_to_gpa(&self.regions, va).ok_or_else(|| {
                self.shared
                    .acct
                    .say(&format!("queue {q}: ring address 0x{va:x} is in no region"));
                VuError::InvalidParam
            })
        };
        let (d, a, u) = (gpa(descriptor)?, gpa(available)?, gpa(used)?);
        let n = u64::from(vring.get_ref().get_queue().size());
        let acct = &self.shared.acct;
        let mut inside = true;
        for (addr, len, what) in [
            (d, 16 * n, "descriptor table"),
            (a, 6 + 2 * n, "available ring"),
            (u, 6 + 8 * n, "used ring"),
        ] {
            inside &= acct.check(addr, len, q, what);
        }
        if !inside && !acct.audit {
            acct.say(&format!(
                "queue {q}: its rings lie outside the window: the queue is not processed"
            ));
            self.shared.broken[q].store(true, Ordering::Release);
            return Ok(());
        }
        self.shared.broken[q].store(false, Ordering::Release);
        vring
            .set_queue_info(d, a, u)
            .map_err(|_| VuError::InvalidParam)?;
        let idx = vring
            .queue_used_idx()
            .map_err(|_| VuError::BackendInternalError)?;
        vring.set_queue_next_used(idx);
        // A queue set up anew is a driver starting again: its probe-time
        // requests are served honestly again.
        if let Some(h) = &self.shared.hostile {
            h.restart(q);
        }
        Ok(())
    }

    fn set_vring_base(&mut self, index: u32, base: u32) -> VuResult<()> {
        self.vring(index)?.set_queue_next_avail(base as u16);
        Ok(())
    }

    fn get_vring_base(&mut self, index: u32) -> VuResult<VhostUserVringState> {
        let vring = self.vring(index)?.clone();
        vring.set_queue_ready(false);
        self.update_registration(index as usize)?;
        let next = vring.queue_next_avail();
        vring.set_kick(None);
        vring.set_call(None);
        Ok(VhostUserVringState::new(index, u32::from(next)))
    }

    fn set_vring_kick(&mut self, index: u8, fd: Option<File>) -> VuResult<()> {
        let q = index as usize;
        let vring = self.vring(u32::from(index))?.clone();
        // Out of the epoll set while the old fd is still open.
        self.unregister(q);
        vring.set_kick(fd);
        // (A kick the guest gave before is still pending on the eventfd:
        // epoll reports it as soon as the fd is in the set.)
        self.start_if_ready(q)
    }

    fn set_vring_call(&mut self, index: u8, fd: Option<File>) -> VuResult<()> {
        self.vring(u32::from(index))?.set_call(fd);
        self.start_if_ready(index as usize)
    }

    fn set_vring_err(&mut self, index: u8, fd: Option<File>) -> VuResult<()> {
        self.vring(u32::from(index))?.set_err(fd);
        Ok(())
    }

    fn get_protocol_features(&mut self) -> VuResult<VhostUserProtocolFeatures> {
        // QEMU wants BACKEND_REQ (and REPLY_ACK, which vhost adds) from a
        // backend that offers ACCESS_PLATFORM, for IOTLB messages; it sends
        // none on virtio-mmio, which has no IOMMU.
        Ok(VhostUserProtocolFeatures::MQ
            | VhostUserProtocolFeatures::CONFIG
            | VhostUserProtocolFeatures::BACKEND_REQ)
    }

    fn set_backend_req_fd(&mut self, backend: Backend) {
        // Kept open (nothing is sent on it): closing it would look like a
        // failure to the frontend.
        self.backend_req = Some(backend);
    }

    fn set_protocol_features(&mut self, _features: u64) -> VuResult<()> {
        Ok(())
    }

    fn get_queue_num(&mut self) -> VuResult<u64> {
        Ok(self.num_queues as u64)
    }

    fn set_vring_enable(&mut self, index: u32, enable: bool) -> VuResult<()> {
        self.vring(index)?.set_enabled(enable);
        self.update_registration(index as usize)
    }

    fn get_config(
        &mut self,
        offset: u32,
        size: u32,
        _flags: VhostUserConfigFlags,
    ) -> VuResult<Vec<u8>> {
        let mut out = vec![0u8; size as usize];
        let (off, end) = (offset as usize, offset as usize + size as usize);
        if off < self.config.len() {
            let k = end.min(self.config.len());
            out[..k - off].copy_from_slice(&self.config[off..k]);
        }
        Ok(out)
    }

    fn set_config(
        &mut self,
        _offset: u32,
        _buf: &[u8],
        _flags: VhostUserConfigFlags,
    ) -> VuResult<()> {
        // Nothing in the config space is writable (no CONFIG_WCE).
        Ok(())
    }

    fn set_gpu_socket(&mut self, _gpu: GpuBackend) -> VuResult<()> {
        Err(VuError::InvalidOperation("not supported"))
    }

    fn get_shared_object(&mut self, _uuid: VhostUserSharedMsg) -> VuResult<File> {
        Err(VuError::InvalidOperation("not supported"))
    }

    fn get_inflight_fd(&mut self, _i: &VhostUserInflight) -> VuResult<(VhostUserInflight, File)> {
        Err(VuError::InvalidOperation("not supported"))
    }

    fn set_inflight_fd(&mut self, _i: &VhostUserInflight, _file: File) -> VuResult<()> {
        Err(VuError::InvalidOperation("not supported"))
    }

    fn get_max_mem_slots(&mut self) -> VuResult<u64> {
        Err(VuError::InvalidOperation("not supported"))
    }

    fn add_mem_region(
        &mut self,
        _region: &VhostUserSingleMemoryRegion,
        _fd: File,
        _postcopy_listening: Option<bool>,
    ) -> VuResult<Option<VhostUserMemoryRegionBase>> {
        // CONFIGURE_MEM_SLOTS is not offered: QEMU sends whole tables.
        Err(VuError::InvalidOperation("not supported"))
    }

    fn remove_mem_region(&mut self, _region: &VhostUserSingleMemoryRegion) -> VuResult<()> {
        Err(VuError::InvalidOperation("not supported"))
    }

    fn set_device_state_fd(
        &mut self,
        _d: VhostTransferStateDirection,
        _p: VhostTransferStatePhase,
        _fd: File,
    ) -> VuResult<Option<File>> {
        Err(VuError::InvalidOperation("not supported"))
    }

    fn check_device_state(&mut self) -> VuResult<()> {
        Err(VuError::InvalidOperation("not supported"))
    }

    fn get_shmem_config(&mut self) -> VuResult<VhostUserShMemConfig> {
        Err(VuError::InvalidOperation("not supported"))
    }

    fn set_log_base(&mut self, _log: &VhostUserLog, _file: File) -> VuResult<()> {
        Err(VuError::InvalidOperation("not supported"))
    }
}
