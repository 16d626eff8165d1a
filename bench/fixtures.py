#!/usr/bin/env python3
"""Fixtures for bench/run, the same for Ironstone and Keystone.

    fixtures.py keystone-setup DIR                 # keystone-manage a Keystone on SQLite
    fixtures.py prepare URL ADMIN_PASSWORD OUT N   # tokens, an EC2 pair, N signed bodies
    fixtures.py seed DB N                          # N more users and pairs in Ironstone's SQLite

`prepare` writes OUT/env (shell variables), OUT/password.json (a
project-scoped password auth body) and OUT/ec2_bodies.txt (N distinct
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


def keystone_setup(top):
    from keystone_server import build

    print(build(top, f"sqlite:///{top}/keystone.db", "bench-admin"))


def prepare(url, password, out, count):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

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
    with open(os.path.join(out, "env"), "w") as f:
        f.write(f"ADMIN_TOKEN={token}\nSUBJECT_TOKEN={subject}\nUSER_ID={user_id}\nPROJECT_ID={project_id}\n")
    creds = Credentials(access, secret)
    with open(os.path.join(out, "ec2_bodies.txt"), "w") as f:
        for _ in range(count):
            query = f"Action=DescribeRegions&Nonce={uuid.uuid4().hex}&Version=2016-11-15"
            req = AWSRequest(method="GET", url=f"https://ec2.example.com/?{query}")
            SigV4Auth(creds, "ec2", "RegionOne").add_auth(req)
            headers = dict(req.headers.items())
            headers.setdefault("Host", "ec2.example.com")
            f.write(json.dumps({"credentials": {
                "access": access,
                "signature": req.headers["Authorization"].rsplit("Signature=", 1)[1],
                "host": "ec2.example.com", "verb": "GET", "path": "/",
                "params": dict(parse_qsl(urlsplit(req.url).query)),
                "headers": headers,
                "body_hash": hashlib.sha256(b"").hexdigest(),
            }}, separators=(",", ":")) + "\n")


def seed(db, count):
    """N users in the Default domain, each with an ec2 pair whose blob is
    never decrypted (only the benchmark's own pair is used), in Ironstone's
    schema: enough rows to show whether lookups stay indexed."""
    import sqlite3

    conn = sqlite3.connect(db)
    now = 1_700_000_000_000_000
    with conn:
        conn.executemany(
            "INSERT INTO users (id, name, domain_id, enabled, extra, options, created_at) "
            "VALUES (?, ?, 'default', 1, '{}', '{}', ?)",
            ((f"{i:032x}", f"seed-user-{i}", now) for i in range(count)))
        conn.executemany(
            "INSERT INTO credentials (id, user_id, project_id, type, key_hash, encrypted_blob, extra, "
            "enabled, allowed_cidrs, created_at, use_count) VALUES (?, ?, NULL, 'ec2', '', 'x', '{}', 1, '[]', ?, 0)",
            ((hashlib.sha256(f"seed-access-{i}".encode()).hexdigest(), f"{i:032x}", now) for i in range(count)))
    conn.close()


def main():
    cmd = sys.argv[1]
    if cmd == "keystone-setup":
        keystone_setup(sys.argv[2])
    elif cmd == "prepare":
        prepare(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "seed":
        seed(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
