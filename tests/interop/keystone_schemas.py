#!/usr/bin/env python3
"""Keystone 30's request and response schemas, as OpenAPI 3.0 for openapi.yaml.

    keystone_schemas.py OPENAPI_YAML requests > openapi/keystone-requests.json
    keystone_schemas.py OPENAPI_YAML responses > openapi/keystone-responses.json
    keystone_schemas.py OPENAPI_YAML queries > openapi/keystone-queries.json

`requests`: the JSON Schemas the installed Keystone validates request
bodies with: those its API methods register (`validation.request_body_schema`,
found by walking Keystone's own Flask URL map) and those it checks inside
the method (`lazy_validate`: tokens, password changes, OAuth1 consumers
and authorisations, policies), wrapped in the key they are read from.
`responses`: the schemas its methods register for their success bodies
(`validation.response_body_schema`), opened where Keystone answers more
than they allow (OPENED).
`queries`: the schemas its methods register for the query string
(`validation.request_query_schema`), which Keystone checks, first value of
each parameter as a string, before it looks at the token.
Each is keyed by the operationId that OPENAPI_YAML gives the same route,
with Ironstone's few additions (ADDITIONS), and turned into OpenAPI 3.0 (a type list with "null" becomes `nullable`).
`x-keystone-route` names the route; `x-keystone-lazy` marks the schemas
Keystone checks inside the method, with messages and an order (after the
policy check, for some) of their own, which Ironstone's handlers follow.

Ironstone validates request bodies with the first and query strings with
the third (src/api/keystone_schemas.rs),
the contract fuzzing holds its answers to the second, openapi.yaml refers
to both, and the contract test (tests/contract.rs) regenerates them and
compares, so they cannot drift from Keystone.
"""

import copy
import json
import re
import sys
import tempfile

import yaml

import keystone_server

# Schemas Keystone checks inside a method rather than by decorator:
# (method, path) -> (module, attribute, the body key it is read from).
LAZY = {
    ("POST", "/v3/auth/tokens"): ("keystone.auth.schema", "token_issue", "auth"),
    ("POST", "/v3/users/{user_id}/password"): ("keystone.identity.schema", "password_change", "user"),
    ("POST", "/v3/OS-OAUTH1/consumers"): ("keystone.oauth1.schema", "consumer_create", "consumer"),
    ("PATCH", "/v3/OS-OAUTH1/consumers/{consumer_id}"): ("keystone.oauth1.schema", "consumer_update", "consumer"),
    ("PUT", "/v3/OS-OAUTH1/authorize/{request_token_id}"): ("keystone.oauth1.schema", "request_token_authorize", "roles"),
    ("POST", "/v3/policies"): ("keystone.policy.schema", "policy_create", "policy"),
    ("PATCH", "/v3/policies/{policy_id}"): ("keystone.policy.schema", "policy_update", "policy"),
}

# Ironstone's additions to Keystone's bodies, where Keystone's schema is
# closed: kind -> (method, path) -> {JSON pointer of the object: {name: schema}}.
LEAK_ACTION = {
    "type": ["string", "null"],
    "enum": ["none", "disable", "delete", None],
    "description": "Ironstone: what a leak report does to it (README: Leak response).",
}
LIFECYCLE = {
    "last_used_at": {"type": ["string", "null"], "description": "Ironstone, with ?lifecycle: its last use."},
    "expires_soon": {"type": "boolean", "description": "Ironstone, with ?lifecycle: it expires within the warning window."},
    "action_when_leaked": LEAK_ACTION,
    "leaked_at": {"type": ["string", "null"], "description": "Ironstone, with ?lifecycle: when a leak was reported."},
}
APP_CREDS = "/v3/users/{user_id}/application_credentials"
ADDITIONS = {
    "queries": {},
    "requests": {
        ("POST", APP_CREDS): {"/properties/application_credential": {"action_when_leaked": LEAK_ACTION}},
    },
    "responses": {
        ("POST", APP_CREDS): {"/properties/application_credential": LIFECYCLE},
        ("GET", APP_CREDS): {"/properties/application_credentials/items": LIFECYCLE},
        ("GET", APP_CREDS + "/{application_credential_id}"): {"/properties/application_credential": LIFECYCLE},
    },
}

# Where Keystone 30's registered response schemas are narrower than what
# Keystone 30 answers (seen live, and compared by the differential tests):
# Keystone keeps the extra attributes of domains and roles and shows them
# wherever it shows the domain or role (resource_extra_attributes_as_in_keystone),
# though these schemas close those objects. Objects under these names are
# opened.
OPENED = {"domain", "domains", "role", "roles", "prior_role", "implies"}


def open_extras(schema, name=None):
    if isinstance(schema, dict):
        if name in OPENED and schema.get("additionalProperties") is False:
            schema["additionalProperties"] = True
        for key, value in schema.get("properties", {}).items():
            open_extras(value, key)
        if "items" in schema:
            open_extras(schema["items"], name)


def at(schema, pointer):
    for part in pointer.strip("/").split("/"):
        schema = schema[part]
    return schema


# Keystone 30's `wrap_collection` adds `"truncated": true` to a listing
# whose page was cut (`?limit=`), though the schemas of some listings close
# their top level: added to every closed listing that has `links`.
TRUNCATED = {"type": "boolean", "description": "A page was cut at `limit`, as Keystone's wrap_collection says."}


def adjusted(kind, route, schema):
    """Keystone's schema with Ironstone's ADDITIONS and, for answers, OPENED
    and TRUNCATED."""
    for pointer, properties in ADDITIONS[kind].get(route, {}).items():
        at(schema, pointer)["properties"].update(copy.deepcopy(properties))
    if kind == "responses":
        open_extras(schema)
        properties = schema.get("properties", {})
        if route[0] == "GET" and "links" in properties and schema.get("additionalProperties") is False:
            properties.setdefault("truncated", dict(TRUNCATED))
    return schema


def openapi_30(schema):
    """JSON Schema (draft 4, as Keystone writes it) to OpenAPI 3.0."""
    if isinstance(schema, list):
        return [openapi_30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "$schema":
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: openapi_30(v) for k, v in value.items()}
        else:
            out[key] = openapi_30(value)
    if out.get("required") == []:
        # OpenAPI 3.0 wants at least one name; none is no rule.
        del out["required"]
    for key in ("anyOf", "oneOf"):
        branches = out.get(key)
        if isinstance(branches, list) and {"type": "null"} in branches:
            out["nullable"] = True
            branches = [b for b in branches if b != {"type": "null"}]
            if len(branches) == 1:
                del out[key]
                out.update(branches[0])
            else:
                out[key] = branches
    kind = out.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) < len(kind):
            out["nullable"] = True
        if len(kinds) == 1:
            out["type"] = kinds[0]
        else:
            del out["type"]
            out["anyOf"] = [{"type": k} for k in kinds]
    return out


def registered(attribute):
    """(method, path) -> the schema Keystone's URL map registers as
    `attribute` (`_request_body_schema` or `_response_body_schema`)."""
    app = keystone_server.flask_app(tempfile.mkdtemp())
    found = {}
    for rule in app.url_map.iter_rules():
        view_class = getattr(app.view_functions[rule.endpoint], "view_class", None)
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"OPTIONS", "HEAD"}:
            handler = getattr(view_class, method.lower(), None)
            schema = getattr(handler, attribute, None)
            # A request body only where a body is read (Keystone registers
            # one on a GET or two, which its handlers never read).
            if attribute == "_request_body_schema" and method not in ("POST", "PUT", "PATCH"):
                continue
            if schema is not None:
                found[(method, path)] = schema
    return found


def lazy():
    import importlib

    found = {}
    for route, (module, name, key) in LAZY.items():
        inner = getattr(importlib.import_module(module), name)
        outer = {"type": "object", "properties": {key: inner}}
        if inner.get("required") or inner.get("minItems"):
            outer["required"] = [key]
        outer["x-keystone-lazy"] = True
        found[route] = outer
    return found


def main():
    # Keystone's config parser (in registered()) empties sys.argv.
    spec_path, kind = sys.argv[1], sys.argv[2]
    spec = yaml.safe_load(open(spec_path))
    operations = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                operations[(method.upper(), path)] = operation["operationId"]
    if kind == "requests":
        schemas = {**registered("_request_body_schema"), **lazy()}
    elif kind == "queries":
        schemas = registered("_request_query_schema")
    else:
        schemas = registered("_response_body_schema")
    out = {}
    for route in sorted(schemas):
        # Keystone serves the same API under both prefixes; openapi.yaml
        # documents /v3.
        if route in operations:
            schema = openapi_30(adjusted(kind, route, copy.deepcopy(schemas[route])))
            schema["x-keystone-route"] = " ".join(route)
            out[operations[route]] = schema
        else:
            print(f"not in {spec_path}: {' '.join(route)}", file=sys.stderr)
    json.dump(out, sys.stdout, sort_keys=True, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
