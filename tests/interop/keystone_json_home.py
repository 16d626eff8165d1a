#!/usr/bin/env python3
"""Writes Keystone 30's JSON Home document (`GET /v3` with
`Accept: application/json-home`) to OUT.

    keystone_json_home.py DIR OUT

Builds a throwaway Keystone in DIR (as keystone_server.py does). The
document is what src/api/json_home.json holds, and what
tests/url_map.rs compares Ironstone's answer with.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keystone_server  # noqa: E402


def main():
    top, out = sys.argv[1], sys.argv[2]
    app = keystone_server.flask_app(top)
    answer = app.test_client().get("/v3", headers={"Accept": "application/json-home"})
    with open(out, "w") as f:
        json.dump(json.loads(answer.data), f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
