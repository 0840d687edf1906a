"""`python -m keytui` runs the same entry point as the `keytui` script."""

from keytui.cli import main

raise SystemExit(main())
