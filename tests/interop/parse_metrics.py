#!/usr/bin/env python3
"""Scrapes a /metrics endpoint and parses it with prometheus_client's own
text-format parser (strict: a malformed line raises).

    parse_metrics.py URL

Prints a JSON object: each metric family's type and its samples
(name, labels, value).
"""

import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def main():
    with urllib.request.urlopen(sys.argv[1]) as resp:
        content_type = resp.headers.get("Content-Type")
        text = resp.read().decode()
    families = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = {
            "type": family.type,
            "samples": [
                {"name": s.name, "labels": s.labels, "value": s.value}
                for s in family.samples
            ],
        }
    print(json.dumps({"content_type": content_type, "families": families}))


if __name__ == "__main__":
    main()
