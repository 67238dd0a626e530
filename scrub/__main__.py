from scrub.cli import main

raise SystemExit(main())
