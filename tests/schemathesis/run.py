"""schemathesis against a running checkout-server (CONTRACT §11), as a shopper, as the
admin and as the shop's backend, with every check; exits non-zero on any failure. Started by `cargo xtask test`
(and `cargo xtask schemathesis`) with the server's URL in CHECKOUT_URL and its admin
token in CHECKOUT_ADMIN_TOKEN; bounded by ST_MAX_TIME seconds per run."""

import json
import os
import subprocess
import sys
import urllib.request

BASE = os.environ["CHECKOUT_URL"].rstrip("/")
ADMIN = os.environ["CHECKOUT_ADMIN_TOKEN"]
BACKEND = os.environ["CHECKOUT_BACKEND_KEY"]
MAX_TIME = os.environ.get("ST_MAX_TIME", "90")
HERE = os.path.dirname(os.path.abspath(__file__))


def shopper_cookie() -> str:
    body = json.dumps({"username": "schemathesis", "password": "schemathesis password"}).encode()
    request = urllib.request.Request(
        f"{BASE}/api/v1/auth/signup", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        cookie = response.headers["set-cookie"].split(";", 1)[0]
    request = urllib.request.Request(
        f"{BASE}/api/v1/cart/items",
        data=json.dumps({"sku": "BRW-FUDGE", "quantity": 1}).encode(),
        headers={"content-type": "application/json", "cookie": cookie},
    )
    urllib.request.urlopen(request).close()
    return cookie


def run(name: str, header: str, filters: list[str]) -> int:
    command = [
        "st", "--config-file", os.path.join(HERE, "schemathesis.toml"), "run",
        f"{BASE}/api/v1/openapi.json", "--url", f"{BASE}/api/v1",
        "-H", header, "--checks", "all", "--max-time", MAX_TIME, "--workers", "2",
        "--seed", os.environ.get("ST_SEED", "20261201"), "--no-color",
        *filters,
    ]
    print(f"$ schemathesis as {name} ({MAX_TIME} s)", flush=True)
    return subprocess.run(command, check=False).returncode


def main() -> int:
    cookie = shopper_cookie()
    codes = [
        # Signing out would end the run's own login; its behaviour has its own tests.
        run("shopper", f"Cookie: {cookie}", ["--exclude-path-regex", "^/(admin|backend)/", "--exclude-path", "/auth/logout"]),
        run("admin", f"Authorization: Bearer {ADMIN}", ["--include-path-regex", "^/admin/"]),
        # The shop's backend (CONTRACT §24); its example cart names the shopper above.
        run("backend", f"Authorization: Bearer {BACKEND}", ["--include-path-regex", "^/backend/"]),
    ]
    failed = [c for c in codes if c != 0]
    print(f"schemathesis: {len(codes) - len(failed)} of {len(codes)} runs without a failure")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
