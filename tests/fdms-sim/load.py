#!/usr/bin/env python3
"""Load test for fdms-sim: many devices, keep-alive mTLS connections.

    python3 tests/fdms-sim/load.py [--devices 200] [--procs 2] [--threads 8]
                                   [--seconds 10] [--op GetStatus|Ping|mix]
                                   [--url https://127.0.0.1:PORT --ca FILE]

Without --url it starts its own simulator on a free port with a temporary
state directory. It registers --devices devices (ECDSA keys, one
RegisterDevice each), then runs --procs client processes of --threads
threads; each thread owns an equal share of the devices, keeps one
persistent HTTPS connection per device (client certificate of that device)
and sends requests round-robin over them for --seconds. It prints the
requests per second, the error count and latency percentiles.
"""
import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testkit as tk  # noqa: E402


def worker(args):
    port, ca, devs, op, seconds, threads, start_at = args
    shares = [devs[i::threads] for i in range(threads)]
    results = []
    lock = threading.Lock()

    def run(share):
        conns = [(d, tk.Client(port, ca, cert, key)) for d, cert, key in share]
        for d, c in conns:  # connect + handshake before the clock starts
            c.request("GET", "/Device/v1/%d/GetConfig" % d)
        while time.time() < start_at:
            time.sleep(0.01)
        end = start_at + seconds
        n = errors = 0
        lat = []
        i = 0
        while True:
            t0 = time.time()
            if t0 >= end:
                break
            d, c = conns[i % len(conns)]
            i += 1
            kind = op if op != "mix" else ("Ping" if i % 2 else "GetStatus")
            try:
                if kind == "Ping":
                    r = c.request("POST", "/Device/v1/%d/Ping" % d)
                else:
                    r = c.request("GET", "/Device/v1/%d/GetStatus" % d)
                if r.status != 200:
                    errors += 1
            except Exception:  # noqa: BLE001
                errors += 1
            n += 1
            lat.append(time.time() - t0)
        with lock:
            results.append((n, errors, lat))

    ts = [threading.Thread(target=run, args=(s,)) for s in shares if s]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    n = sum(r[0] for r in results)
    e = sum(r[1] for r in results)
    lat = [x for r in results for x in r[2]]
    return n, e, lat


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--devices", type=int, default=200)
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--op", default="GetStatus", choices=["GetStatus", "Ping", "mix"])
    p.add_argument("--first-id", type=int, default=70000)
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="fdms-load-")
    sim = tk.SimProcess(os.path.join(tmp, "state"))
    try:
        t0 = time.time()
        devs = []
        for i in range(a.devices):
            wd = os.path.join(tmp, "d%d" % i)
            os.makedirs(wd)
            dev = tk.DeviceKit(sim, a.first_id + i, workdir=wd)
            r = dev.register()
            if r.status != 200:
                sys.exit("register %d: %r" % (dev.id, r))
            devs.append((dev.id, dev.certfile, dev.keyfile))
            dev.public.close()
        print("registered %d devices in %.1f s" % (a.devices, time.time() - t0))
        start_at = time.time() + 2 + a.devices / 100.0
        jobs = [(sim.port, sim.ca, devs[i::a.procs], a.op, a.seconds, a.threads, start_at)
                for i in range(a.procs)]
        with multiprocessing.Pool(a.procs) as pool:
            res = pool.map(worker, jobs)
        n = sum(r[0] for r in res)
        e = sum(r[1] for r in res)
        lat = sorted(x for r in res for x in r[2])
        pc = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (lambda q: 0)
        print("op=%s devices=%d procs=%d threads=%d seconds=%g" % (
            a.op, a.devices, a.procs, a.threads, a.seconds))
        print("requests=%d errors=%d rate=%.0f req/s  latency ms p50=%.1f p95=%.1f p99=%.1f"
              % (n, e, n / a.seconds, pc(0.5), pc(0.95), pc(0.99)))
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
