#!/usr/bin/env python3
"""Serves a real Keystone 30, for differential tests.

    keystone_server.py DIR ADMIN_PASSWORD

Builds a Keystone on SQLite in DIR with keystone-manage (db_sync,
fernet_setup, credential_setup, bootstrap: the admin user, project and
role, RegionOne), serves Keystone's own WSGI application on a free
loopback port, prints `PORT <n>` on stdout once it answers, and serves
until its standard input closes (when the test that started it ends).
"""

import os
import socketserver
import subprocess
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


def keystone_manage(conf, *args):
    manage = os.path.join(os.path.dirname(sys.executable), "keystone-manage")
    subprocess.run(
        [manage, "--config-file", conf, *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def build(top, database_url, admin_password, hash_rounds=None, cache=True):
    """Writes keystone.conf in TOP and makes the deployment with
    keystone-manage: schema, both key repositories, and the bootstrap
    (admin user, project and role; RegionOne; the identity endpoints).
    HASH_ROUNDS lowers bcrypt's cost (Keystone's default, 12, when None).
    Keystone's cache is on, as operators deploy it (an in-process dogpile
    memory backend stands in for memcached: one process, so it stays
    coherent); uncached, every request re-reads role assignments and the
    differential tests took 12 minutes instead of one.
    CACHE=False turns it off (bench/run's --keystone-uncached line).
    Returns the path of keystone.conf."""
    os.makedirs(top, exist_ok=True)
    conf = os.path.join(top, "keystone.conf")
    identity = f"[identity]\npassword_hash_rounds = {hash_rounds}\n" if hash_rounds else ""
    # KEYSTONE_NOTIFICATIONS="TRANSPORT_URL EXCHANGE TOPIC": publish
    # Keystone's notifications there (for the notification comparison).
    notify = os.environ.get("KEYSTONE_NOTIFICATIONS", "").split()
    defaults = ""
    messaging = ""
    if notify:
        url, exchange, topic = notify
        defaults = f"control_exchange = {exchange}\nnotification_format = cadf\n"
        messaging = (
            f"[oslo_messaging_notifications]\ndriver = messagingv2\n"
            f"transport_url = {url}\ntopics = {topic}\n"
        )
    with open(conf, "w") as f:
        f.write(
            f"""[DEFAULT]
{defaults}{messaging}[database]
connection = {database_url}
[fernet_tokens]
key_repository = {top}/fernet-keys
[credential]
key_repository = {top}/credential-keys
{identity}[cache]
enabled = {"true" if cache else "false"}
backend = dogpile.cache.memory
[token]
provider = fernet
"""
        )
    ids = ["--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid())]
    keystone_manage(conf, "db_sync")
    keystone_manage(conf, "fernet_setup", *ids)
    keystone_manage(conf, "credential_setup", *ids)
    keystone_manage(
        conf,
        "bootstrap",
        "--bootstrap-password", admin_password,
        "--bootstrap-region-id", "RegionOne",
        "--bootstrap-public-url", "http://127.0.0.1:5000/v3",
        "--bootstrap-internal-url", "http://127.0.0.1:5000/v3",
    )
    return conf


def flask_app(top):
    """Keystone's Flask application over a throwaway deployment in TOP,
    for scripts that read what it would answer (its URL map, its JSON
    Home) without serving it."""
    import gc

    # Keystone's config parser reads sys.argv: leave it only the program.
    del sys.argv[1:]
    conf = build(top, f"sqlite:///{top}/keystone.db", "unused", hash_rounds=4)
    os.environ["OS_KEYSTONE_CONFIG_FILES"] = conf
    import flask
    from keystone.server import wsgi

    wsgi.initialize_public_application()
    # The Flask application sits under Keystone's middleware; find it.
    return next(o for o in gc.get_objects() if isinstance(o, flask.Flask))


def main():
    top, admin_password = sys.argv[1], sys.argv[2]
    # Keystone's config parser reads sys.argv: leave it only the program.
    del sys.argv[1:]
    conf = build(top, f"sqlite:///{top}/keystone.db", admin_password, hash_rounds=4)
    os.environ["OS_KEYSTONE_CONFIG_FILES"] = conf
    from keystone.server import wsgi

    app = wsgi.initialize_public_application()
    server = make_server(
        "127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {server.server_port}", flush=True)
    # Serve until the test process goes away.
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
