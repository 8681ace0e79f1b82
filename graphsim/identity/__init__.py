"""Identity: access tokens (issue, check, client assertions), the token endpoints, users, restore-API tokens."""
