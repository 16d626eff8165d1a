#!/usr/bin/env python3
"""Writes Keystone 30's URL map to OUT, one `METHOD PATH` per line.

    keystone_url_map.py DIR OUT

Builds a throwaway Keystone in DIR (as keystone_server.py does), creates
its Flask application and lists what each rule really answers. Path
variables are written `{}`.

flask-restful registers every method of a resource class on each of its
rules (a collection and its members share one class), so a method counts
for a rule only if it can be called with exactly that rule's variables,
and only if Keystone does not itself answer it 405 (`GET /v3/ec2tokens`).
"""

import inspect
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keystone_server  # noqa: E402


def callable_with(view_class, method, arguments):
    handler = getattr(view_class, method.lower(), None)
    if handler is None:
        return method == "HEAD" and callable_with(view_class, "GET", arguments)
    try:
        inspect.signature(handler).bind(None, **{a: "x" for a in arguments})
        return True
    except TypeError:
        return False


def main():
    top, out = sys.argv[1], sys.argv[2]
    app = keystone_server.flask_app(top)
    client = app.test_client()
    lines = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<[^>]+>", "{}", rule.rule)
        view = getattr(app.view_functions.get(rule.endpoint), "view_class", None)
        for method in sorted(set(rule.methods) - {"OPTIONS"}):
            if view is not None and not callable_with(view, method, rule.arguments):
                continue
            probe = re.sub(r"<[^>]+>", "x", rule.rule)
            try:
                refused = client.open(probe, method=method).status_code == 405
            except Exception:  # noqa: BLE001 - Keystone's own checks of a bare probe
                refused = False
            if refused:
                continue
            lines.append(f"{method} {path}")
    with open(out, "w") as f:
        f.write("\n".join(sorted(lines)) + "\n")


if __name__ == "__main__":
    main()
