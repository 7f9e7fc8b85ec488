"""Latency and load benchmarks of the live interview path (see ``bench/README.md``)."""
