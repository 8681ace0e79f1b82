"""Exports in standard formats: mail as .eml (a zip of .eml files for a folder or mailbox), contacts as vCard,
events as iCalendar. Shared by the CLI and the HTTP API."""
