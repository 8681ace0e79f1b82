"""Microsoft 365 group conversations, membership delta and writes (graphsim/groups/)."""
