#!/usr/bin/env python3
"""Runs keystonemiddleware's auth_token middleware in front of a tiny WSGI
app, against Ironstone, and reports what the app saw for each token.

    middleware_auth_token.py [--bearer] IDENTITY_URL ADMIN_PASSWORD TOKEN [TOKEN ...]

With --bearer, runs the oauth2_token filter instead (what Tacker deploys),
and sends each token as `Authorization: Bearer` (an OAuth 2.0 access
token from /v3/OS-OAUTH2/token).

Prints a JSON list: {"status", "identity_status", "user_id", "project_id", "roles"}.
"""

import json
import sys

from keystonemiddleware import auth_token
from keystonemiddleware import oauth2_token
from webob import Request


def app(environ, start_response):
    seen = {
        "identity_status": environ.get("HTTP_X_IDENTITY_STATUS"),
        "user_id": environ.get("HTTP_X_USER_ID"),
        "project_id": environ.get("HTTP_X_PROJECT_ID"),
        "roles": environ.get("HTTP_X_ROLES"),
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(seen).encode()]


def main():
    args = sys.argv[1:]
    bearer = args[:1] == ["--bearer"]
    if bearer:
        args = args[1:]
    identity, password, tokens = args[0], args[1], args[2:]
    conf = {
        "www_authenticate_uri": f"{identity}/v3",
        "auth_url": f"{identity}/v3",
        "auth_type": "password",
        "username": "admin",
        "password": password,
        "project_name": "admin",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        "token_cache_time": "-1",
        "delay_auth_decision": "False",
    }
    if bearer:
        middleware = oauth2_token.OAuth2Protocol(app, conf)
    else:
        middleware = auth_token.AuthProtocol(app, conf)
    report = []
    for token in tokens:
        req = Request.blank("/v2.1/servers")
        if bearer:
            req.headers["Authorization"] = f"Bearer {token}"
        else:
            req.headers["X-Auth-Token"] = token
        resp = req.get_response(middleware)
        entry = {"status": resp.status_int}
        if resp.status_int == 200:
            entry.update(json.loads(resp.body))
        else:
            entry["www_authenticate"] = resp.headers.get("WWW-Authenticate")
        report.append(entry)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
