// SPDX-License-Identifier: GPL-2.0
#![doc = include_str!("../README.md")]

mod blk;
mod device;
mod hostile;
mod marker;
mod ring;
mod window;

use std::io;
use std::process::exit;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use vhost::vhost_user::{BackendListener, Error as VuError, Listener};

use crate::blk::FileDisk;
use crate::device::Handler;
use crate::hostile::{Hostile, Mode};
use crate::marker::Marker;
use crate::window::{Accounting, Window};

struct Args {
    socket: String,
    image: String,
    window: Window,
    num_queues: usize,
    queue_size: u16,
    audit: bool,
    hostile: Option<Mode>,
    hostile_from: u64,
    find: Option<Vec<u8>>,
}

/// Requests served honestly on each queue before --hostile applies: past
/// the guest's probe (partition table, GET_ID).
const HOSTILE_FROM: u64 = 64;

const USAGE: &str = "usage: window-backend --socket PATH --image FILE --window BASE+SIZE \
                     [--num-queues N] [--queue-size N] [--audit] \
                     [--hostile MODE [--hostile-from N]] [--find HEX]
  MODE: used-len, used-id, used-head, used-twice, used-phantom, desc-flags, scribble, after
  --hostile-from N: the first N requests of each queue are served honestly (64)
  --find HEX: count these bytes in the buffers of each request before it is served";

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut socket, mut image, mut window) = (None, None, None);
    let (mut num_queues, mut queue_size, mut audit) = (1usize, 1024u16, false);
    let (mut hostile, mut hostile_from, mut find) = (None, None, None);
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--socket" => socket = Some(val()?),
            "--image" => image = Some(val()?),
            "--window" => window = Some(Window::parse(&val()?)?),
            "--num-queues" => num_queues = val()?.parse().map_err(|_| "bad --num-queues")?,
            "--queue-size" => queue_size = val()?.parse().map_err(|_| "bad --queue-size")?,
            "--audit" => audit = true,
            "--hostile" => hostile = Some(val()?.parse::<Mode>()?),
            "--hostile-from" => {
                hostile_from = Some(val()?.parse().map_err(|_| "bad --hostile-from")?)
            }
            "--find" => find = Some(marker::parse_hex(&val()?)?),
            _ => return Err(format!("unknown argument '{a}'")),
        }
    }
    if hostile_from.is_some() && hostile.is_none() {
        return Err("--hostile-from needs --hostile".into());
    }
    if !(1..=64).contains(&num_queues) {
        return Err("--num-queues must be 1 to 64".into());
    }
    if !queue_size.is_power_of_two() || queue_size < 4 {
        return Err("--queue-size must be a power of two, at least 4".into());
    }
    Ok(Args {
        socket: socket.ok_or("--socket is required")?,
        image: image.ok_or("--image is required")?,
        window: window.ok_or("--window is required")?,
        num_queues,
        queue_size,
        audit,
        hostile,
        hostile_from: hostile_from.unwrap_or(HOSTILE_FROM),
        find,
    })
}

enum End {
    Signal(i32),
    Disconnected,
    Failed(String),
}

/// Blocks SIGINT and SIGTERM in every thread (call before any is
/// spawned) and has one thread wait for them.
fn watch_signals(tx: mpsc::Sender<End>) -> io::Result<()> {
    // SAFETY: plain libc calls on a local, initialised sigset_t.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut sig = 0;
                if libc::sigwait(&set, &mut sig) == 0 {
                    let _ = tx.send(End::Signal(sig));
                }
            })?;
    }
    Ok(())
}

fn serve(
    args: &Args,
    acct: Arc<Accounting>,
    hostile: Option<Arc<Hostile>>,
    marker: Option<Arc<Marker>>,
    tx: mpsc::Sender<End>,
) -> Result<(), String> {
    let disk = FileDisk::open(&args.image).map_err(|e| format!("{}: {e}", args.image))?;
    let extra = format!(
        "{}{}",
        hostile
            .as_ref()
            .map(|h| format!(", hostile {} from request {}", h.mode, h.from))
            .unwrap_or_default(),
        marker
            .as_ref()
            .map(|m| format!(", finding {}", m.hex()))
            .unwrap_or_default()
    );
    let (handler, _worker) = Handler::new(
        acct.clone(),
        Box::new(disk),
        args.num_queues,
        args.queue_size,
        hostile,
        marker,
    )
    .map_err(|e| format!("cannot start: {e}"))?;
    let handler = Arc::new(Mutex::new(handler));
    let mut listener =
        Listener::new(&args.socket, true).map_err(|e| format!("{}: {e}", args.socket))?;
    acct.say(&format!(
        "window backend: listening on {}, {} ({} bytes), window {}, {} queue(s){}{extra}",
        args.socket,
        args.image,
        std::fs::metadata(&args.image).map(|m| m.len()).unwrap_or(0),
        args.window,
        args.num_queues,
        if args.audit { ", audit mode" } else { "" }
    ));
    let shared = handler.lock().unwrap().shared.clone();
    thread::Builder::new()
        .name("vhost-user".into())
        .spawn(move || {
            let end = (|| {
                let mut bl =
                    BackendListener::new(&mut listener, handler).map_err(|e| e.to_string())?;
                let mut conn = loop {
                    match bl.accept() {
                        Ok(Some(c)) => break c,
                        Ok(None) => continue,
                        Err(e) => return Err(e.to_string()),
                    }
                };
                loop {
                    match conn.handle_request() {
                        Ok(()) => {}
                        Err(
                            VuError::Disconnected
                            | VuError::PartialMessage
                            | VuError::SocketBroken(_),
                        ) => {
                            return Ok(());
                        }
                        // The handler refused one request (and said why, and
                        // QEMU got the refusal with REPLY_ACK): go on.
                        Err(
                            e @ (VuError::ReqHandlerError(_)
                            | VuError::InvalidParam
                            | VuError::InvalidOperation(_)
                            | VuError::InactiveFeature(_)
                            | VuError::InactiveOperation(_)),
                        ) => shared
                            .acct
                            .say(&format!("vhost-user: request refused: {e}")),
                        Err(e) => return Err(e.to_string()),
                    }
                }
            })();
            shared.stop();
            let _ = tx.send(match end {
                Ok(()) => End::Disconnected,
                Err(e) => End::Failed(e),
            });
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("window-backend: {e}\n{USAGE}");
            exit(2);
        }
    };
    let acct = Arc::new(Accounting::new(
        args.window,
        args.audit,
        Box::new(io::stdout()),
    ));
    let hostile = args
        .hostile
        .map(|m| Arc::new(Hostile::new(m, args.hostile_from, args.num_queues)));
    let marker = args.find.clone().map(|b| Arc::new(Marker::new(b)));
    let (tx, rx) = mpsc::channel();
    if let Err(e) = watch_signals(tx.clone()) {
        eprintln!("window-backend: signals: {e}");
        exit(2);
    }
    if let Err(e) = serve(&args, acct.clone(), hostile.clone(), marker.clone(), tx) {
        eprintln!("window-backend: {e}");
        exit(2);
    }
    let why = match rx.recv() {
        Ok(End::Signal(s)) => format!("signal {s}"),
        Ok(End::Disconnected) => "the frontend disconnected".to_string(),
        Ok(End::Failed(e)) => format!("vhost-user failed: {e}"),
        Err(_) => "no event".to_string(),
    };
    acct.say(&format!("window backend: exiting: {why}"));
    for line in [hostile.map(|h| h.summary()), marker.map(|m| m.summary())]
        .into_iter()
        .flatten()
    {
        acct.say(&line);
    }
    acct.say(&acct.closing_line());
    exit(acct.exit_status());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse_args(s.split_whitespace().map(String::from))
    }

    #[test]
    fn command_line() {
        let a = args("--socket s --image i --window 0x50000000+0x400000 --num-queues 2 --audit")
            .unwrap();
        assert_eq!((a.num_queues, a.queue_size, a.audit), (2, 1024, true));
        assert_eq!(
            a.window,
            Window {
                base: 0x5000_0000,
                size: 0x40_0000
            }
        );
        assert!(args("--socket s --image i").is_err());
        assert!(
            args("--socket s --image i --window 0x50000000+0x400000 --queue-size 100").is_err()
        );
        assert!(args("--bogus").is_err());
        assert_eq!((a.hostile, a.hostile_from, a.find), (None, 64, None));
    }

    #[test]
    fn hostile_and_find() {
        let base = "--socket s --image i --window 0x50000000+0x400000";
        let a = args(&format!(
            "{base} --hostile used-twice --find 5245434549564521"
        ))
        .unwrap();
        assert_eq!(a.hostile, Some(Mode::UsedTwice));
        assert_eq!(a.hostile_from, 64);
        assert_eq!(a.find.as_deref(), Some(b"RECEIVE!".as_slice()));
        let a = args(&format!("{base} --hostile after --hostile-from 0")).unwrap();
        assert_eq!((a.hostile, a.hostile_from), (Some(Mode::After), 0));
        let e = args(&format!("{base} --hostile nice")).err().unwrap();
        assert!(e.contains("used-len, used-id, used-head, used-twice, used-phantom, desc-flags, scribble, after"), "{e}");
        assert!(args(&format!("{base} --hostile-from 3")).is_err());
        assert!(args(&format!("{base} --hostile scribble --hostile-from x")).is_err());
        assert!(args(&format!("{base} --find 5")).is_err());
        assert!(args(&format!("{base} --hostile")).is_err());
    }
}
