"""Where a figure or a checkpoint came from: the git commit of the code that produced it.

Every training run and every evaluation records this, so a number in `metadata.json` or the README
can be traced to the exact code. A clone without git (or a Space) records None rather than failing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def git_commit(root: Path = REPO_ROOT) -> dict[str, object] | None:
    """{"sha": HEAD's sha, "dirty": uncommitted changes to the code}, or None outside a git checkout.

    Only code counts (Python files and the requirements): a checkpoint's own metadata.json, which an
    evaluation rewrites, does not make the code that produced the next figure any less committed.
    """
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "*.py", "requirements*.txt"],
                                cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {"sha": sha.stdout.strip(), "dirty": bool(status.stdout.strip())}
