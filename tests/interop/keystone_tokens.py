#!/usr/bin/env python3
"""Fernet token vectors, made and read by the real Keystone's formatter.

    keystone_tokens.py generate KEYDIR OUT.json   # tokens minted by Keystone
    keystone_tokens.py check    KEYDIR IN.json    # tokens minted by Ironstone

Both files hold a list of cases: the token and the fields it must decode to.
Run it with `keystone` from PyPI installed (see tests/interop/requirements.txt).
"""

import datetime
import json
import sys

import keystone.conf
from keystone.token import token_formatters as tf

CONF = keystone.conf.CONF

USER = "e70bd777cb5844a9be6c7b63893a7df9"
PROJECT = "961a96533e5f4f608ad5dbaeb31d1cce"
APP_CRED = "89fa28720c4246a49ceace82e3087233"
TRUST = "0123456789abcdef0123456789abcdef"
AUDIT = "K2A-IZpSTp2BDxwIy3atwA"
PARENT = "vuR-l2SfQ5qYgJ6MBPdUgQ"
EXPIRES = "2099-01-01T00:00:00.000000Z"

# (name, payload class, create_token keyword arguments)
CASES = [
    ("unscoped", tf.UnscopedPayload, dict(methods=["password"])),
    ("unscoped-rescoped", tf.UnscopedPayload, dict(methods=["password", "token"], audit_ids=[AUDIT, PARENT])),
    ("project", tf.ProjectScopedPayload, dict(methods=["password"], project_id=PROJECT)),
    ("project-ldap-user", tf.ProjectScopedPayload, dict(methods=["password"], project_id=PROJECT, user_id="ldapuser-1")),
    ("domain-default", tf.DomainScopedPayload, dict(methods=["password"], domain_id="default")),
    ("domain-uuid", tf.DomainScopedPayload, dict(methods=["token"], domain_id=PROJECT)),
    ("system", tf.SystemScopedPayload, dict(methods=["password"], system="all")),
    ("app-cred", tf.ApplicationCredentialScopedPayload, dict(methods=["application_credential"], project_id=PROJECT, app_cred_id=APP_CRED)),
    ("trust", tf.TrustScopedPayload, dict(methods=["password"], project_id=PROJECT, trust_id=TRUST)),
    ("ec2", tf.ProjectScopedPayload, dict(methods=["ec2credential"], project_id=PROJECT)),
]


def configure(keydir):
    keystone.conf.configure()
    CONF(args=[], project="keystone", default_config_files=[])
    CONF.set_override("key_repository", keydir, group="fernet_tokens")
    CONF.set_override("max_active_keys", 3, group="fernet_tokens")


def decode(formatter, token):
    (user_id, methods, audit_ids, system, domain_id, project_id, trust_id,
     _groups, _idp, _protocol, _access_token, app_cred_id, _thumbprint,
     issued_at, expires_at) = formatter.validate_token(token)
    return {
        "user_id": user_id,
        "methods": sorted(methods),
        "audit_ids": list(audit_ids),
        "system": system,
        "domain_id": domain_id,
        "project_id": project_id,
        "trust_id": trust_id,
        "app_cred_id": app_cred_id,
        "issued_at": issued_at,
        "expires_at": expires_at,
    }


def generate(keydir, out):
    configure(keydir)
    formatter = tf.TokenFormatter()
    cases = []
    for name, payload_class, kwargs in CASES:
        kwargs = dict(kwargs)
        user_id = kwargs.pop("user_id", USER)
        audit_ids = kwargs.pop("audit_ids", [AUDIT])
        token = formatter.create_token(user_id, EXPIRES, audit_ids, payload_class, **kwargs)
        case = decode(formatter, token)
        case["name"] = name
        case["version"] = payload_class.version
        case["token"] = token
        cases.append(case)
    with open(out, "w") as f:
        json.dump(cases, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(cases)} Keystone tokens to {out}")


def check(keydir, path):
    configure(keydir)
    formatter = tf.TokenFormatter()
    with open(path) as f:
        cases = json.load(f)
    failures = 0
    for case in cases:
        try:
            got = decode(formatter, case["token"])
        except Exception as e:  # noqa: BLE001 - report every case
            print(f"FAIL {case['name']}: Keystone cannot decode the token: {e!r}")
            failures += 1
            continue
        for key, value in got.items():
            if key in case and case[key] != value:
                print(f"FAIL {case['name']}: {key} is {value!r}, expected {case[key]!r}")
                failures += 1
    print(f"{len(cases) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("generate", "check"):
        print(__doc__)
        sys.exit(2)
    if sys.argv[1] == "generate":
        generate(sys.argv[2], sys.argv[3])
    else:
        sys.exit(check(sys.argv[2], sys.argv[3]))
