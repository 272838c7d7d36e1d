"""journeydsl: plan, simulate and compare customer journeys.

Write a journey in a ``.journey`` file, then from Python::

    import journeydsl as jd
    journey = jd.load("examples/journeys/saas_trial.journey")
    results = jd.simulate(journey, customers=20_000, seed=42)
    results.to_dict()["scenarios"][0]["metrics"]["conversion_rate"]
"""

__version__ = "0.1.0"
