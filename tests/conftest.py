"""Shared test settings.

Hypothesis runs derandomized by default: the same generated examples every
run, so the statistical property tests compare against exact answers with
fixed draws and can never flake in CI. To explore new examples while
developing, run with ``JOURNEYDSL_HYPOTHESIS=explore``.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("JOURNEYDSL_HYPOTHESIS", "ci"))
