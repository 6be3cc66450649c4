"""Event consumers: the notifier and the recurrer, on a shared runtime."""
