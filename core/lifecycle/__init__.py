"""The data lifecycle: what removes backed-up data (the purge, an erasure) and what stops it (legal holds)."""
