"""The ransomware signal: what a backup sees of a resource's changes (content_rules.py, run_signals.py), judged
against the resource's own rolling baseline (assessment.py), and the last clean point restores default to
(clean_point.py)."""
