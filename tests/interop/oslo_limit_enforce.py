#!/usr/bin/env python3
"""Drives oslo.limit's Enforcer, as Nova and Glance run it for unified
limits, against Ironstone.

    oslo_limit_enforce.py IDENTITY_URL ADMIN_PASSWORD ENDPOINT_ID PROJECT_ID USAGE CHECK [CHECK ...]

USAGE is the project's current usage of every resource; each CHECK is
`resource=delta`. Prints a JSON object: the model Keystone reports, the
limits the enforcer reads for the project, and for each check whether it
was allowed and, if not, what was over.
"""

import json
import sys
import tempfile

from oslo_config import cfg
from oslo_limit import exception
from oslo_limit import limit
from oslo_limit import opts


def main():
    identity, password, endpoint_id, project_id, usage = sys.argv[1:6]
    checks = [arg.split("=", 1) for arg in sys.argv[6:]]
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(
            "[oslo_limit]\n"
            f"endpoint_id = {endpoint_id}\n"
            "auth_type = password\n"
            f"auth_url = {identity}/v3\n"
            "username = admin\n"
            f"password = {password}\n"
            "user_domain_id = default\n"
            "system_scope = all\n"
        )
        path = f.name
    conf = cfg.CONF
    conf([], project="oslo_limit_interop", default_config_files=[path])
    opts.register_opts(conf)

    def usage_callback(project, resource_names):
        return {name: int(usage) for name in resource_names}

    enforcer = limit.Enforcer(usage_callback)
    resources = sorted({name for name, _ in checks})
    report = {
        "model": enforcer._get_enforcement_model(),
        "limits": dict(enforcer.get_project_limits(project_id, resources)),
        "checks": [],
    }
    for name, delta in checks:
        entry = {"resource": name, "delta": int(delta)}
        try:
            enforcer.enforce(project_id, {name: int(delta)})
            entry["allowed"] = True
        except exception.ProjectOverLimit as e:
            entry["allowed"] = False
            entry["over"] = [
                {"resource": o.resource_name, "limit": o.limit, "usage": o.current_usage}
                for o in e.over_limit_info_list
            ]
        report["checks"].append(entry)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
