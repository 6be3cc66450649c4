"""The recurrer: creates the next occurrences of recurring series."""
