"""The Teams workload: channel messages of every team (chats are not backed up yet)."""
