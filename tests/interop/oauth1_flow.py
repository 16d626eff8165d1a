#!/usr/bin/env python3
"""Runs OS-OAUTH1's whole delegation the way clients do, against Keystone
or Ironstone: a consumer signs its requests with oauthlib (as
python-keystoneclient's oauth1 manager does), an admin authorizes the
request token, and keystoneauth1's v3.OAuth1 plugin authenticates with
the access token.

    oauth1_flow.py IDENTITY_URL ADMIN_PASSWORD

Prints a JSON list of [step, outcome] pairs, with ids replaced by names,
so that two services can be compared.
"""

import json
import sys
import time
import urllib.parse

import requests
from keystoneauth1 import session
from keystoneauth1.extras.oauth1 import v3 as oauth1_v3
from oauthlib import oauth1


def main():
    base, password = sys.argv[1:3]
    steps = []
    names = {}

    def name(value, label):
        names[value] = label
        return value

    def show(text):
        for value, label in sorted(names.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(value, label)
        return text

    def record(step, resp, body=None):
        outcome = f"{resp.status_code}"
        if body is not None:
            outcome += " " + show(json.dumps(body, sort_keys=True))
        steps.append([step, outcome])

    r = requests.post(
        f"{base}/v3/auth/tokens",
        json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }},
    )
    admin = r.headers["X-Subject-Token"]
    admin_body = r.json()["token"]
    project = name(admin_body["project"]["id"], "{project}")
    user = name(admin_body["user"]["id"], "{user}")
    for role in admin_body["roles"]:
        name(role["id"], "{role:" + role["name"] + "}")
    auth = {"X-Auth-Token": admin}

    r = requests.post(f"{base}/v3/OS-OAUTH1/consumers", headers=auth,
                      json={"consumer": {"description": "flow"}})
    consumer = r.json()["consumer"]
    key, secret = name(consumer["id"], "{consumer}"), consumer["secret"]
    record("create a consumer", r, sorted(consumer))

    def signed(url, method="POST", **client_args):
        client = oauth1.Client(key, client_secret=secret,
                               signature_method=oauth1.SIGNATURE_HMAC, **client_args)
        uri, headers, _ = client.sign(url, http_method=method)
        return headers

    request_url = f"{base}/v3/OS-OAUTH1/request_token"
    headers = signed(request_url, callback_uri="oob")
    r = requests.post(request_url, headers={**headers, "Requested-Project-Id": project})
    record("request token without a project", requests.post(request_url, headers=signed(request_url, callback_uri="oob")))
    record("request token for a missing project",
           requests.post(request_url, headers={**signed(request_url, callback_uri="oob"), "Requested-Project-Id": "nope"}))
    record("request token without a callback",
           requests.post(request_url, headers={**signed(request_url), "Requested-Project-Id": project}))
    bad = signed(request_url, callback_uri="oob")
    bad["Authorization"] = bad["Authorization"].replace("oauth_signature=\"", "oauth_signature=\"x")
    record("request token badly signed", requests.post(request_url, headers={**bad, "Requested-Project-Id": project}))
    record("request token without a header", requests.post(request_url, headers={"Requested-Project-Id": project}))
    old = oauth1.Client(key, client_secret=secret, callback_uri="oob", timestamp=str(int(time.time()) - 3600))
    _, old_headers, _ = old.sign(request_url, http_method="POST")
    record("request token signed an hour ago", requests.post(request_url, headers={**old_headers, "Requested-Project-Id": project}))
    record("GET the request token endpoint", requests.get(request_url))

    form = urllib.parse.parse_qs(r.text)
    steps.append(["request token", f"{r.status_code} {r.headers.get('Content-Type')} {sorted(form)}"])
    request_key = name(form["oauth_token"][0], "{request_token}")
    request_secret = form["oauth_token_secret"][0]

    access_url = f"{base}/v3/OS-OAUTH1/access_token"
    unauthorized = signed(access_url, resource_owner_key=request_key,
                          resource_owner_secret=request_secret, verifier="abcdefgh")
    record("access token before authorization", requests.post(access_url, headers=unauthorized))

    authorize = f"{base}/v3/OS-OAUTH1/authorize/{request_key}"
    record("authorize a missing request token",
           requests.put(f"{base}/v3/OS-OAUTH1/authorize/nope", headers=auth, json={"roles": [{"name": "admin"}]}))
    record("authorize with a role not held",
           requests.put(authorize, headers=auth, json={"roles": [{"id": "nope"}]}))
    record("authorize with a bad body",
           requests.put(authorize, headers=auth, json={"roles": [{"id": "a", "name": "b"}]}))
    r = requests.put(authorize, headers=auth, json={"roles": [{"name": "admin"}]})
    verifier = r.json()["token"]["oauth_verifier"]
    record("authorize", r, {"token": sorted(r.json()["token"]), "length": len(verifier)})

    wrong = signed(access_url, resource_owner_key=request_key,
                   resource_owner_secret=request_secret, verifier="AAAAAAAA" if verifier != "AAAAAAAA" else "BBBBBBBB")
    record("access token with a wrong verifier", requests.post(access_url, headers=wrong))
    record("access token without a verifier",
           requests.post(access_url, headers=signed(access_url, resource_owner_key=request_key,
                                                    resource_owner_secret=request_secret)))
    good = signed(access_url, resource_owner_key=request_key,
                  resource_owner_secret=request_secret, verifier=verifier)
    r = requests.post(access_url, headers=good)
    form = urllib.parse.parse_qs(r.text)
    steps.append(["access token", f"{r.status_code} {r.headers.get('Content-Type')} {sorted(form)}"])
    access_key = name(form["oauth_token"][0], "{access_token}")
    access_secret = form["oauth_token_secret"][0]
    record("the request token again", requests.post(access_url, headers=good))

    plugin = oauth1_v3.OAuth1(auth_url=f"{base}/v3", consumer_key=key, consumer_secret=secret,
                              access_key=access_key, access_secret=access_secret)
    sess = session.Session(auth=plugin)
    access = plugin.get_access(sess)
    token = sess.get_token()
    steps.append(["keystoneauth1 OAuth1", show(json.dumps({
        "user_id": access.user_id,
        "project_id": access.project_id,
        "roles": sorted(access.role_names),
        "methods": access._data["token"]["methods"],
        "oauth": access._data["token"].get("OS-OAUTH1"),
        "keys": sorted(access._data["token"]),
    }, sort_keys=True))])
    r = requests.get(f"{base}/v3/auth/tokens", headers={**auth, "X-Subject-Token": token})
    record("validate it", r, r.json()["token"].get("OS-OAUTH1"))
    # One signed login, sent twice: Keystone checks no nonce.
    login_url = f"{base}/v3/auth/tokens"
    login = signed(login_url, resource_owner_key=access_key, resource_owner_secret=access_secret)
    body = {"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}}
    record("a signed login", requests.post(login_url, headers=login, json=body))
    record("the same signed login again", requests.post(login_url, headers=login, json=body))
    forged = signed(login_url, resource_owner_key=access_key, resource_owner_secret="not-the-secret")
    record("a login signed with another secret", requests.post(login_url, headers=forged, json=body))
    r = requests.post(f"{base}/v3/auth/tokens", headers={"X-Auth-Token": token},
                      json={"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}})
    record("rescope it", r)
    r = requests.get(f"{base}/v3/users/{user}/OS-OAUTH1/access_tokens", headers={"X-Auth-Token": token})
    record("list access tokens with it", r)

    tokens_url = f"{base}/v3/users/{user}/OS-OAUTH1/access_tokens"
    r = requests.get(tokens_url, headers=auth)
    record("list access tokens", r, [sorted(t) for t in r.json().get("access_tokens", [])])
    r = requests.get(f"{tokens_url}/{access_key}", headers=auth)
    body = r.json().get("access_token", {})
    record("get the access token", r, {k: v for k, v in body.items() if k not in ("expires_at", "links")})
    r = requests.get(f"{tokens_url}/{access_key}/roles", headers=auth)
    record("its roles", r, sorted(x["name"] for x in r.json().get("roles", [])))
    admin_role = next(x["id"] for x in admin_body["roles"] if x["name"] == "admin")
    r = requests.get(f"{tokens_url}/{access_key}/roles/{admin_role}", headers=auth)
    record("one of its roles", r, sorted(r.json().get("role", {})))
    record("a role it does not lend",
           requests.get(f"{tokens_url}/{access_key}/roles/nope", headers=auth))
    record("a missing access token", requests.get(f"{tokens_url}/nope", headers=auth))

    record("delete the access token", requests.delete(f"{tokens_url}/{access_key}", headers=auth))
    r = requests.get(f"{base}/v3/auth/tokens", headers={**auth, "X-Subject-Token": token})
    record("validate it after", r)
    record("delete the consumer", requests.delete(f"{base}/v3/OS-OAUTH1/consumers/{key}", headers=auth))
    record("get the consumer after", requests.get(f"{base}/v3/OS-OAUTH1/consumers/{key}", headers=auth))
    print(json.dumps(steps))


if __name__ == "__main__":
    main()
