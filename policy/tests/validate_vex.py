#!/usr/bin/env python3
"""Validate VEX documents with the official schemas (the independent oracle
for policy/tests/vex.rs).

Usage: validate_vex.py OPENVEX_SCHEMA FILE...

* OpenVEX: the openvex/spec JSON schema (draft 2020-12) with format checks
  (uri, date-time), via python-jsonschema.
* CycloneDX: the official CycloneDX schema of the document's specVersion
  (1.4, 1.5, 1.6; strict variant), via cyclonedx-python-lib's
  JsonStrictValidator.

Prints one JSON object: {FILE: [error, ...]} (an empty list: valid).
Exit status 0 when it could judge every file, 2 when tooling is missing:
    pip install 'cyclonedx-python-lib[validation]'
"""

import json
import sys


def openvex_errors(validator, doc):
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in validator.iter_errors(doc)
    ]


def cyclonedx_errors(text, doc):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    versions = {
        "1.4": SchemaVersion.V1_4,
        "1.5": SchemaVersion.V1_5,
        "1.6": SchemaVersion.V1_6,
    }
    version = versions.get(doc.get("specVersion"))
    if version is None:
        return [f"specVersion {doc.get('specVersion')!r} is not 1.4, 1.5 or 1.6"]
    errors = JsonStrictValidator(version).validate_str(text, all_errors=True)
    if errors is None:
        return []
    # One ValidationError, or (all_errors=True) an iterable of them.
    found = getattr(errors, "data", errors)
    if isinstance(found, (str, bytes)) or not hasattr(found, "__iter__"):
        found = [found]
    return [getattr(e, "message", str(e)) for e in found]


def main():
    try:
        from jsonschema import Draft202012Validator, FormatChecker
        import cyclonedx.validation.json  # noqa: F401
    except ImportError as e:
        print(f"missing tooling ({e}): pip install 'cyclonedx-python-lib[validation]'", file=sys.stderr)
        return 2
    # Without its optional helpers, jsonschema skips format checks silently.
    checker = FormatChecker()
    if checker.conforms("yesterday", "date-time") or checker.conforms("not a uri", "uri"):
        print("jsonschema cannot check date-time/uri formats: pip install 'jsonschema[format]'", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    results = {}
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        doc = json.loads(text)
        if "@context" in doc:
            results[path] = openvex_errors(validator, doc)
        elif doc.get("bomFormat") == "CycloneDX":
            results[path] = cyclonedx_errors(text, doc)
        else:
            results[path] = ["neither OpenVEX nor CycloneDX"]
    json.dump(results, sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
