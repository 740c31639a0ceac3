"""lifecycle-lint: a static checker for MLflow's low-level tracing lifecycle."""

__version__ = "0.1.0"
