#!/usr/bin/env python3
"""Soak: a realistic mix against a running Ironstone for a set time.

    soak.py URL ADMIN_PASSWORD PID SECONDS [THREADS]   (THREADS of the mix, 6 by default)

The mix, by weight: token validation 45, EC2 signature verification
(/v3/ec2tokens, each request signed anew) 30, an AK/SK pair created,
listed and deleted 10, an admin write (a user created, granted a role on a
project, deleted) 15; and on two more client threads, logins, by password
and by application credential in turn. A login costs a bcrypt hash (cost
12 by default, a few per second per core), so the logins have threads of
their own rather than starve the rest of the mix. Every 10 s it prints the throughput, p50 and p99 latency, the errors
(any answer the mix did not ask for) and the server's RSS, open file
descriptors and threads (from /proc/PID).

Passes (exit 0) when there was no error, the RSS stayed flat (the last
minute's maximum within 10 % of the second minute's; on a run shorter
than three minutes, the last sixth against the second sixth), and file
descriptors and threads did not grow (the last minute's or sixth's
maximum within 10 % plus 4 of the highest level reached between the
warm-up and then: pools grow on demand up to their bound).
"""

import json
import os
import random
import statistics
import sys
import threading
import time
import uuid

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MIX = [("validate", 45), ("ec2tokens", 30), ("aksk", 10), ("admin_write", 15)]
if os.environ.get("SOAK_MIX"):
    # e.g. SOAK_MIX=validate=50,ec2tokens=50: another mix, to find which
    # operation a trend comes from.
    MIX = [(name, int(weight)) for name, weight in
           (part.split("=") for part in os.environ["SOAK_MIX"].split(","))]
LOGINS = [("password", 1), ("app_cred", 1)]


class Setup:
    """What the mix needs, made through the API."""

    def __init__(self, url, password):
        self.url = url
        s = requests.Session()
        self.password_body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
        r = s.post(f"{url}/v3/auth/tokens", json=self.password_body)
        r.raise_for_status()
        self.token = r.headers["X-Subject-Token"]
        self.user_id = r.json()["token"]["user"]["id"]
        self.project_id = r.json()["token"]["project"]["id"]
        h = {"X-Auth-Token": self.token}
        self.subjects = [s.post(f"{url}/v3/auth/tokens", json=self.password_body).headers["X-Subject-Token"]
                         for _ in range(8)]
        roles = s.get(f"{url}/v3/roles?name=member", headers=h).json()["roles"]
        self.member_role = roles[0]["id"]
        r = s.post(f"{url}/v3/users/{self.user_id}/application_credentials", headers=h,
                   json={"application_credential": {"name": f"soak-{uuid.uuid4().hex[:8]}"}})
        r.raise_for_status()
        app = r.json()["application_credential"]
        self.app_cred_body = {"auth": {"identity": {"methods": ["application_credential"],
                                                    "application_credential": {"id": app["id"], "secret": app["secret"]}}}}
        r = s.post(f"{url}/v1/{self.project_id}/aksks", headers=h,
                   json={"project_id": self.project_id, "user_id": self.user_id})
        r.raise_for_status()
        self.ec2 = Credentials(r.json()["access_key"], r.json()["secret_key"])


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = []
        self.errors = 0
        self.total_errors = 0
        self.examples = []

    def record(self, what, seconds, error=None):
        with self.lock:
            self.latencies.append((what, seconds))
            if error:
                self.errors += 1
                self.total_errors += 1
                if len(self.examples) < 10:
                    self.examples.append(error)

    def take(self):
        with self.lock:
            latencies, self.latencies = self.latencies, []
            errors, self.errors = self.errors, 0
        return latencies, errors


def signed_ec2_body(setup):
    query = f"Action=DescribeRegions&Nonce={uuid.uuid4().hex}&Version=2016-11-15"
    req = AWSRequest(method="GET", url=f"https://ec2.example.com/?{query}")
    SigV4Auth(setup.ec2, "ec2", "RegionOne").add_auth(req)
    headers = dict(req.headers.items())
    headers.setdefault("Host", "ec2.example.com")
    params = dict(p.split("=", 1) for p in query.split("&"))
    return {"credentials": {
        "access": setup.ec2.access_key,
        "signature": req.headers["Authorization"].rsplit("Signature=", 1)[1],
        "host": "ec2.example.com", "verb": "GET", "path": "/", "params": params,
        "headers": headers,
        "body_hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    }}


def operation(name, s, setup):
    """Runs one operation of the mix; a list of (status, expected, what)."""
    url, h = setup.url, {"X-Auth-Token": setup.token}
    if name == "validate":
        subject = random.choice(setup.subjects)
        r = s.get(f"{url}/v3/auth/tokens", headers={**h, "X-Subject-Token": subject})
        return [(r, 200, "validate")]
    if name == "ec2tokens":
        r = s.post(f"{url}/v3/ec2tokens", headers=h, json=signed_ec2_body(setup))
        return [(r, 200, "ec2tokens")]
    if name == "password":
        return [(s.post(f"{url}/v3/auth/tokens", json=setup.password_body), 201, "password login")]
    if name == "app_cred":
        return [(s.post(f"{url}/v3/auth/tokens", json=setup.app_cred_body), 201, "app cred login")]
    if name == "aksk":
        base = f"{url}/v1/{setup.project_id}/aksks"
        r = s.post(base, headers=h, json={"project_id": setup.project_id, "user_id": setup.user_id,
                                          "name": "soak"})
        out = [(r, 200, "aksk create")]
        if r.status_code == 200:
            access = r.json()["access_key"]
            out.append((s.get(f"{base}/{setup.user_id}/keys", headers=h), 200, "aksk list"))
            out.append((s.delete(f"{base}/{setup.user_id}/keys/{access}", headers=h), 200, "aksk delete"))
        return out
    if name == "admin_write":
        r = s.post(f"{url}/v3/users", headers=h,
                   json={"user": {"name": f"soak-{uuid.uuid4().hex}"}})
        out = [(r, 201, "user create")]
        if r.status_code == 201:
            uid = r.json()["user"]["id"]
            out.append((s.put(f"{url}/v3/projects/{setup.project_id}/users/{uid}/roles/{setup.member_role}",
                              headers=h), 204, "grant"))
            out.append((s.delete(f"{url}/v3/users/{uid}", headers=h), 204, "user delete"))
        return out
    raise ValueError(name)


def worker(setup, stats, deadline, mix):
    s = requests.Session()
    names = [n for n, _ in mix]
    weights = [w for _, w in mix]
    while time.monotonic() < deadline:
        name = random.choices(names, weights)[0]
        started = time.monotonic()
        try:
            results = operation(name, s, setup)
        except requests.RequestException as e:
            stats.record(name, time.monotonic() - started, f"{name}: {e}")
            continue
        for r, expected, what in results:
            error = None
            if r.status_code != expected:
                error = f"{what}: {r.status_code} {r.text[:200]}"
            stats.record(what, r.elapsed.total_seconds(), error)


def process_sample(pid):
    status = open(f"/proc/{pid}/status").read()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss_kib = int(fields["VmRSS"].split()[0])
    threads = int(fields["Threads"])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss_kib, fds, threads


def percentile(values, q):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main():
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    url, password, pid, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    threads = int(sys.argv[5]) if len(sys.argv) > 5 else 6
    setup = Setup(url, password)
    stats = Stats()
    deadline = time.monotonic() + seconds
    mixes = [MIX] * threads + [LOGINS] * 2
    workers = [threading.Thread(target=worker, args=(setup, stats, deadline, mix), daemon=True)
               for mix in mixes]
    for w in workers:
        w.start()
    samples = []
    print(f"{'t (s)':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'RSS MiB':>8} {'fds':>5} {'threads':>7}")
    started = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(min(10, max(0.0, deadline - time.monotonic())))
        timed, errors = stats.take()
        latencies = [took for _, took in timed]
        by_operation = {}
        for what, took in timed:
            by_operation.setdefault(what, []).append(took)
        t = time.monotonic() - started
        rss, fds, nthreads = process_sample(pid)
        window = t - (samples[-1]["t"] if samples else 0)
        sample = {"t": t, "rps": len(latencies) / window if window else 0,
                  "p50": percentile(latencies, 0.5) * 1000, "p99": percentile(latencies, 0.99) * 1000,
                  "errors": errors, "rss_mib": rss / 1024, "fds": fds, "threads": nthreads,
                  "p50_by_operation": {what: percentile(v, 0.5) * 1000 for what, v in by_operation.items()}}
        samples.append(sample)
        print(f"{t:6.0f} {sample['rps']:8.0f} {sample['p50']:8.1f} {sample['p99']:8.1f} {errors:7d} "
              f"{sample['rss_mib']:8.1f} {fds:5d} {nthreads:7d}", flush=True)
    for w in workers:
        w.join()
    _, tail_errors = stats.take()
    if tail_errors:
        print(f"soak: {tail_errors} errors in the requests in flight at the end")
    print(json.dumps({"samples": samples}), file=open(os.environ.get("SOAK_JSON", os.devnull), "w"))
    if len(samples) >= 2:
        first, last = samples[0]["p50_by_operation"], samples[-1]["p50_by_operation"]
        print("p50 ms by operation, first and last 10 s: " + ", ".join(
            f"{what} {first[what]:.1f} -> {last.get(what, 0):.1f}" for what in sorted(first)))
    failures = judge(samples, seconds, stats)
    for f in failures:
        print(f"soak: FAIL: {f}")
    if not failures:
        total = sum(s["rps"] * (s["t"] - (samples[i - 1]["t"] if i else 0)) for i, s in enumerate(samples))
        print(f"soak: pass: {total:.0f} operations in {seconds} s, no error, memory, descriptors and threads flat")
    return 1 if failures else 0


def judge(samples, seconds, stats):
    failures = []
    if stats.total_errors:
        failures.append(f"{stats.total_errors} errors, for example: {stats.examples}")
    if seconds >= 180:
        baseline = [s for s in samples if 60 <= s["t"] <= 120]
        final = [s for s in samples if s["t"] >= seconds - 60]
    else:
        sixth = seconds / 6
        baseline = [s for s in samples if sixth <= s["t"] <= 2 * sixth + 10]
        final = [s for s in samples if s["t"] >= seconds - sixth]
    if not baseline or not final:
        failures.append("too few samples to judge (run at least 60 s)")
        return failures
    rss_base, rss_final = max(s["rss_mib"] for s in baseline), max(s["rss_mib"] for s in final)
    if rss_final > rss_base * 1.10:
        failures.append(f"RSS grew: {rss_base:.1f} MiB then {rss_final:.1f} MiB")
    # Pools (the blocking threads, the database's connections) grow on
    # demand up to their bound and shrink when idle: growth is a new high
    # at the end above every level reached after the warm-up.
    warm = [s for s in samples if baseline[0]["t"] <= s["t"] < final[0]["t"]]
    for what in ("fds", "threads"):
        base, last = max(s[what] for s in warm or baseline), max(s[what] for s in final)
        if last > base * 1.10 + 4:
            failures.append(f"{what} grew: at most {base} after the warm-up, then {last}")
    return failures


if __name__ == "__main__":
    sys.exit(main())
