"""The Microsoft 365 Groups workload (groups:<group id>): conversations and membership."""
