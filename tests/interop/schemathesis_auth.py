"""Schemathesis auth hook for the contract fuzzing (tests/api_fuzz.rs).

The fuzzing runs as the bootstrapped admin with a system-scoped token, so
it reaches what an admin may do. Some of what it does legitimately ends a
token (a revocation, a project disabled, a password rule): the token is
renewed every second and after any 401, so the run keeps its access.
IRONSTONE_FUZZ_URL and IRONSTONE_FUZZ_PASSWORD say where and how.

It also keeps a CPython 3.11 bug out of the run: Hypothesis names a
lambda by parsing its source with `ast`, and deep in schemathesis's
recursive schema strategies that parse raises "SystemError: AST
constructor recursion depth mismatch" (a runtime error that failed CI, not
a finding). Such a lambda is named "lambda" instead.
"""

import os

import requests
import schemathesis
from hypothesis.internal import lambda_sources

_describe_lambda = lambda_sources._lambda_description


def _lambda_description_or_plain(f):
    try:
        return _describe_lambda(f)
    except (SystemError, RecursionError):
        return "lambda: <unknown>"


lambda_sources._lambda_description = _lambda_description_or_plain


@schemathesis.auth(refresh_interval=1, retry_on=[401])
class AdminToken:
    def get(self, case, context):
        base = os.environ["IRONSTONE_FUZZ_URL"]
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": "admin",
                            "domain": {"id": "default"},
                            "password": os.environ["IRONSTONE_FUZZ_PASSWORD"],
                        }
                    },
                },
                "scope": {"system": {"all": True}},
            }
        }
        resp = requests.post(f"{base}/v3/auth/tokens", json=body, timeout=30)
        return resp.headers.get("X-Subject-Token", "")

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["X-Auth-Token"] = data
