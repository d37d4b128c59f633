"""Login flood benchmark (issue 'Hardening', BENCHMARKS.md): the release server with the
production Argon2 cost, 200 concurrent wrong logins, while /healthz is asked every 20 ms.
Prints the server's idle and peak memory (VmRSS, VmHWM from /proc) and /healthz latency
during the flood. Usage: python3 tests/bench/login_flood.py target/release/checkout-server"""

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

binary = sys.argv[1]
logins = int(os.environ.get("LOGINS", "200"))
data = tempfile.mkdtemp(prefix="login-flood-")
# The throttles would answer most of the flood with 429 before any hash: lift them, so the
# flood measures the hashing bound itself. (FLOOD_ARGS replaces these flags, e.g. empty
# for a build without them.)
extra = os.environ.get(
    "FLOOD_ARGS", "--login-failures-per-account 1000000 --login-failures-per-address 1000000"
).split()
server = subprocess.Popen(
    [binary, "--bind", "127.0.0.1:0", "--data-dir", data, "--admin-token", "login-flood-admin-token",
     *extra],
    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
)
port = None
for line in server.stdout:
    if line.startswith("checkout-server listening on "):
        port = int(line.rsplit(":", 1)[1])
        break
threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()


def status(field):
    with open(f"/proc/{server.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    return 0


def post(path, body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", path, json.dumps(body), {"content-type": "application/json"})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


post("/api/v1/auth/signup", {"username": "victim", "password": "the right password"})
time.sleep(1)
idle_rss = status("VmRSS")
idle_hwm = status("VmHWM")
answers = []
health = []
stop = threading.Event()


def poll_health():
    while not stop.is_set():
        t = time.perf_counter()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/healthz")
        c.getresponse().read()
        c.close()
        health.append((time.perf_counter() - t) * 1000)
        time.sleep(0.02)


def login(i):
    name = "victim" if i % 2 == 0 else f"nobody{i}"
    answers.append(post("/api/v1/auth/login", {"username": name, "password": "wrong password!"}))


poller = threading.Thread(target=poll_health)
poller.start()
started = time.perf_counter()
threads = [threading.Thread(target=login, args=(i,)) for i in range(logins)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.perf_counter() - started
stop.set()
poller.join()
peak = status("VmHWM")
server.terminate()
server.wait()
health.sort()
p = lambda q: health[min(len(health) - 1, int(q * len(health)))] if health else float("nan")
counts = {s: answers.count(s) for s in sorted(set(answers))}
print(f"| {logins} concurrent wrong logins | {elapsed:.1f} s | answers {counts} | idle RSS {idle_rss} MiB | "
      f"peak (VmHWM) {peak} MiB | peak above idle {peak - idle_rss} MiB | /healthz p50 {p(0.5):.1f} ms, "
      f"p99 {p(0.99):.1f} ms, max {health[-1] if health else 0:.1f} ms over {len(health)} probes |")
