"""Headless Chromium for the tests that look at a page as a person would (tests/e2e/test_docs_*).

`python -m scripts.browser` makes sure Debian's `chromium` is installed: when /usr/bin/chromium
is missing and this runs as root, it installs it with apt-get (the Makefile's e2e and full
test targets run it first). Tests never download a browser of their own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = Path(os.environ.get("BAP_CHROMIUM", "/usr/bin/chromium"))

# Everything a test browser needs and nothing that reaches out: no sandbox (root in a
# container), no background traffic, no updater, a throwaway profile given by the caller.
FLAGS = ("--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu",
         "--no-first-run", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--mute-audio")


def chromium() -> Path | None:
    """The Chromium binary, or None when it is not installed."""
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def ensure_chromium() -> Path:
    """The Chromium binary, installed from Debian's packages first when missing (as root)."""
    found = chromium()
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit("Chromium is missing: install Debian's `chromium` package "
                 "(`sudo apt-get install -y chromium`) or set BAP_CHROMIUM to a Chromium binary.")
    print("Chromium is missing; installing Debian's `chromium` package", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                   check=True, env=env)
    found = chromium()
    if found is None:
        sys.exit("apt-get installed `chromium` but no chromium binary is on the PATH")
    return found


if __name__ == "__main__":
    print(ensure_chromium())
