#!/usr/bin/env python3
"""Signs requests with real botocore and prints the bodies a service would
send to Ironstone's /v3/ec2tokens and /v3/s3tokens.

    botocore_sign.py ACCESS SECRET > cases.json

Each case: {"endpoint", "body"}; cases named *-wrong-secret are signed with
another secret and must fail.
"""

import base64
import hashlib
import json
import sys
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4Auth, SigV2Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def ec2tokens_body(access, signature, request, params, body=b""):
    split = urlsplit(request.url)
    headers = {k: v for k, v in request.headers.items()}
    headers.setdefault("Host", split.netloc)
    return {
        "credentials": {
            "access": access,
            "signature": signature,
            "host": split.netloc,
            "verb": request.method,
            "path": split.path or "/",
            "params": params,
            "headers": headers,
            "body_hash": request.headers.get("X-Amz-Content-Sha256") or hashlib.sha256(body).hexdigest(),
        }
    }


def authorization_signature(request):
    return request.headers["Authorization"].rsplit("Signature=", 1)[1]


def ec2_v4(access, secret):
    url = "https://ec2.example.com/?Action=DescribeRegions&Version=2016-11-15"
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(access, secret), "ec2", "RegionOne").add_auth(request)
    params = dict(parse_qsl(urlsplit(url).query))
    return ec2tokens_body(access, authorization_signature(request), request, params)


def ec2_v2(access, secret):
    data = {"Action": "DescribeInstances", "Version": "2016-11-15"}
    request = AWSRequest(method="POST", url="https://ec2.example.com:8788/", data=data)
    SigV2Auth(Credentials(access, secret)).add_auth(request)
    params = dict(request.data)
    signature = params.pop("Signature")
    return ec2tokens_body(access, signature, request, params)


class RecordingS3SigV4Auth(S3SigV4Auth):
    """Keeps the exact string botocore signed (what s3token sends)."""

    signed_string = None

    def string_to_sign(self, request, canonical_request):
        self.signed_string = super().string_to_sign(request, canonical_request)
        return self.signed_string


def s3_request(access, secret, key="photos/a%20b.jpg"):
    request = AWSRequest(method="GET", url=f"https://bucket.s3.example.com/{key}?versionId=3")
    auth = RecordingS3SigV4Auth(Credentials(access, secret), "s3", "us-east-1")
    auth.add_auth(request)
    return request, auth


def s3_full(access, secret):
    request, _ = s3_request(access, secret)
    params = dict(parse_qsl(urlsplit(request.url).query))
    return ec2tokens_body(access, authorization_signature(request), request, params)


def s3tokens_v4(access, secret):
    request, auth = s3_request(access, secret, key="other/object.txt")
    string_to_sign = auth.signed_string
    return {"credentials": {"access": access, "token": base64.urlsafe_b64encode(string_to_sign.encode()).decode(),
                            "signature": authorization_signature(request)}}


def s3tokens_v2(access, secret):
    request = AWSRequest(method="GET", url="https://s3.example.com/bucket/object")
    auth = HmacV1Auth(Credentials(access, secret))
    auth.add_auth(request)
    split = urlsplit(request.url)
    string_to_sign = auth.canonical_string(request.method, split, request.headers)
    signature = request.headers["Authorization"].split(":", 1)[1]
    return {"credentials": {"access": access, "token": base64.urlsafe_b64encode(string_to_sign.encode()).decode(),
                            "signature": signature}}


def s3_v2_request(access, secret):
    """A whole S3 V2 request (Authorization: AWS AK:signature, Date)."""
    request = AWSRequest(method="PUT", url="https://s3.example.com/bucket/key.txt?acl",
                         headers={"Content-Type": "text/plain", "x-amz-meta-owner": "ops"})
    HmacV1Auth(Credentials(access, secret)).add_auth(request)
    signature = request.headers["Authorization"].split(":", 1)[1]
    params = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
    return ec2tokens_body(access, signature, request, params)


def s3_v2_presigned(access, secret):
    """A presigned S3 V2 URL (AWSAccessKeyId, Expires, Signature)."""
    request = AWSRequest(method="GET", url="https://s3.example.com/bucket/shared.bin")
    HmacV1QueryAuth(Credentials(access, secret), expires=600).add_auth(request)
    params = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
    signature = params.pop("Signature")
    return ec2tokens_body(access, signature, request, params)


def main():
    access, secret = sys.argv[1], sys.argv[2]
    cases = {}
    for name, endpoint, build in [
        ("ec2-sigv4", "/v3/ec2tokens", ec2_v4),
        ("ec2-v2", "/v3/ec2tokens", ec2_v2),
        ("s3-sigv4-request", "/v3/ec2tokens", s3_full),
        ("s3-v2-request", "/v3/ec2tokens", s3_v2_request),
        ("s3-v2-presigned", "/v3/ec2tokens", s3_v2_presigned),
        ("s3tokens-v4", "/v3/s3tokens", s3tokens_v4),
        ("s3tokens-v2", "/v3/s3tokens", s3tokens_v2),
    ]:
        cases[name] = {"endpoint": endpoint, "body": build(access, secret)}
        cases[name + "-wrong-secret"] = {"endpoint": endpoint, "body": build(access, secret + "x")}
    json.dump(cases, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
