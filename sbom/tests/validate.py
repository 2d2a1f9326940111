#!/usr/bin/env python3
"""Validate SBOMs written by stella-sbom with the reference tooling.

Usage: validate.py cyclonedx FILE... | validate.py spdx FILE...

* CycloneDX: the official CycloneDX 1.6 JSON schema (strict variant), via
  cyclonedx-python-lib's JsonStrictValidator.
* SPDX: spdx-tools parses the document (rejects bad enums, malformed actors,
  purls, dates) and runs its full SPDX 2.3 validation (SPDXID syntax,
  documentNamespace URI, license expressions against the SPDX license list,
  LicenseRefs defined, relationships point at existing elements). Because the
  spdx-tools parser ignores unknown keys, we also reject any key that is not an
  SPDX 2.3 JSON field, so a misspelled field cannot pass unnoticed.

Exit status 0 when every file is valid; 1 with the problems on stderr
otherwise; 2 when the tooling is missing:
    pip install 'cyclonedx-python-lib[validation]' spdx-tools
"""

import json
import sys

INSTALL_HINT = "pip install 'cyclonedx-python-lib[validation]' spdx-tools"

# SPDX 2.3 JSON field names per object kind (spdx-spec schemas/spdx-schema.json).
SPDX_KEYS = {
    "document": {
        "$schema", "SPDXID", "annotations", "comment", "creationInfo", "dataLicense",
        "externalDocumentRefs", "hasExtractedLicensingInfos", "name", "revieweds",
        "spdxVersion", "documentNamespace", "documentDescribes", "packages", "files",
        "snippets", "relationships",
    },
    "creationInfo": {"comment", "created", "creators", "licenseListVersion"},
    "package": {
        "SPDXID", "annotations", "attributionTexts", "builtDate", "checksums", "comment",
        "copyrightText", "description", "downloadLocation", "externalRefs",
        "filesAnalyzed", "hasFiles", "homepage", "licenseComments", "licenseConcluded",
        "licenseDeclared", "licenseInfoFromFiles", "name", "originator",
        "packageFileName", "packageVerificationCode", "primaryPackagePurpose",
        "releaseDate", "sourceInfo", "summary", "supplier", "validUntilDate",
        "versionInfo",
    },
    "externalRef": {"comment", "referenceCategory", "referenceLocator", "referenceType"},
    "extractedLicensingInfo": {"comment", "crossRefs", "extractedText", "licenseId", "name", "seeAlsos"},
    "relationship": {"comment", "relatedSpdxElement", "relationshipType", "spdxElementId"},
}


def unknown_keys(obj, kind, where):
    if not isinstance(obj, dict):
        return [f"{where}: expected an object"]
    return [f"{where}: unknown SPDX 2.3 field {k!r}" for k in sorted(set(obj) - SPDX_KEYS[kind])]


def spdx_key_problems(doc):
    problems = unknown_keys(doc, "document", "document")
    problems += unknown_keys(doc.get("creationInfo", {}), "creationInfo", "creationInfo")
    for i, pkg in enumerate(doc.get("packages", [])):
        problems += unknown_keys(pkg, "package", f"packages[{i}]")
        for j, ref in enumerate(pkg.get("externalRefs", [])):
            problems += unknown_keys(ref, "externalRef", f"packages[{i}].externalRefs[{j}]")
    for i, lic in enumerate(doc.get("hasExtractedLicensingInfos", [])):
        problems += unknown_keys(lic, "extractedLicensingInfo", f"hasExtractedLicensingInfos[{i}]")
    for i, rel in enumerate(doc.get("relationships", [])):
        problems += unknown_keys(rel, "relationship", f"relationships[{i}]")
    return problems


def validate_cyclonedx(path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    with open(path, encoding="utf-8") as f:
        text = f.read()
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    problems = [str(e) for e in errors] if errors else []
    if json.loads(text).get("specVersion") != "1.6":
        problems.append("specVersion is not 1.6")
    return problems


def validate_spdx(path):
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    problems = spdx_key_problems(raw)
    if raw.get("spdxVersion") != "SPDX-2.3":
        problems.append("spdxVersion is not SPDX-2.3")
    try:
        document = parse_file(path)
    except SPDXParsingError as e:
        return problems + [f"parse: {m}" for m in e.get_messages()]
    for msg in validate_full_spdx_document(document):
        problems.append(f"{msg.validation_message} (context: {msg.context})")
    return problems


def main(argv):
    if len(argv) < 3 or argv[1] not in ("cyclonedx", "spdx"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import cyclonedx  # noqa: F401
        import spdx_tools  # noqa: F401
    except ImportError as e:
        print(f"validator dependencies missing ({e}); install with: {INSTALL_HINT}", file=sys.stderr)
        return 2
    check = validate_cyclonedx if argv[1] == "cyclonedx" else validate_spdx
    failed = False
    for path in argv[2:]:
        problems = check(path)
        if problems:
            failed = True
            print(f"INVALID {argv[1]} {path}:", file=sys.stderr)
            for p in problems:
                print(f"  - {p}", file=sys.stderr)
        else:
            print(f"valid {argv[1]} {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
