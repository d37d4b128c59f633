"""Initiation with a long history (issue 'Hardening', BENCHMARKS.md): the release server
on SQLite (or PostgreSQL with DATABASE_URL), one shopper who has started PAST checkouts
already (each superseding the one before) and one new shopper; then both start checkouts
in turn and the p50/p99 of each is printed. Usage:
python3 tests/bench/initiation_history.py target/release/checkout-server [PAST]"""

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

binary = sys.argv[1]
past = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
rounds = int(os.environ.get("ROUNDS", "1000"))
data = tempfile.mkdtemp(prefix="initiation-history-")
args = [binary, "--bind", "127.0.0.1:0", "--data-dir", data, "--admin-token", "initiation-bench-token",
        "--argon2-memory-kib", "1024", "--initiations-per-shopper-per-minute", "100000000"]
if os.environ.get("DATABASE_URL"):
    args += ["--database-url", os.environ["DATABASE_URL"]]
server = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
port = None
for line in server.stdout:
    if line.startswith("checkout-server listening on "):
        port = int(line.rsplit(":", 1)[1])
        break
threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()


class Shopper:
    def __init__(self, name):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        status, headers = self.send("POST", "/api/v1/auth/signup", {"username": name, "password": "bench password"})
        assert status == 201, status
        self.cookie = headers["set-cookie"].split(";")[0]
        status, _ = self.send("POST", "/api/v1/cart/items", {"sku": "BRW-FUDGE", "quantity": 1})
        assert status == 201, status

    def send(self, method, path, body=None):
        headers = {"content-type": "application/json"} if body is not None else {}
        if getattr(self, "cookie", None):
            headers["cookie"] = self.cookie
        self.conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        r = self.conn.getresponse()
        r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}

    def initiate(self):
        started = time.perf_counter()
        status, _ = self.send("POST", "/api/v1/checkouts")
        assert status == 201, status
        return (time.perf_counter() - started) * 1000


try:
    old, new = Shopper("long-history"), Shopper("new-shopper")
    began = time.time()
    for _ in range(past):
        old.initiate()
    print(f"{past} past checkouts for one shopper in {time.time() - began:.0f} s")
    times = {"long history": [], "new shopper": []}
    for _ in range(rounds):
        times["long history"].append(old.initiate())
        times["new shopper"].append(new.initiate())
    print("| shopper | initiations | p50 ms | p99 ms |\n|---|---|---|---|")
    for who, t in times.items():
        t.sort()
        print(f"| {who} | {len(t)} | {t[len(t) // 2]:.3f} | {t[int(len(t) * 0.99)]:.3f} |")
finally:
    server.terminate()
    server.wait()
