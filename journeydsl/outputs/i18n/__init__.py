"""The words and number formats of reports, tables and maps, in English, Russian or Bulgarian.

Every fixed word a person reads (table headings, figure names, map words such
as "stay" or "on enter") is an English message looked up in a gettext
catalogue: ``journeydsl/outputs/i18n/<lang>/LC_MESSAGES/journeydsl.po`` is the
source, the ``.mo`` beside it is what is read (``python -m journeydsl.outputs.i18n``
compiles them). Numbers, money and percentages are formatted by Babel with the
language's own conventions (``1 234,5 ₽``, ``12,3 %``), always in fixed
notation, with the number of decimals the caller chose.

Babel is imported on the first number formatted, not with this module, so a
command that formats nothing (``--help``, ``check``) does not pay for it.
"""

from __future__ import annotations

import gettext
import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from journeydsl.language.model import LANGUAGES

__all__ = ["DOMAIN", "LANGUAGES", "N_", "Lang", "Np_", "get_lang"]

#: The languages reports, tables and maps are available in.

#: The gettext domain of the catalogues.
DOMAIN = "journeydsl"

_HERE = Path(__file__).resolve().parent


def N_(message: str) -> str:
    """Mark a message for the catalogue without translating it (translated where it is shown)."""
    return message


def Np_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a singular and plural message pair for the catalogue (translated with :meth:`Lang.n_`)."""
    return singular, plural


@cache
def _babel_locale(code: str) -> Any:
    from babel import Locale

    return Locale.parse(code)


@cache
def _pattern(code: str, kind: str, decimals: int, symbol_is_code: bool = False) -> str:
    """The locale's own pattern for ``kind`` with exactly ``decimals`` decimals (never exponents)."""
    loc = _babel_locale(code)
    if kind == "percent":
        base = loc.percent_formats[None].pattern
    elif kind == "currency":
        base = loc.currency_formats["standard"].pattern
        if symbol_is_code and base.startswith("¤") and not base.startswith("¤\xa0"):
            base = "¤\xa0" + base[1:]  # "EUR 5.00" rather than "EUR5.00"
    else:
        base = "#,##0"
    base = base.split(";")[0]
    fraction = "." + "0" * decimals if decimals > 0 else ""
    return re.sub(r"0(\.[0#]+)?", "0" + fraction, base, count=1)


@dataclass(frozen=True)
class Lang:
    """One language: its messages (:meth:`_`) and its number formats."""

    code: str
    translations: gettext.NullTranslations = field(compare=False, repr=False)

    def _(self, message: str) -> str:
        """``message`` in this language (the English message itself when the catalogue lacks it)."""
        return self.translations.gettext(message)

    def n_(self, singular: str, plural: str, n: float) -> str:
        """The singular or plural form that fits ``n`` (Russian and Bulgarian have their own rules)."""
        count = int(n) if float(n).is_integer() else 2  # a fraction takes the form of "2" in ru
        return self.translations.ngettext(singular, plural, count)

    def counted(self, singular: str, plural: str, count: float, /, decimals: int = 0, **values: Any) -> str:
        """The form of ``singular``/``plural`` that the number *as shown* takes, its ``{n}`` filled in.

        The form follows what the reader sees, not the raw value: 0.6 days shown with no decimals
        reads '1 day', and a number shown with decimals ('1.0') takes the fraction's form
        ('1,0 дня'). ``{n}`` is ``count`` in this language's format unless ``values`` gives it (a
        padded column, say); the other placeholders come from ``values``.

        >>> [get_lang("en").counted("{n} day", "{n} days", n) for n in (1, 0.6, 2)]
        ['1 day', '1 day', '2 days']
        >>> [get_lang("ru").counted("{n} day", "{n} days", n) for n in (1, 2, 5, 21, 111)]
        ['1 день', '2 дня', '5 дней', '21 день', '111 дней']
        >>> get_lang("ru").counted("{n} day", "{n} days", 1, decimals=1)
        '1,0 дня'
        """
        values.setdefault("n", self.decimal(count, decimals))
        form = _round(count, decimals) if decimals <= 0 else 0.5
        return self.n_(singular, plural, form).format(**values)

    # --- numbers -----------------------------------------------------------

    def decimal(self, x: float, decimals: int) -> str:
        """``x`` rounded to ``decimals`` places (negative: to tens, hundreds...) with grouping."""
        from babel.numbers import format_decimal

        x = _round(x, decimals)
        return format_decimal(x, format=_pattern(self.code, "decimal", max(decimals, 0)), locale=self.code,
                              decimal_quantization=True)

    def percent(self, share: float, decimals: int) -> str:
        """A fraction as a percentage with ``decimals`` places: 0.123 -> '12.3%' / '12,3 %'."""
        from babel.numbers import format_percent

        value = _round(100 * share, decimals) / 100
        return format_percent(value, format=_pattern(self.code, "percent", max(decimals, 0)), locale=self.code)

    def money(self, x: float, currency: str, decimals: int) -> str:
        """Money with the currency where the language puts it: '€1,234.50', '1 234,50 ₽'."""
        if not currency:
            return self.decimal(x, decimals)
        from babel.numbers import format_currency, get_currency_symbol

        x = _round(x, decimals)
        symbol_is_code = get_currency_symbol(currency, locale=self.code) == currency
        pattern = _pattern(self.code, "currency", max(decimals, 0), symbol_is_code)
        return format_currency(x, currency, format=pattern, locale=self.code, currency_digits=False)

    # --- dates -------------------------------------------------------------

    def month(self, month: str) -> str:
        """A calendar month ``YYYY-MM`` as the language writes it: 'Jan 2027', 'янв. 2027', 'яну 2027'."""
        from datetime import date

        from babel.dates import format_date

        year, number = (int(part) for part in month.split("-")[:2])
        return format_date(date(year, number, 1), "LLL y", locale=self.code)


def _round(x: float, decimals: int) -> float:
    """Round half away from zero to ``decimals`` places; never returns -0.0."""
    if not math.isfinite(x):
        return x
    scale = 10.0 ** decimals
    out = math.floor(abs(x) * scale + 0.5) / scale
    out = math.copysign(out, x)
    return 0.0 if out == 0 else out


@cache
def get_lang(code: str | None = None) -> Lang:
    """The :class:`Lang` for ``code`` (``en``, ``ru`` or ``bg``; None: English).

    >>> get_lang("en").percent(0.123, 1)
    '12.3%'
    """
    code = (code or "en").lower()
    if code not in LANGUAGES:
        raise ValueError(f"unknown language '{code}' (expected one of {', '.join(LANGUAGES)})")
    if code == "en":
        translations: gettext.NullTranslations = gettext.NullTranslations()
    else:
        translations = gettext.translation(DOMAIN, localedir=str(_HERE), languages=[code])
    return Lang(code, translations)
