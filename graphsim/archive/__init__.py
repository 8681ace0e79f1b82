"""The Exchange in-place archive of a user (main and auxiliary archives), reached through the beta Mail API."""
