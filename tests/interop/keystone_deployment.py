#!/usr/bin/env python3
"""Builds a real Keystone deployment and uses it, for the import test.

    keystone_deployment.py DIR DATABASE_URL OUT.json

Runs keystone-manage (db_sync, fernet_setup, credential_setup, bootstrap)
against DATABASE_URL (SQLAlchemy form: sqlite:////path or
postgresql+psycopg2://...), serves Keystone's own WSGI application on
loopback, and drives it over HTTP the way an operator and users would:
a domain, projects with tags and a hierarchy, users (one with a changed
password, one disabled), a group, roles with an implication, grants, an EC2
credential, another credential, an application credential with an access
rule, registered limits with a project's and a domain's limit, and tokens (one of them revoked). Writes what a test needs to check
the import: ids, passwords, secrets and tokens.
"""

import json
import os
import sys
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

import requests
from keystone_server import build

ADMIN_PASSWORD = "keystone-admin-pw"


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main():
    top, database_url, out = sys.argv[1], sys.argv[2], sys.argv[3]
    # Keystone's config parser reads sys.argv: leave it only the program.
    del sys.argv[1:]
    conf = build(top, database_url, ADMIN_PASSWORD, hash_rounds=4)

    os.environ["OS_KEYSTONE_CONFIG_FILES"] = conf
    from keystone.server import wsgi

    app = wsgi.initialize_public_application()
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/v3"
    s = requests.Session()

    def call(method, path, token=None, body=None, expect=(200, 201, 204)):
        headers = {"X-Auth-Token": token} if token else {}
        r = s.request(method, base + path, json=body, headers=headers)
        if r.status_code not in expect:
            raise SystemExit(f"{method} {path}: {r.status_code} {r.text}")
        return r

    def password_token(name, password, scope, domain="Default"):
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {"user": {"name": name, "domain": {"name": domain}, "password": password}},
                },
            }
        }
        if scope is not None:
            body["auth"]["scope"] = scope
        r = call("POST", "/auth/tokens", body=body)
        return r.headers["X-Subject-Token"]

    admin = password_token("admin", ADMIN_PASSWORD, {"project": {"name": "admin", "domain": {"name": "Default"}}})
    admin_system = password_token("admin", ADMIN_PASSWORD, {"system": {"all": True}})

    acme = call("POST", "/domains", admin, {"domain": {"name": "acme", "description": "Acme Corp"}}).json()["domain"]
    webapp = call("POST", "/projects", admin, {"project": {"name": "webapp", "domain_id": acme["id"], "tags": ["prod", "web"], "description": "the web app"}}).json()["project"]
    webapp_dev = call("POST", "/projects", admin, {"project": {"name": "webapp-dev", "domain_id": acme["id"], "parent_id": webapp["id"]}}).json()["project"]
    alice = call("POST", "/users", admin, {"user": {"name": "alice", "domain_id": acme["id"], "password": "alice-first-pw", "default_project_id": webapp["id"], "email": "alice@example.com"}}).json()["user"]
    call("PATCH", f"/users/{alice['id']}", admin, {"user": {"password": "alice-current-pw"}})
    # The change revokes alice's tokens issued up to this second (Keystone
    # compares whole seconds): her tokens below must come later.
    time.sleep(1.1)
    bob = call("POST", "/users", admin, {"user": {"name": "bob", "domain_id": acme["id"], "password": "bob-pw"}}).json()["user"]
    devs = call("POST", "/groups", admin, {"group": {"name": "devs", "domain_id": acme["id"], "description": "developers"}}).json()["group"]
    call("PUT", f"/groups/{devs['id']}/users/{alice['id']}", admin)
    deployer = call("POST", "/roles", admin, {"role": {"name": "deployer", "description": "deploys"}}).json()["role"]
    roles = {r["name"]: r["id"] for r in call("GET", "/roles", admin).json()["roles"]}
    call("PUT", f"/roles/{deployer['id']}/implies/{roles['reader']}", admin)
    call("PUT", f"/projects/{webapp['id']}/users/{alice['id']}/roles/{roles['member']}", admin)
    call("PUT", f"/projects/{webapp['id']}/users/{bob['id']}/roles/{roles['member']}", admin)
    call("PUT", f"/projects/{webapp_dev['id']}/groups/{devs['id']}/roles/{deployer['id']}", admin)
    call("PUT", f"/domains/{acme['id']}/users/{alice['id']}/roles/{roles['reader']}", admin)

    alice_scope = {"project": {"id": webapp["id"]}}
    alice_token = password_token("alice", "alice-current-pw", alice_scope, "acme")
    alice_dev_token = password_token("alice", "alice-current-pw", {"project": {"id": webapp_dev["id"]}}, "acme")
    alice_domain_token = password_token("alice", "alice-current-pw", {"domain": {"id": acme["id"]}}, "acme")
    revoked = password_token("alice", "alice-current-pw", alice_scope, "acme")
    s.delete(base + "/auth/tokens", headers={"X-Auth-Token": admin, "X-Subject-Token": revoked}).raise_for_status()

    ec2 = call("POST", f"/users/{alice['id']}/credentials/OS-EC2", alice_token, {"tenant_id": webapp["id"]}).json()["credential"]
    cert = call("POST", "/credentials", admin, {"credential": {"type": "cert", "user_id": alice["id"], "blob": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"}}).json()["credential"]
    app_cred = call(
        "POST",
        f"/users/{alice['id']}/application_credentials",
        alice_token,
        {"application_credential": {
            "name": "ci",
            "description": "for CI",
            "roles": [{"name": "member"}],
            "access_rules": [{"service": "compute", "path": "/v2.1/servers", "method": "GET"}],
        }},
    ).json()["application_credential"]
    app_cred_token = call(
        "POST",
        "/auth/tokens",
        body={"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": app_cred["id"], "secret": app_cred["secret"]}}}},
    ).headers["X-Subject-Token"]

    # Unified limits: defaults for a compute service, a project's and a
    # domain's overrides.
    compute = call("POST", "/services", admin, {"service": {"type": "compute", "name": "nova"}}).json()["service"]
    registered = call("POST", "/registered_limits", admin, {"registered_limits": [
        {"service_id": compute["id"], "region_id": "RegionOne", "resource_name": "cores", "default_limit": 20},
        {"service_id": compute["id"], "resource_name": "ram", "default_limit": 512, "description": "MiB"},
    ]}).json()["registered_limits"]
    limits = call("POST", "/limits", admin, {"limits": [
        {"service_id": compute["id"], "region_id": "RegionOne", "project_id": webapp["id"], "resource_name": "cores", "resource_limit": 10},
        {"service_id": compute["id"], "domain_id": acme["id"], "resource_name": "ram", "resource_limit": 1024, "description": "acme"},
    ]}).json()["limits"]

    # A trust from alice to the admin user, and the admin's token for it.
    admin_user = call("GET", "/users?name=admin", admin).json()["users"][0]
    trust = call("POST", "/OS-TRUST/trusts", alice_token, {"trust": {
        "trustor_user_id": alice["id"], "trustee_user_id": admin_user["id"], "project_id": webapp["id"],
        "impersonation": True, "roles": [{"name": "member"}]}}).json()["trust"]
    trust_token = call("POST", "/auth/tokens", body={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": ADMIN_PASSWORD}}},
        "scope": {"OS-TRUST:trust": {"id": trust["id"]}}}}).headers["X-Subject-Token"]

    # Parity II: a policy blob for the compute service, an endpoint
    # group limiting webapp's catalog, a direct project endpoint, a domain
    # configuration with the LDAP password, and extra attributes.
    endpoint = call("POST", "/endpoints", admin, {"endpoint": {"service_id": compute["id"], "interface": "public", "url": "http://nova.example/v2.1"}}).json()["endpoint"]
    policy = call("POST", "/policies", admin, {"policy": {"blob": '{"compute:get": ""}', "type": "application/json", "owner": "ops"}}).json()["policy"]
    call("PUT", f"/policies/{policy['id']}/OS-ENDPOINT-POLICY/services/{compute['id']}", admin)
    group = call("POST", "/OS-EP-FILTER/endpoint_groups", admin, {"endpoint_group": {"name": "compute", "filters": {"service_id": compute["id"]}}}).json()["endpoint_group"]
    call("PUT", f"/OS-EP-FILTER/endpoint_groups/{group['id']}/projects/{webapp['id']}", admin)
    call("PUT", f"/OS-EP-FILTER/projects/{webapp_dev['id']}/endpoints/{endpoint['id']}", admin)
    call("PUT", f"/domains/{acme['id']}/config", admin, {"config": {"ldap": {"url": "ldap://dir.acme", "password": "bind-secret"}}})
    call("PATCH", f"/projects/{webapp['id']}", admin, {"project": {"cost_center": "42"}})
    call("PUT", f"/projects/{acme['id']}/tags/emea", admin)
    call("PATCH", f"/endpoints/{endpoint['id']}", admin, {"endpoint": {"zone": "a"}})

    # OS-OAUTH1: a consumer holding a delegation of admin's roles on the
    # admin project, obtained as clients sign for it.
    from urllib.parse import parse_qs
    from oauthlib import oauth1
    consumer = call("POST", "/OS-OAUTH1/consumers", admin, {"consumer": {"description": "backup agent"}}).json()["consumer"]
    admin_project_id = s.get(base + "/auth/tokens", headers={"X-Auth-Token": admin, "X-Subject-Token": admin}).json()["token"]["project"]["id"]

    def signed(url, **kw):
        client = oauth1.Client(consumer["id"], client_secret=consumer["secret"], **kw)
        return client.sign(url, http_method="POST")[1]

    r = s.post(base + "/OS-OAUTH1/request_token",
               headers={**signed(base + "/OS-OAUTH1/request_token", callback_uri="oob"), "Requested-Project-Id": admin_project_id})
    request_token = parse_qs(r.text)
    rt, rt_secret = request_token["oauth_token"][0], request_token["oauth_token_secret"][0]
    verifier = call("PUT", f"/OS-OAUTH1/authorize/{rt}", admin, {"roles": [{"name": "reader"}]}).json()["token"]["oauth_verifier"]
    r = s.post(base + "/OS-OAUTH1/access_token",
               headers=signed(base + "/OS-OAUTH1/access_token", resource_owner_key=rt, resource_owner_secret=rt_secret, verifier=verifier))
    access_token = parse_qs(r.text)
    oauth = {
        "consumer": consumer["id"],
        "consumer_secret": consumer["secret"],
        "access": access_token["oauth_token"][0],
        "access_secret": access_token["oauth_token_secret"][0],
        "project": admin_project_id,
    }

    call("PATCH", f"/users/{bob['id']}", admin, {"user": {"enabled": False}})
    # Keystone itself refuses the revoked token now.
    r = s.get(base + "/auth/tokens", headers={"X-Auth-Token": admin, "X-Subject-Token": revoked})
    assert r.status_code == 404, r.status_code

    with open(out, "w") as f:
        json.dump(
            {
                "admin_password": ADMIN_PASSWORD,
                "domain": acme,
                "webapp": webapp,
                "webapp_dev": webapp_dev,
                "alice": alice,
                "bob": bob,
                "group": devs,
                "roles": roles | {"deployer": deployer["id"]},
                "tokens": {
                    "admin_project": admin,
                    "admin_system": admin_system,
                    "alice_project": alice_token,
                    "alice_dev": alice_dev_token,
                    "alice_domain": alice_domain_token,
                    "alice_revoked": revoked,
                    "app_cred": app_cred_token,
                    "trust": trust_token,
                },
                "trust": trust,
                "ec2": {"access": ec2["access"], "secret": ec2["secret"], "id": ec2.get("id") or ""},
                "cert_credential": cert,
                "registered_limits": registered,
                "limits": limits,
                "app_cred": {"id": app_cred["id"], "secret": app_cred["secret"]},
                "policy": policy,
                "endpoint": endpoint,
                "oauth1": oauth,
                "endpoint_group": group,
                "fernet_keys": f"{top}/fernet-keys",
                "credential_keys": f"{top}/credential-keys",
            },
            f,
        )
    server.shutdown()


if __name__ == "__main__":
    main()
