#!/usr/bin/env python3
"""Logs in with an OS-OAUTH1 access token through keystoneauth1's
v3.OAuth1 plugin, as a consumer holding a delegation does.

    oauth1_login.py IDENTITY_URL CONSUMER_KEY CONSUMER_SECRET ACCESS_KEY ACCESS_SECRET

Prints a JSON object: the token's project, roles, methods and OS-OAUTH1.
"""

import json
import sys

from keystoneauth1 import session
from keystoneauth1.extras.oauth1 import v3 as oauth1_v3


def main():
    base, consumer, consumer_secret, access, access_secret = sys.argv[1:6]
    plugin = oauth1_v3.OAuth1(auth_url=f"{base}/v3", consumer_key=consumer,
                              consumer_secret=consumer_secret, access_key=access,
                              access_secret=access_secret)
    access_info = plugin.get_access(session.Session(auth=plugin))
    token = access_info._data["token"]
    print(json.dumps({
        "project_id": access_info.project_id,
        "roles": sorted(access_info.role_names),
        "methods": token["methods"],
        "oauth": token.get("OS-OAUTH1"),
    }))


if __name__ == "__main__":
    main()
