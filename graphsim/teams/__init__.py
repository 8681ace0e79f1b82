"""The simulated Microsoft Teams surface: teams, channels, channel messages, migration mode."""
