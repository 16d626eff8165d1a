#!/usr/bin/env python3
"""A secret scanner written from the README's rule alone, as a scanning
tool (gitleaks, GitHub secret scanning, trufflehog) would add it: the
regular expression finds candidates, the CRC-32 checksum confirms them.

    secret_scanner.py < text    prints {"found": [...]} (in order of appearance)
"""

import json
import re
import sys
import zlib

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RULES = {
    "ironstone-aksk-secret": re.compile(r"\birsk_[0-9A-Za-z]{38}\b"),
    "ironstone-application-credential-secret": re.compile(r"\birac_[0-9A-Za-z]{49}\b"),
}


def base62(value, width=6):
    out = ""
    for _ in range(width):
        out = DIGITS[value % 62] + out
        value //= 62
    return out


def checksum_ok(candidate):
    head, tail = candidate[:-6], candidate[-6:]
    return base62(zlib.crc32(head.encode())) == tail


def main():
    text = sys.stdin.read()
    found = []
    for rule, pattern in RULES.items():
        for match in pattern.finditer(text):
            if checksum_ok(match.group(0)):
                found.append({"rule": rule, "secret": match.group(0), "at": match.start()})
    found.sort(key=lambda f: f["at"])
    print(json.dumps({"found": [f["secret"] for f in found], "rules": [f["rule"] for f in found]}))


if __name__ == "__main__":
    main()
