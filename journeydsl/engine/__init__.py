"""The engine layer: simulating a compiled journey.

montecarlo/ (plans, sampling, the vectorised engine, executors: local pool or
Dask), exact (the absorbing Markov chain solver) and results (tallies and the
figures with their intervals, the JSON contract). Imports: language only.
"""
