#!/usr/bin/env python3
"""Hold many keep-alive connections open against a proxy (bench/run.sh).

Opens --conns connections to 127.0.0.1:--port, sends one GET on each (at most
--window requests in flight, so the upstream is not asked for 10,000 connections
at once), keeps every connection open, holds them idle for --hold seconds, then
sends one more GET on each. Meanwhile it samples the server's VmRSS
(/proc/--pid/status) every 50 ms and counts its open descriptors.

Prints one line for run.sh:
RESULT conns=N opened=N round1_ok=N round2_ok=N err_connect=N err_closed=N
       err_status=N err_timeout=N rss_idle_kb=N rss_max_kb=N fds_max=N
       connect_s=F round1_s=F round2_s=F
Standard library only; every step has a timeout and the whole run a deadline.
"""

import argparse
import asyncio
import os
import sys
import time

IO_TIMEOUT = 30.0


def vmrss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def nfds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


class Stats:
    def __init__(self):
        self.err = {"connect": 0, "closed": 0, "status": 0, "timeout": 0}
        self.first_errors = []
        self.rss_max = 0
        self.fds_max = 0

    def fail(self, kind, what):
        self.err[kind] += 1
        if len(self.first_errors) < 5:
            self.first_errors.append("%s: %s" % (kind, what))


async def read_response(reader):
    """Reads one response; returns its status. Content-Length or chunked."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, chunked, close = None, False, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and "close" in value:
            close = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, close


async def one_request(conn, req, stats, sem):
    reader, writer = conn
    async with sem:
        try:
            writer.write(req)
            status, close = await asyncio.wait_for(read_response(reader), IO_TIMEOUT)
        except asyncio.TimeoutError:
            stats.fail("timeout", "no response in %.0f s" % IO_TIMEOUT)
            return False
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
            stats.fail("closed", repr(e))
            return False
        if status != 200:
            stats.fail("status", "status %d" % status)
            return False
        if close:
            stats.fail("closed", "server said Connection: close")
            return False
        return True


async def open_one(port, stats, sem):
    async with sem:
        try:
            return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), IO_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as e:
            stats.fail("connect", repr(e))
            return None


async def sampler(pid, stats, stop):
    while not stop.is_set():
        stats.rss_max = max(stats.rss_max, vmrss_kb(pid))
        try:
            await asyncio.wait_for(stop.wait(), 0.05)
        except asyncio.TimeoutError:
            pass


async def run(args, stats, out):
    stop = asyncio.Event()
    samp = asyncio.ensure_future(sampler(args.pid, stats, stop))
    req = ("GET %s HTTP/1.1\r\nHost: api.example.com\r\nOrigin: https://app.example.com\r\n\r\n"
           % args.path).encode()
    conns = []
    try:
        t0 = time.monotonic()
        csem = asyncio.Semaphore(args.connect_window)
        opened = await asyncio.gather(*(open_one(args.port, stats, csem) for _ in range(args.conns)))
        conns = [c for c in opened if c is not None]
        out["opened"] = len(conns)
        out["connect_s"] = time.monotonic() - t0

        sem = asyncio.Semaphore(args.window)
        for rnd in (1, 2):
            t0 = time.monotonic()
            ok = await asyncio.gather(*(one_request(c, req, stats, sem) for c in conns))
            out["round%d_ok" % rnd] = sum(ok)
            out["round%d_s" % rnd] = time.monotonic() - t0
            stats.fds_max = max(stats.fds_max, nfds(args.pid))
            if rnd == 1:
                # Everything open and idle: what does the server hold for it?
                deadline = time.monotonic() + args.hold
                while time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                out["rss_idle_kb"] = vmrss_kb(args.pid)
                stats.fds_max = max(stats.fds_max, nfds(args.pid))
    finally:
        stop.set()
        await samp
        for _, w in conns:
            w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="server process to sample")
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--window", type=int, default=256, help="requests in flight at most")
    ap.add_argument("--connect-window", type=int, default=64, help="connects in flight at most")
    ap.add_argument("--path", default="/api/items")
    ap.add_argument("--hold", type=float, default=2.0, help="seconds to hold all idle")
    ap.add_argument("--deadline", type=float, default=180.0, help="seconds for the whole run")
    args = ap.parse_args()

    stats = Stats()
    out = {"opened": 0, "round1_ok": 0, "round2_ok": 0, "rss_idle_kb": 0,
           "connect_s": 0.0, "round1_s": 0.0, "round2_s": 0.0}
    status = 0
    try:
        asyncio.run(asyncio.wait_for(run(args, stats, out), args.deadline))
    except asyncio.TimeoutError:
        print("conns.py: deadline of %.0f s passed" % args.deadline, file=sys.stderr)
        status = 1
    for e in stats.first_errors:
        print("conns.py: " + e, file=sys.stderr)
    print("RESULT conns=%d opened=%d round1_ok=%d round2_ok=%d err_connect=%d err_closed=%d "
          "err_status=%d err_timeout=%d rss_idle_kb=%d rss_max_kb=%d fds_max=%d "
          "connect_s=%.2f round1_s=%.2f round2_s=%.2f" % (
              args.conns, out["opened"], out["round1_ok"], out["round2_ok"],
              stats.err["connect"], stats.err["closed"], stats.err["status"],
              stats.err["timeout"], out["rss_idle_kb"], stats.rss_max, stats.fds_max,
              out["connect_s"], out["round1_s"], out["round2_s"]))
    sys.exit(status)


if __name__ == "__main__":
    main()
