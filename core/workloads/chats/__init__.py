"""The chats workload: a user's Teams chats (one-on-one, group, meeting) and their messages."""
