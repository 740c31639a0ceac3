from lifecycle_lint.cli import main

raise SystemExit(main())
