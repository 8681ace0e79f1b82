"""Benchmarks: `python -m bench.mail_backup` (make bench)."""
