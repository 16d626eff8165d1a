#!/usr/bin/env python3
"""Drives Ironstone's web console in headless Chromium (Debian's, through
Playwright) against a live server, as a person would, and checks each
effect through the public API and real clients.

    console_test.py BASE_URL ADMIN_PASSWORD [--screenshots DIR]

Prints a JSON summary; any failed check raises (exit status 1). With
--screenshots, a PNG of every screen is written to DIR (the README's).
"""

import argparse
import configparser
import csv
import io
import json
import os
import sys
import uuid
from pathlib import Path
from urllib.parse import urlencode

import requests
from playwright.sync_api import expect, sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "interop"))
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from botocore_sign import authorization_signature, ec2tokens_body  # noqa: E402

CHROMIUM = os.environ.get("IRONSTONE_TEST_CHROMIUM", "/usr/bin/chromium")
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
COOKIE = "ironstone_session"


class Api:
    """The public API, as scripts and services use it."""

    def __init__(self, base, admin_password):
        self.base = base
        self.http = requests.Session()
        token, body = self.password_token("admin", admin_password, {"project": {"name": "admin", "domain": {"id": "default"}}})
        self.admin = token
        self.admin_id = body["token"]["user"]["id"]

    def password_token(self, user, password, scope=None):
        auth = {"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"id": "default"}, "password": password}}}}
        if scope:
            auth["scope"] = scope
        r = self.http.post(f"{self.base}/v3/auth/tokens", json={"auth": auth})
        assert r.status_code == 201, r.text
        return r.headers["X-Subject-Token"], r.json()

    def call(self, method, path, body=None, token=None, expect_status=None):
        r = self.http.request(method, f"{self.base}{path}", json=body, headers={"X-Auth-Token": token or self.admin})
        if expect_status is not None:
            assert r.status_code == expect_status, f"{method} {path}: {r.status_code} {r.text}"
        return r

    def role_id(self, name):
        roles = self.call("GET", f"/v3/roles?name={name}", expect_status=200).json()["roles"]
        return roles[0]["id"]

    def user(self, name, password):
        r = self.call("POST", "/v3/users", {"user": {"name": name, "password": password, "domain_id": "default"}}, expect_status=201)
        return r.json()["user"]["id"]

    def grant(self, project_id, user_id, role):
        self.call("PUT", f"/v3/projects/{project_id}/users/{user_id}/roles/{self.role_id(role)}", expect_status=204)

    def ec2tokens(self, body):
        return self.call("POST", "/v3/ec2tokens", body)


def ec2_v4(access, secret):
    """A request signed by botocore, as an EC2 API would forward it. Each is
    unique: Ironstone accepts a signature once."""
    params = {"Action": "DescribeRegions", "Version": "2016-11-15", "ClientToken": uuid.uuid4().hex}
    url = "https://ec2.example.com/?" + urlencode(params)
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(access, secret), "ec2", "RegionOne").add_auth(request)
    return ec2tokens_body(access, authorization_signature(request), request, params)


class Screens:
    def __init__(self, directory):
        self.directory = Path(directory) if directory else None
        self.taken = []
        if self.directory:
            self.directory.mkdir(parents=True, exist_ok=True)

    def take(self, page, name):
        if self.directory:
            page.screenshot(path=str(self.directory / f"{name}.png"), full_page=False)
            self.taken.append(name)


class Axe:
    """axe-core inside the page: no violation of serious or critical impact."""

    def __init__(self):
        self.source = AXE.read_text()
        self.checked = []
        self.lesser = {}  # moderate and minor findings, reported

    def check(self, page, screen):
        page.evaluate(self.source)
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = [
            {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"accessibility violations on {screen}: {json.dumps(bad, indent=1)}"
        self.checked.append(screen)
        for v in result["violations"]:
            self.lesser.setdefault(f'{v["id"]} ({v["impact"]})', []).append(screen)


def session_cookie(context):
    return next((c for c in context.cookies() if c["name"] == COOKIE), None)


def sign_in(page, user, password, domain="Default"):
    page.get_by_label("User name").fill(user)
    page.get_by_label("Domain").fill(domain)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def pair_row(page, access):
    return page.locator(f'#pairs tbody tr[data-access-key="{access}"]')


def download(page, button):
    with page.expect_download() as info:
        button.click()
    d = info.value
    return d.suggested_filename, Path(d.path()).read_text()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("admin_password")
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    base = args.base.rstrip("/")
    api = Api(base, args.admin_password)
    screens = Screens(args.screenshots)
    axe = Axe()
    summary = {}

    # A project with two members, and the admin holding admin on it too.
    project_id = api.call("POST", "/v3/projects", {"project": {"name": "webshop", "domain_id": "default"}}, expect_status=201).json()["project"]["id"]
    alice = api.user("alice", "alice-pw")
    bob = api.user("bob", "bob-pw")
    api.grant(project_id, alice, "member")
    api.grant(project_id, bob, "member")
    api.grant(project_id, api.admin_id, "admin")
    bob_token, _ = api.password_token("bob", "bob-pw", {"project": {"id": project_id}})
    bob_pair = api.call("POST", f"/v1/{project_id}/aksks", {"credential": {"project_id": project_id, "user_id": bob, "name": "bob-backup"}}, token=bob_token, expect_status=200).json()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page = context.new_page()
        console_errors = []
        # Script errors and CSP refusals; a refused API call is logged too,
        # and is expected where the test provokes one.
        page.on("console", lambda m: console_errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        page.on("pageerror", lambda e: console_errors.append(str(e)))

        # --- the security headers, and sign-in ---------------------------
        response = page.goto(f"{base}/console")
        headers = response.headers
        assert "script-src 'self'" in headers["content-security-policy"], headers
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        axe.check(page, "sign-in")
        screens.take(page, "01-sign-in")

        # A wrong password, typed and sent by keyboard alone: an error, and
        # no token anywhere.
        expect(page.get_by_label("User name")).to_be_focused()
        page.keyboard.type("alice")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        expect(page.get_by_label("Password")).to_be_focused()
        page.keyboard.type("not-her-password")
        page.keyboard.press("Enter")
        expect(page.locator("#sign-in-error")).to_contain_text("wrong")
        assert session_cookie(context) is None
        assert page.get_by_label("Password").input_value() == ""
        storage = page.evaluate("() => JSON.stringify([localStorage, sessionStorage])")
        assert "gAAAA" not in storage, storage
        screens.take(page, "02-sign-in-error")
        summary["wrong_password"] = "error shown, no cookie"

        sign_in(page, "alice", "alice-pw")
        expect(page.get_by_role("heading", name="Choose a project")).to_be_visible()
        cookie = session_cookie(context)
        assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
        assert page.evaluate("() => document.cookie").find(COOKIE) < 0, "the session cookie is readable by scripts"
        storage = page.evaluate("() => JSON.stringify([localStorage, sessionStorage])")
        assert cookie["value"] not in storage
        axe.check(page, "choose-project")
        screens.take(page, "03-choose-project")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="API keys")).to_be_visible()
        expect(page.locator("#user-picker")).to_be_hidden()  # a member sees only their own keys
        expect(page.locator("#pairs-empty")).to_be_visible()

        # --- create an AK/SK pair ------------------------------------------
        page.get_by_role("button", name="Create AK/SK pair").click()
        dialog = page.locator("#pair-dialog")
        dialog.get_by_label("Name").fill("ci-pair")
        dialog.get_by_label("Description").fill("Used by the nightly build")
        dialog.get_by_label("Never").uncheck()
        dialog.get_by_label("Expiry date (end of the day, UTC)").fill("2031-06-30")
        dialog.get_by_label("If it leaks").select_option("delete")
        axe.check(page, "create-pair-dialog")
        screens.take(page, "04-create-pair")
        dialog.get_by_role("button", name="Create").click()
        secret_dialog = page.locator("#secret-dialog")
        expect(secret_dialog).to_be_visible()
        expect(secret_dialog.locator("#secret-value")).to_have_attribute("type", "password")
        access = secret_dialog.locator("#secret-id").input_value()
        secret = secret_dialog.locator("#secret-value").input_value()
        assert len(access) == 16 and secret.startswith("irsk_") and len(secret) == 43, (access, secret)
        axe.check(page, "secret-dialog")
        screens.take(page, "05-pair-secret")

        # Copy: the clipboard holds the secret.
        secret_dialog.get_by_role("button", name="Copy", exact=True).nth(1).click()
        assert page.evaluate("() => navigator.clipboard.readText()") == secret
        # Download each format Ironstone serves, and parse it.
        name, text = download(page, secret_dialog.get_by_role("button", name=f"Download {access} as CSV"))
        rows = list(csv.reader(io.StringIO(text)))
        assert name.endswith(".csv") and rows[0] == ["Access key ID", "Secret access key"] and [access, secret] in rows, text
        name, text = download(page, secret_dialog.get_by_role("button", name=f"Download {access} as JSON"))
        assert json.loads(text)[0]["blob"] == {"access_key": access, "secret_key": secret}, text
        name, text = download(page, secret_dialog.get_by_role("button", name=f"Download {access} as env"))
        assert f"export AWS_ACCESS_KEY_ID={access}" in text and f"export AWS_SECRET_ACCESS_KEY={secret}" in text, text
        name, text = download(page, secret_dialog.get_by_role("button", name=f"Download {access} as AWS credentials"))
        ini = configparser.ConfigParser()
        ini.read_string(text)
        assert name == "credentials" and ini["default"]["aws_secret_access_key"] == secret, (name, text)
        profile = configparser.ConfigParser()
        profile.read_string(secret_dialog.locator("#secret-snippet").input_value())
        assert profile["ci-pair"]["aws_access_key_id"] == access
        secret_dialog.get_by_role("button", name="Done").click()
        summary["downloads"] = ["csv", "json", "env", "credentials"]

        row = pair_row(page, access)
        expect(row).to_contain_text("ci-pair")
        expect(row).to_contain_text("active")
        expect(row).to_contain_text("2031-06-30")
        # The secret is hidden in the table until asked for.
        expect(row).not_to_contain_text(secret)
        row.get_by_role("button", name="Show secret key of ci-pair").click()
        expect(row).to_contain_text(secret)
        row.get_by_role("button", name="Show secret key of ci-pair").click()
        expect(row).not_to_contain_text(secret)

        # The pair signs a request that /v3/ec2tokens accepts (botocore SigV4).
        verified = api.ec2tokens(ec2_v4(access, secret))
        assert verified.status_code == 200, verified.text
        assert verified.json()["token"]["user"]["id"] == alice
        summary["ec2tokens_with_new_pair"] = verified.status_code
        # Uses are counted in memory and written every second or so.
        for _ in range(20):
            page.reload()
            uses = pair_row(page, access).locator('td[data-label="Uses"]')
            if uses.inner_text() == "1":
                break
            page.wait_for_timeout(250)
        expect(uses).to_have_text("1")
        axe.check(page, "pairs")
        screens.take(page, "06-pairs")

        # --- edit, disable and enable ---------------------------------------
        pair_row(page, access).get_by_role("button", name="Edit ci-pair").click()
        dialog.get_by_label("Name").fill("ci-pair-2")
        dialog.get_by_label("Allowed hosts").fill("10.0.0.0/8, 192.0.2.7")
        dialog.get_by_label("Rate limit (requests per second)").fill("2.5")
        screens.take(page, "07-edit-pair")
        dialog.get_by_role("button", name="Save").click()
        row = pair_row(page, access)
        expect(row).to_contain_text("ci-pair-2")
        expect(row).to_contain_text("10.0.0.0/8, 192.0.2.7/32")
        keys = api.call("GET", f"/v1/{project_id}/aksks/{alice}/keys", expect_status=200).json()["keys"]
        assert keys[0]["allowed_cidrs"] == ["10.0.0.0/8", "192.0.2.7/32"], keys
        assert keys[0]["action_when_leaked"] == "delete", keys
        assert keys[0]["rate_limit"] == {"per_second": 2.5, "burst": 3}, keys
        expect(row.locator('td[data-label="Rate limit"]')).to_have_text("2.5/s, burst 3")
        # A bad CIDR: the API's error in the dialog, nothing changed.
        row.get_by_role("button", name="Edit ci-pair-2").click()
        dialog.get_by_label("Allowed hosts").fill("10.0.0.0/33")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog.locator("#pair-error")).not_to_be_empty()
        dialog.get_by_role("button", name="Cancel").click()
        dialog.get_by_label("Allowed hosts")  # the dialog closed
        expect(row).to_contain_text("10.0.0.0/8, 192.0.2.7/32")
        # Open the pair to every host again, so it verifies from here.
        row.get_by_role("button", name="Edit ci-pair-2").click()
        dialog.get_by_label("Allowed hosts").fill("")
        dialog.get_by_label("Rate limit (requests per second)").fill("")
        dialog.get_by_label("Burst").fill("")
        dialog.get_by_role("button", name="Save").click()
        expect(row.locator('td[data-label="Allowed hosts"]')).to_have_text("Any")
        expect(row.locator('td[data-label="Rate limit"]')).to_have_text("None")

        row.get_by_role("button", name="Disable ci-pair-2").click()
        expect(row.locator(".badge")).to_have_text("disabled")
        assert api.ec2tokens(ec2_v4(access, secret)).status_code == 401
        row.get_by_role("button", name="Enable ci-pair-2").click()
        expect(row.locator(".badge")).to_have_text("active")
        assert api.ec2tokens(ec2_v4(access, secret)).status_code == 200
        summary["disable_enable"] = "verified 401 then 200"

        # --- rotate: a replacement, and the old pair expires ----------------
        row.get_by_role("button", name="Rotate ci-pair-2").click()
        rotate = page.locator("#rotate-dialog")
        rotate.get_by_label("Hours the old key keeps working").fill("12")
        screens.take(page, "08-rotate")
        rotate.get_by_role("button", name="Rotate").click()
        expect(secret_dialog).to_be_visible()
        expect(secret_dialog.locator("#secret-title")).to_have_text("AK/SK pair rotated")
        new_access = secret_dialog.locator("#secret-id").input_value()
        new_secret = secret_dialog.locator("#secret-value").input_value()
        assert new_access != access
        secret_dialog.get_by_role("button", name="Done").click()
        keys = {k["access_key"]: k for k in api.call("GET", f"/v1/{project_id}/aksks/{alice}/keys", expect_status=200).json()["keys"]}
        assert keys[new_access]["name"] == "ci-pair-2" and keys[new_access]["description"] == "Used by the nightly build", keys
        assert keys[new_access]["expires_at"].startswith("2031-06-30"), keys
        assert keys[access]["expires_at"] < "2031", keys  # the old one now expires in 12 h
        assert api.ec2tokens(ec2_v4(new_access, new_secret)).status_code == 200
        still = api.ec2tokens(ec2_v4(access, secret))
        assert still.status_code == 200, still.text  # still in its overlap
        summary["rotate"] = "new pair verifies; old pair expires in 12 h"

        # --- delete, with a confirmation naming the key --------------------
        pair_row(page, access).get_by_role("button", name="Delete ci-pair-2").first.click()
        confirm = page.locator("#confirm-dialog")
        expect(confirm).to_contain_text(access)
        axe.check(page, "confirm-dialog")
        screens.take(page, "09-delete-confirm")
        confirm.get_by_role("button", name="Delete").click()
        expect(pair_row(page, access)).to_have_count(0)
        expect(pair_row(page, new_access)).to_have_count(1)
        assert api.ec2tokens(ec2_v4(access, secret)).status_code == 401

        # --- an application credential (the tab reached by arrow key) ------
        page.get_by_role("tab", name="AK/SK pairs").focus()
        page.keyboard.press("ArrowRight")
        expect(page.get_by_role("tab", name="Application credentials")).to_have_attribute("aria-selected", "true")
        expect(page.get_by_role("tab", name="Application credentials")).to_be_focused()
        expect(page.locator("#appcreds-empty")).to_be_visible()
        page.get_by_role("button", name="Create application credential").click()
        appdialog = page.locator("#appcred-dialog")
        appdialog.get_by_label("Name").fill("ci-deployer")
        appdialog.get_by_label("Description").fill("Deploys from CI")
        appdialog.get_by_label("Access rules").fill("identity GET /v3/auth/projects")
        axe.check(page, "create-appcred-dialog")
        screens.take(page, "10-create-appcred")
        appdialog.get_by_role("button", name="Create").click()
        expect(secret_dialog).to_be_visible()
        expect(secret_dialog.locator("#secret-warning")).to_contain_text("cannot be shown again")
        cred_id = secret_dialog.locator("#secret-id").input_value()
        secret_dialog.locator("#secret-toggle").click()
        cred_secret = secret_dialog.locator("#secret-value").input_value()
        screens.take(page, "11-appcred-secret")
        clouds_name, clouds_text = download(page, secret_dialog.get_by_role("button", name="Download clouds.yaml"))
        assert clouds_name == "clouds.yaml" and cred_secret in clouds_text and "v3applicationcredential" in clouds_text
        secret_dialog.get_by_role("button", name="Done").click()
        expect(page.locator(f'#appcreds tbody tr[data-id="{cred_id}"]')).to_contain_text("identity GET /v3/auth/projects")
        r = requests.post(f"{base}/v3/auth/tokens", json={"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": cred_id, "secret": cred_secret}}}})
        assert r.status_code == 201, r.text
        assert r.json()["token"]["project"]["id"] == project_id
        summary["appcred_token"] = r.status_code
        # Rotate it: a replacement with the same name, the old one renamed.
        page.locator(f'#appcreds tbody tr[data-id="{cred_id}"]').get_by_role("button", name="Rotate ci-deployer").click()
        rotate = page.locator("#rotate-dialog")
        expect(rotate.locator("#rotate-dialog-title")).to_have_text("Rotate application credential")
        rotate.get_by_label("Hours the old key keeps working").fill("1")
        rotate.get_by_role("button", name="Rotate").click()
        expect(secret_dialog.locator("#secret-title")).to_have_text("Application credential rotated")
        new_cred_id = secret_dialog.locator("#secret-id").input_value()
        new_cred_secret = secret_dialog.locator("#secret-value").input_value()
        secret_dialog.get_by_role("button", name="Done").click()
        expect(page.locator(f'#appcreds tbody tr[data-id="{cred_id}"]')).to_contain_text("ci-deployer (rotated ")
        expect(page.locator(f'#appcreds tbody tr[data-id="{new_cred_id}"]')).to_contain_text("ci-deployer")
        for cid, csecret in [(cred_id, cred_secret), (new_cred_id, new_cred_secret)]:
            r = requests.post(f"{base}/v3/auth/tokens", json={"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": cid, "secret": csecret}}}})
            assert r.status_code == 201, r.text
        summary["appcred_rotation"] = "both work during the overlap"
        axe.check(page, "appcreds")
        screens.take(page, "12-appcreds")

        # --- activity: the audit trail of these keys ----------------------
        page.reload()
        page.get_by_role("tab", name="Activity").click()
        activity = page.locator("#activity tbody")
        expect(activity).to_contain_text("rotated aksk")
        expect(activity).to_contain_text("created application credential")
        expect(activity).to_contain_text("authenticate")
        expect(activity).not_to_contain_text(secret)
        axe.check(page, "activity")
        screens.take(page, "16-activity")

        # --- endpoints ------------------------------------------------------
        page.get_by_role("tab", name="Endpoints").click()
        expect(page.locator("#endpoint-list")).to_contain_text(f"{base}/v3/ec2tokens")
        page.get_by_role("button", name="Copy the AK/SK API URL").click()
        assert page.evaluate("() => navigator.clipboard.readText()") == f"{base}/v1/{project_id}/aksks"
        axe.check(page, "endpoints")
        screens.take(page, "13-endpoints")

        # --- a member cannot reach another user's keys; CSRF is required ----
        probe = page.evaluate(
            """async ([project, bob]) => {
                const s = (await (await fetch('__CONSOLE__/session')).json()).session;
                const h = {'X-CSRF-Token': s.csrf_token, 'Content-Type': 'application/json'};
                const other = await fetch(`/v1/${project}/aksks/${bob}/keys`, {headers: h});
                const noCsrf = await fetch(`/v1/${project}/aksks`, {method: 'POST', headers: {'Content-Type': 'application/json'},
                    body: JSON.stringify({credential: {project_id: project, user_id: s.token.user.id}})});
                const forged = await fetch(`/v1/${project}/aksks/${s.token.user.id}/keys`, {headers: {'X-CSRF-Token': 'forged'}});
                return [other.status, noCsrf.status, forged.status];
            }""".replace("__CONSOLE__", "/console"),
            [project_id, bob],
        )
        assert probe == [403, 401, 401], probe
        page.get_by_role("tab", name="AK/SK pairs").click()
        expect(page.locator("#pairs")).not_to_contain_text(bob_pair["access_key"])
        summary["member_isolation"] = probe

        # --- a phone-sized screen --------------------------------------------
        page.set_viewport_size({"width": 390, "height": 844})
        expect(pair_row(page, new_access)).to_be_visible()
        axe.check(page, "phone")
        screens.take(page, "14-phone")
        page.set_viewport_size({"width": 1280, "height": 860})

        # --- sign out: the token is revoked and the cookie gone ----------------
        token = session_cookie(context)["value"]
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        assert session_cookie(context) is None
        r = api.http.get(f"{base}/v3/auth/tokens", headers={"X-Auth-Token": api.admin, "X-Subject-Token": token})
        assert r.status_code == 404, r.text
        summary["sign_out"] = "token revoked"

        # --- an admin manages anyone's keys in the project ----------------------
        sign_in(page, "admin", args.admin_password)
        expect(page.get_by_role("heading", name="Choose a project")).to_be_visible()
        page.locator("#choose-project").get_by_label("Project").select_option(label="webshop")
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="API keys")).to_be_visible()
        picker = page.get_by_label("Show the keys of")
        expect(picker).to_be_visible()
        picker.select_option(label="bob (Default)")
        expect(pair_row(page, bob_pair["access_key"])).to_be_visible()
        expect(page.locator("#pairs-caption")).to_contain_text("bob's AK/SK pairs")
        axe.check(page, "admin")
        screens.take(page, "15-admin-user-picker")
        page.get_by_role("button", name="Create AK/SK pair").click()
        dialog.get_by_label("Name").fill("made-by-admin")
        dialog.get_by_role("button", name="Create").click()
        expect(secret_dialog).to_be_visible()
        admin_made = secret_dialog.locator("#secret-id").input_value()
        secret_dialog.get_by_role("button", name="Done").click()
        keys = api.call("GET", f"/v1/{project_id}/aksks/{bob}/keys", token=bob_token, expect_status=200).json()["keys"]
        assert admin_made in [k["access_key"] for k in keys], keys
        # Application credentials are created only by their owner: no button.
        page.get_by_role("tab", name="Application credentials").click()
        expect(page.get_by_role("button", name="Create application credential")).to_be_hidden()
        page.get_by_role("tab", name="AK/SK pairs").click()
        pair_row(page, admin_made).get_by_role("button", name="Delete made-by-admin").click()
        confirm.get_by_role("button", name="Delete").click()
        expect(pair_row(page, admin_made)).to_have_count(0)
        summary["admin"] = "picked bob, created and deleted his pair"

        # The expired session: the page asks to sign in again.
        api.http.delete(f"{base}/v3/auth/tokens", headers={"X-Auth-Token": api.admin, "X-Subject-Token": session_cookie(context)["value"]})
        page.get_by_label("Show the keys of").select_option(label="alice (Default)")
        expect(page.locator("#sign-in-error")).to_contain_text("session has ended")

        assert not console_errors, console_errors
        browser.close()

    summary["axe_screens"] = axe.checked
    summary["axe_lesser_findings"] = axe.lesser
    summary["screenshots"] = screens.taken
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
