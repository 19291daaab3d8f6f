from dockyard.cli.main import main

raise SystemExit(main())
