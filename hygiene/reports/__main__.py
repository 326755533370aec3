"""``python -m hygiene.reports [--write-schema]``: print (or regenerate) the report.json JSON Schema."""

from __future__ import annotations

import sys

from hygiene.reports.json_report import render_json_schema, write_json_schema


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--write-schema"]:
        print(write_json_schema())
        return 0
    if not args:
        sys.stdout.write(render_json_schema())
        return 0
    print("usage: python -m hygiene.reports [--write-schema]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
