"""``python -m lifecycle_runtime [options] (script.py | -m module) [args...]``: run a program
with its MLflow tracing calls checked in place (:func:`lifecycle_runtime.guard`)."""

from .guard import main

raise SystemExit(main())
