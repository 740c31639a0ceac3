"""Reference runtime client for MLflow's low-level tracing lifecycle."""
