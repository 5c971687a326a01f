"""Model training as a run kind: generated and uploaded datasets, fitting on workers,
held-out metrics judged against the data's known truth, and safe model artifacts."""
