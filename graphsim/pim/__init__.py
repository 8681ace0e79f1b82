"""Contacts and calendars (PIM): stores, seed, recurrence, contact and calendarView delta, meeting mail, routes."""
