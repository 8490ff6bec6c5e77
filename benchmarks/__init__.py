"""Benchmarks: ratios against anchors measured in the same run (see README.md)."""
