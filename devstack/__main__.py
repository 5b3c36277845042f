"""``python -m devstack`` (what ``make dev`` runs)."""

import sys

from devstack.template import ROOT

for path in (ROOT / "layers", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from devstack.supervisor import main  # noqa: E402

sys.exit(main())
