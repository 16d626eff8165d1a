#!/usr/bin/env python3
"""Runs Swift's real s3token middleware (swift.common.middleware.s3api) in
front of a tiny WSGI app, against Ironstone.

    swift_s3token.py IDENTITY_URL ADMIN_PASSWORD ACCESS SECRET

s3api normally parses the S3 request and hands s3token the access key,
signature and string to sign; this script plays s3api's part (S3 v2
signature, as boto and SODA's dashboard send). Prints a JSON report.
"""

import base64
import email.utils
import hashlib
import hmac
import json
import sys

from swift.common.middleware.s3api.s3token import S3Token
from swift.common.swob import Request


def downstream(environ, start_response):
    """The proxy behind s3token: reports what s3token told it."""
    seen = {k: environ.get(k) for k in ("HTTP_X_USER_ID", "HTTP_X_PROJECT_ID", "HTTP_X_ROLES", "PATH_INFO")}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(seen).encode()]


def run(middleware, access, secret, signature_secret):
    date = email.utils.formatdate(usegmt=True)
    string_to_sign = f"GET\n\n\n{date}\n/bucket/object"
    signature = base64.b64encode(
        hmac.new(signature_secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()
    req = Request.blank("/v1/AUTH_ignored/bucket/object")
    req.environ["s3api.auth_details"] = {
        "access_key": access,
        "signature": signature,
        "string_to_sign": string_to_sign,
        "check_signature": lambda s: False,
    }
    resp = req.get_response(middleware)
    body = resp.body.decode()
    return {"status": resp.status_int, "body": json.loads(body) if resp.status_int == 200 else body}


def main():
    identity, password, access, secret = sys.argv[1:5]
    conf = {
        "auth_uri": f"{identity}/v3",
        "auth_type": "password",
        "auth_url": f"{identity}/v3",
        "username": "admin",
        "password": password,
        "project_name": "admin",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "secret_cache_duration": "0",
    }
    middleware = S3Token(downstream, conf)
    report = {
        "valid": run(middleware, access, secret, secret),
        "wrong_secret": run(middleware, access, secret, secret + "x"),
        "unknown_key": run(middleware, "NOSUCHKEY0000000", secret, secret),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
