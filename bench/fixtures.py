#!/usr/bin/env python3
"""Fixtures for bench/run, the same for Ironstone and Keystone.

    fixtures.py keystone-setup DIR [uncached]      # keystone-manage a Keystone on SQLite
    fixtures.py prepare URL ADMIN_PASSWORD OUT N   # tokens, an EC2 pair, N signed bodies
    fixtures.py seed DB N                          # N more users and pairs in Ironstone's SQLite
    fixtures.py coldstart BIN DIR N                # median ms from launch to a first GET /v3

`prepare` writes OUT/env (shell variables), OUT/password.json (a
project-scoped password auth body), OUT/subject_tokens.txt (500
project-scoped tokens, made by rescoping, so no hash is spent on them:
validation rotates through them, as a service validates many users'
tokens) and OUT/ec2_bodies.txt (N distinct
SigV4-signed /v3/ec2tokens bodies, one JSON document per line, each signed
with the pair and a unique nonce, so no two are the same request).
"""

import hashlib
import json
import os
import sys
import uuid
from urllib.parse import parse_qsl, urlsplit

import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "interop"))


def keystone_setup(top, uncached=False):
    """Keystone as operators deploy it: its cache on (see build())."""
    from keystone_server import build

    print(build(top, f"sqlite:///{top}/keystone.db", "bench-admin", cache=not uncached))


def post_retrying(session, url, body, attempts=5):
    """POST, again when the connection is reset: uwsgi's --http-socket
    resets one in a few of these under Keystone (seen here, two of five).
    A lost answer costs nothing here: another token is made."""
    for attempt in range(attempts):
        try:
            return session.post(url, json=body)
        except requests.exceptions.ConnectionError:
            if attempt == attempts - 1:
                raise


# Distinct subject tokens the validation scenarios rotate through.
SUBJECT_TOKENS = 500


def prepare(url, password, out, count):
    os.makedirs(out, exist_ok=True)
    s = requests.Session()
    # uwsgi's --http-socket closes connections between requests; a reused
    # one can be reset under load, so each request gets its own.
    s.headers["Connection"] = "close"
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    r = s.post(f"{url}/v3/auth/tokens", json=body)
    r.raise_for_status()
    token = r.headers["X-Subject-Token"]
    user_id = r.json()["token"]["user"]["id"]
    project_id = r.json()["token"]["project"]["id"]
    subject = s.post(f"{url}/v3/auth/tokens", json=body).headers["X-Subject-Token"]
    r = s.post(f"{url}/v3/users/{user_id}/credentials/OS-EC2", json={"tenant_id": project_id},
               headers={"X-Auth-Token": token})
    r.raise_for_status()
    access, secret = r.json()["credential"]["access"], r.json()["credential"]["secret"]
    with open(os.path.join(out, "password.json"), "w") as f:
        json.dump(body, f)
    rescope = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}},
                        "scope": body["auth"]["scope"]}}
    with open(os.path.join(out, "subject_tokens.txt"), "w") as f:
        for _ in range(SUBJECT_TOKENS):
            r = post_retrying(s, f"{url}/v3/auth/tokens?nocatalog", rescope)
            r.raise_for_status()
            f.write(r.headers["X-Subject-Token"] + "\n")
    with open(os.path.join(out, "env"), "w") as f:
        f.write(f"ADMIN_TOKEN={token}\nSUBJECT_TOKEN={subject}\nUSER_ID={user_id}\nPROJECT_ID={project_id}\n")
    # Signing is botocore's pure Python: one process per core, so a
    # million bodies take about a minute instead of three. Small chunks,
    # written in order, keep the file in signing-time order (to within a
    # fraction of a second), as wrk sends it: a node's replay memory, once
    # full, refuses a signature older than the ones it had to forget.
    from multiprocessing import Pool

    chunk = 2000
    jobs = [(access, secret, min(chunk, count - start)) for start in range(0, count, chunk)]
    with Pool(os.cpu_count() or 1) as pool, open(os.path.join(out, "ec2_bodies.txt"), "w") as f:
        for lines in pool.imap(signed_bodies, jobs):
            f.write(lines)


def signed_bodies(job):
    """N distinct SigV4-signed ec2tokens bodies, one JSON document a line."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    access, secret, count = job
    creds = Credentials(access, secret)
    lines = []
    for _ in range(count):
        query = f"Action=DescribeRegions&Nonce={uuid.uuid4().hex}&Version=2016-11-15"
        req = AWSRequest(method="GET", url=f"https://ec2.example.com/?{query}")
        SigV4Auth(creds, "ec2", "RegionOne").add_auth(req)
        headers = dict(req.headers.items())
        headers.setdefault("Host", "ec2.example.com")
        lines.append(json.dumps({"credentials": {
            "access": access,
            "signature": req.headers["Authorization"].rsplit("Signature=", 1)[1],
            "host": "ec2.example.com", "verb": "GET", "path": "/",
            "params": dict(parse_qsl(urlsplit(req.url).query)),
            "headers": headers,
            "body_hash": hashlib.sha256(b"").hexdigest(),
        }}, separators=(",", ":")) + "\n")
    return "".join(lines)


def seed(db, count):
    """N users in the Default domain, each with an ec2 pair whose blob is
    never decrypted (only the benchmark's own pair is used), in Ironstone's
    schema: enough rows to show whether lookups stay indexed. Generated by
    SQLite itself (a recursive CTE), so ten million of each take a minute
    or two rather than the API's hours."""
    import sqlite3

    conn = sqlite3.connect(db)
    now = 1_700_000_000_000_000
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")
    numbers = f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {count - 1})"
    with conn:
        conn.execute(
            f"{numbers} INSERT INTO users (id, name, domain_id, enabled, extra, options, created_at) "
            f"SELECT printf('%032x', i), 'seed-user-' || i, 'default', 1, '{{}}', '{{}}', {now} FROM n")
        # A pair's id is the SHA-256 of its access key: the seeded ones are
        # never looked up, so any distinct 64 hex digits stand for them.
        conn.execute(
            f"{numbers} INSERT INTO credentials (id, user_id, project_id, type, key_hash, encrypted_blob, "
            f"extra, enabled, allowed_cidrs, created_at, use_count, access_digest, secret_digest) "
            f"SELECT printf('5eed%060x', i), printf('%032x', i), NULL, 'ec2', '', 'x', '{{}}', 1, '[]', {now}, 0, "
            f"printf('5eed%060x', i), printf('5ec7%060x', i) FROM n")
    conn.close()


def coldstart(binary, top, runs):
    """The median time, in ms, from launching BIN serve on an already
    migrated data directory to its first answered GET /v3, over RUNS
    launches: what a replica restarted by an orchestrator costs."""
    import socket
    import statistics
    import subprocess
    import time
    import http.client

    times = []
    env = dict(os.environ, IRONSTONE_LOG_FILTER="warn")
    for _ in range(runs):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        start = time.monotonic()
        proc = subprocess.Popen([binary, "--data-dir", top, "serve", "--listen", f"127.0.0.1:{port}"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"coldstart: the server exited with {proc.returncode}")
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                    c.request("GET", "/v3")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.001)
                if time.monotonic() - start > 20:
                    raise SystemExit("coldstart: no answer in 20 s")
            times.append((time.monotonic() - start) * 1000)
        finally:
            proc.terminate()
            proc.wait()
    print(f"{statistics.median(times):.0f} {min(times):.0f} {max(times):.0f}")


def main():
    cmd = sys.argv[1]
    if cmd == "keystone-setup":
        keystone_setup(sys.argv[2], sys.argv[3:4] == ["uncached"])
    elif cmd == "prepare":
        prepare(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "seed":
        seed(sys.argv[2], int(sys.argv[3]))
    elif cmd == "coldstart":
        coldstart(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
