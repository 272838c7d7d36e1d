"""Keep the catalogues in step with the code: ``python -m journeydsl.outputs.i18n extract|compile|check``.

- ``extract`` writes ``journeydsl.pot``: every message the code marks (``_("...")``,
  ``lang._("...")``, ``_t("...")``, ``N_("...")``, and the (singular, plural) pairs of ``lang.n_``,
  ``lang.counted``, ``Np_`` and ``note_n_``);
- ``compile`` turns each ``<lang>/LC_MESSAGES/journeydsl.po`` into the ``.mo`` that is read
  (the ``.mo`` files are committed, so a wheel needs no build step to ship them);
- ``check`` exits 1 when a message has no translation in a catalogue or a ``.mo`` is stale.
"""

from __future__ import annotations

import ast
import io
import sys
from pathlib import Path

from journeydsl.outputs.i18n import _HERE, DOMAIN, LANGUAGES

#: The modules whose messages people read (paths inside the package). The analysis modules mark
#: the notes they write for people with ``note_("...", **values)`` (``note_n_`` for a note whose words
#: follow a count); they are shown translated.
SOURCES = ("outputs/report.py", "outputs/htmlreport.py", "outputs/maps.py", "outputs/uncertainty_html.py",
           "outputs/forecast_report.py", "outputs/sensitivity_report.py", "outputs/fit_report.py",
           "analysis/forecast.py")

_PACKAGE = _HERE.parent.parent
_SINGLE = {"_", "_t", "N_", "note_"}
_PLURAL = {"n_", "Np_", "counted", "note_n_"}


def messages() -> dict[str | tuple[str, str], str]:
    """Every marked message (a string, or a (singular, plural) pair) -> where it was first seen."""
    out: dict[str | tuple[str, str], str] = {}
    for name in SOURCES:
        path = _PACKAGE / name
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if called in _SINGLE and len(args) == 1 and len(node.args) == 1:
                out.setdefault(args[0], f"{name}:{node.lineno}")
            elif called in _PLURAL and len(args) == 2:
                out.setdefault((args[0], args[1]), f"{name}:{node.lineno}")
    return out


def _catalog_path(code: str, ext: str) -> Path:
    return _HERE / code / "LC_MESSAGES" / f"{DOMAIN}.{ext}"


def extract() -> None:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    catalog = Catalog(project="journeydsl", domain=DOMAIN)
    for msg, where in messages().items():
        file, line = where.split(":")
        catalog.add(msg, locations=[(f"journeydsl/{file}", int(line))])
    with open(_HERE / f"{DOMAIN}.pot", "wb") as fh:
        write_po(fh, catalog, omit_header=False, sort_output=False, width=120)


def _mo_bytes(code: str) -> bytes:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(_catalog_path(code, "po"), "rb") as fh:
        catalog = read_po(fh, locale=code, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def compile_all() -> None:
    for code in LANGUAGES[1:]:
        _catalog_path(code, "mo").write_bytes(_mo_bytes(code))


def problems() -> list[str]:
    """Messages without a translation, and stale ``.mo`` files, as readable lines."""
    from babel.messages.pofile import read_po

    out: list[str] = []
    wanted = messages()
    for code in LANGUAGES[1:]:
        with open(_catalog_path(code, "po"), "rb") as fh:
            catalog = read_po(fh, locale=code, domain=DOMAIN)
        for msg, where in wanted.items():
            key = msg[0] if isinstance(msg, tuple) else msg
            entry = catalog.get(key)
            strings = entry.string if entry is not None else None
            texts = strings if isinstance(strings, tuple) else (strings,)
            if entry is None or not all(texts) or (isinstance(msg, tuple) and not entry.pluralizable):
                out.append(f"{code}: no translation of {msg!r} ({where})")
        mo = _catalog_path(code, "mo")
        if not mo.exists() or mo.read_bytes() != _mo_bytes(code):
            out.append(f"{code}: {mo.name} is out of date; run python -m journeydsl.outputs.i18n compile")
    return out


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "extract":
        extract()
    elif command == "compile":
        compile_all()
    elif command == "check":
        found = problems()
        print("\n".join(found) or "every message is translated and compiled")
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
