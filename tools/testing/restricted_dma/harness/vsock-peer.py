#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The host's end of a guest's vsock streams, through vhost-device-vsock's
unix sockets (its --uds-path UDS).

Usage: vsock-peer.py UDS PORT DIR CONSOLE_LOG

From the guest: vhost-device-vsock turns a guest's connection to the host
(CID 2) on port PORT into a connection to the unix socket UDS_PORT, where
this peer listens. Each connection sends one line "NAME SIZE", then SIZE
bytes, which the peer writes to DIR/NAME; it answers "saved NAME N" (N: the
bytes it got), and the guest closes. The guest cannot half-close: the
backend does not pass a shutdown of one direction on, hence the size up
front.

To the guest: on each console line "rdma-host: vsock-send DEV NAME PORT",
where DEV is DIR's own name (the guest listens on PORT by then), it
connects to UDS, says "CONNECT PORT", waits for the backend's "OK PORT",
sends DIR/NAME and waits for the guest,
which knows the size, to close. A CONNECT the guest does not answer yet (it
resets it) is tried again, for up to 20 s.

One line a stream on stdout, "vsock-peer: ...", for the record; check.sh
compares DIR's files with the sums the guest printed. Runs until killed.
"""
import os
import re
import socket
import sys
import threading
import time

# A file name in DIR, from the guest's words: no path, no dot file.
NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"


def say(msg):
    print(f"vsock-peer: {msg}", flush=True)


def receive(conn, directory):
    """One guest-to-host stream: header, data, answer."""
    with conn:
        f = conn.makefile("rb")
        header = f.readline(256).decode(errors="replace").split()
        if len(header) != 2 or not re.fullmatch(NAME, header[0]) or not header[1].isdigit():
            say(f"bad header {header!r}")
            return
        name, size = header[0], int(header[1])
        got = 0
        with open(os.path.join(directory, name), "wb") as out:
            while got < size:
                chunk = f.read1(min(65536, size - got))
                if not chunk:
                    break
                out.write(chunk)
                got += len(chunk)
        say(f"received {name}: {got} of {size} bytes")
        conn.sendall(f"saved {name} {got}\n".encode())
        wait_close(conn)


def wait_close(conn):
    """Waits (up to 60 s) for the guest to close first: when this end
    closes first, vhost-device-vsock's shutdown races with the last packets
    it passes on."""
    conn.settimeout(60)
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


def listen(path, directory):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=receive, args=(conn, directory), daemon=True).start()


def send(uds, port, path):
    """One host-to-guest stream; True once it is all sent."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        say(f"nothing to send: {e}")
        return False
    deadline = time.monotonic() + 20
    tries = 0
    while time.monotonic() < deadline:
        tries += 1
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Bounded: a guest that never answers must not hold the peer.
        s.settimeout(60)
        try:
            s.connect(uds)
            s.sendall(f"CONNECT {port}\n".encode())
            # Byte by byte: nothing after the backend's line is ours to take.
            line = b""
            while not line.endswith(b"\n"):
                c = s.recv(1)
                if not c:
                    break
                line += c
            if line == f"OK {port}\n".encode():
                s.sendall(data)
                wait_close(s)
                s.close()
                say(f"sent {os.path.basename(path)}: {len(data)} bytes to port {port} (attempt {tries})")
                return True
        except OSError as e:
            say(f"port {port}: {e}")
        s.close()
        time.sleep(0.2)
    say(f"gave up sending {os.path.basename(path)} to port {port} after {tries} attempts")
    return False


def main(uds, port, directory, log_path):
    threading.Thread(target=listen, args=(f"{uds}_{port}", directory), daemon=True).start()
    dev = re.escape(os.path.basename(os.path.normpath(directory)))
    done = 0
    while True:
        try:
            with open(log_path, errors="replace") as log:
                text = log.read()
        except FileNotFoundError:
            text = ""
        for k, (name, p) in enumerate(re.findall(rf"rdma-host: vsock-send {dev} ({NAME}) (\d+)", text)):
            if k < done:
                continue
            done += 1
            send(uds, int(p), os.path.join(directory, name))
        time.sleep(0.2)


if __name__ == "__main__":
    main(*sys.argv[1:5])
