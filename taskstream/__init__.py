"""The composition root above app, workers and infra: the command line and embedded run."""
