"""Teams chats (one-on-one, group, meeting) of the simulated tenant."""
