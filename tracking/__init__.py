"""Runs tracked by an outside client through the MLflow-compatible REST API (/api/2.0/mlflow/)."""
