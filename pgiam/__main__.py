from pgiam.cli import main

raise SystemExit(main())
