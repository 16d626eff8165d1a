#!/usr/bin/env python3
"""Consumes a trust the way Heat's service user does: keystoneauth1's
v3.Password with trust_id, then a request through the session.

    trust_session.py IDENTITY_URL USERNAME PASSWORD TRUST_ID

Prints a JSON object: what keystoneauth1 read from the trust-scoped token,
and the status of a request made with it.
"""

import json
import sys

from keystoneauth1 import session
from keystoneauth1.identity import v3


def main():
    identity, username, password, trust_id = sys.argv[1:5]
    auth = v3.Password(
        auth_url=f"{identity}/v3",
        username=username,
        password=password,
        user_domain_id="default",
        trust_id=trust_id,
    )
    sess = session.Session(auth=auth)
    access = auth.get_access(sess)
    resp = sess.get(f"{identity}/v3/auth/projects", raise_exc=False)
    print(
        json.dumps(
            {
                "trust_id": access.trust_id,
                "trust_scoped": access.trust_scoped,
                "trustor_user_id": access.trustor_user_id,
                "trustee_user_id": access.trustee_user_id,
                "user_id": access.user_id,
                "project_id": access.project_id,
                "roles": sorted(access.role_names),
                "request_status": resp.status_code,
            }
        )
    )


if __name__ == "__main__":
    main()
