"""The Exchange workload: a mailbox's mail, contacts and calendars."""
