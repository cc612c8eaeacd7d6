#!/usr/bin/env python3
"""Validates documents against a JSON Schema with `jsonschema`, the reference Python validator
(installed by scripts/test.sh into target/lint-tools).

    validate.py SCHEMA INSTANCE...

The schema is first checked against its own meta-schema (draft 2020-12 for bpdrift's, draft-07
for SARIF 2.1.0), then each instance; `.toml` instances are read as their JSON form (tomllib), as
editors and check-jsonschema read TOML. One line per instance: `ok PATH` or
`invalid PATH: <json path>: <message>` for each error, sorted by path (for `anyOf`, each
branch's errors).
"""
import json
import sys
import tomllib

from jsonschema import validators


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    for path in sys.argv[2:]:
        if path.endswith(".toml"):
            with open(path, "rb") as f:
                doc = tomllib.load(f)
        else:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
        if not errors:
            print(f"ok {path}")
        for e in errors:
            for leaf in leaves(e):
                print(f"invalid {path}: {leaf.json_path}: {leaf.message[:300]}")


def leaves(error):
    """The errors inside an `anyOf`/`oneOf` (each branch's), not the whole document quoted."""
    if not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in leaves(sub)]


if __name__ == "__main__":
    main()
