"""Hidden test suites, one package per exercise (see docs/SUITES.md).

They run in the trusted grader process and reach student code only through the ``student``
fixture; calibrated accuracy thresholds live in ``thresholds.toml`` (see docs/CALIBRATION.md).
"""
