"""threadcast's benchmarks: every hot path measured beside its baseline, in one run.

`python -m bench` runs them all (`--quick` for a smoke run with small sizes), prints a
table and writes bench/results.json. Each case runs in a fresh Python process of its
own, so its peak memory is its own and no case warms the caches of another; a figure
and its baseline always come from the same run, and are reported as a ratio.
"""
