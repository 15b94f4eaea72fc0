"""Measurements of this repository (token cost, scoring and report speed, demo wall time, GPU speed and memory,
padding, libraries against the hand-written code). Not part of the installed package: each runs from the repository
root as ``python -m benchmarks.<name>`` (``make tokens``, ``make bench``, ``make bench-gpu``).
"""
