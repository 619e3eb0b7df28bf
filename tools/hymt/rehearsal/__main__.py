"""python -m hymt.rehearsal --out DIR"""

from hymt.rehearsal.cli import main

raise SystemExit(main())
