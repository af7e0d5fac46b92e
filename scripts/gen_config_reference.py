"""Print the configuration reference tables (markdown) generated from `field_reference()`.

    .venv/bin/python scripts/gen_config_reference.py                          # print
    .venv/bin/python scripts/gen_config_reference.py --write docs/configuration.md

`--write` replaces the text between the BEGIN/END markers in the given file, so the hand-written
part of the doc stays as it is. A unit test fails when the doc and this output differ.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

BEGIN = "<!-- BEGIN GENERATED: scripts/gen_config_reference.py -->"
END = "<!-- END GENERATED -->"

# Run as a plain script from anywhere: the project is not installed as a package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trading.config_reference import field_reference  # noqa: E402
from trading.config_schema import SECTIONS  # noqa: E402


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(row: dict[str, Any]) -> str:
    if row["required"]:
        return "required"
    if row["default"] == "":
        return '`""`'
    return f"`{json.dumps(row['default'])}`"


def render_markdown() -> str:
    """The reference tables, one per section, in document order."""
    rows = field_reference()
    out: list[str] = []
    for section in ["", *SECTIONS]:
        out.append(f"### `{section}`" if section else "### Top level")
        out.append("")
        out.append("| Field | Type | Default | Allowed | Meaning |")
        out.append("| --- | --- | --- | --- | --- |")
        for row in rows:
            if row["section"] != section:
                continue
            cells = [
                f"`{row['name']}`",
                row["type"],
                _default(row),
                row["bounds"] or ("true or false" if row["type"] == "bool" else "any"),
                row["description"],
            ]
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def replace_generated(doc: str, generated: str) -> str:
    """`doc` with the text between the markers replaced by `generated`."""
    head, _, rest = doc.partition(BEGIN)
    _, _, tail = rest.partition(END)
    if not rest:
        raise SystemExit(f"markers not found; the file needs {BEGIN} ... {END}")
    return f"{head}{BEGIN}\n\n{generated}\n{END}{tail}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, help="update the generated block of this markdown file")
    args = parser.parse_args()
    generated = render_markdown()
    if args.write:
        args.write.write_text(replace_generated(args.write.read_text(), generated))
    else:
        sys.stdout.write(generated)


if __name__ == "__main__":
    main()
