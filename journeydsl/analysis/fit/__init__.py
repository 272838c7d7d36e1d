"""Calibrating a journey from a CRM export (``journeydsl fit``).

The steps, one module each: :mod:`~journeydsl.analysis.fit.readers` (an export of any
supported shape -> stage entries), :mod:`~journeydsl.analysis.fit.stays` (entries ->
stays, censored at the cut-off), :mod:`~journeydsl.analysis.fit.estimators` (stays ->
shares, time in stage, rates), :mod:`~journeydsl.analysis.fit.writer` (figures ->
journey text), :mod:`~journeydsl.analysis.fit.backtest` (how well the fit reproduces the data;
:mod:`journeydsl.outputs.fit_report` puts it in words and pictures). :func:`fit_export` runs them all.
"""

from journeydsl.analysis.fit.core import FitResult, fit_export, parse_day
from journeydsl.analysis.fit.readers import SHAPES, FitDataError, read_events

__all__ = ["SHAPES", "FitDataError", "FitResult", "fit_export", "parse_day", "read_events"]
