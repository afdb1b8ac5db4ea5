"""Write the backend's OpenAPI document to frontend/openapi.json (the web app's client is generated from it)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def main() -> int:
    os.environ.setdefault("XYNAP_DATA_DIR", tempfile.mkdtemp(prefix="xynap-openapi-"))
    from xynap.app import create_app

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "frontend/openapi.json")
    document = create_app(background=False).openapi()
    target.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
