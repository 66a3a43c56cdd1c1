"""FEC-Bench harness: run captioners over the test set (``runner``) and render the leaderboard (``table``).

Paper: FEC-Bench and its Table 1. ``dfec bench run --model NAME ...`` and ``dfec bench table runs/*``; model adapters and
the :class:`~dfec.bench.adapters.Captioner` protocol live in :mod:`dfec.bench.adapters`.
"""
