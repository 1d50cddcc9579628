"""Directory trees for the workspace-totals tests, and independent references for them:
``git`` for which files a walk must find, the ``tokenprism count`` CLI (a separate process)
for each file's count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

SAMPLE = {
    ".gitignore": "build/\n*.log\n",
    "README.md": "# Sample\n\nA workspace with prose, code and Korean. 🚀\n",
    "src/app.py": "def main():\n    print('hello, world')\n" * 20,
    "src/util.py": "import os\n\nPATH = os.getcwd()\n",
    "src/deep/korean.txt": "토큰은 모델이 텍스트를 읽는 단위입니다.\n" * 5,
    "src/deep/deeper/emoji.md": "family: 👨‍👩‍👧 flags: 🇰🇷🇺🇸 <|endoftext|>\n",
    "data/blob.bin": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    "data/latin1.txt": b"caf\xe9 cr\xe8me\n",
    "build/out.txt": "generated, ignored\n" * 50,
    "notes.log": "ignored too\n",
    "empty.txt": "",
}


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return root


def git_listed(root: Path) -> set[str]:
    """The files git would consider (tracked or not, without ignored ones), by running git."""
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout.decode()
    return {name for name in out.split("\0") if name}


def run_cli(root: Path, *argv: str) -> str:
    """``tokenprism ARGV...`` run in another process in ``root``; its stdout."""
    env = {**os.environ, "TRANSFORMERS_VERBOSITY": "error"}
    return subprocess.run(
        [sys.executable, "-m", "tokenprism", *argv],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    ).stdout


def cli_count(root: Path, *extra: str, model: str = "o200k_base") -> dict:
    """``tokenprism count --json ROOT`` run in another process."""
    return json.loads(run_cli(root, "count", "--json", "--model", model, *extra, "."))


def folder_sums(files: dict[str, int]) -> dict[str, tuple[int, int]]:
    """(tokens, files) of every folder ("" is the root), summed from per-file counts."""
    sums: dict[str, tuple[int, int]] = {}
    for path, tokens in files.items():
        parents = [str(p) for p in PurePosixPath(path).parents]
        for folder in ("" if p == "." else p for p in parents):
            t, n = sums.get(folder, (0, 0))
            sums[folder] = (t + tokens, n + 1)
    return sums


def generate_big_tree(root: Path, files: int, lines: int = 40) -> Path:
    """``files`` small source files in nested folders (10 per folder, 3 levels), each different."""
    for i in range(files):
        folder = root / f"pkg{i // 1000}" / f"mod{i // 100 % 10}" / f"sub{i // 10 % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(f"value_{i}_{k} = compute({k}, 'item {i}')  # line {k}\n" for k in range(lines))
        (folder / f"file{i}.py").write_text(body, encoding="utf-8")
    return root
