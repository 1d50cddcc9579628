"""Fetch the test vocabularies once: llama.cpp's GGUF vocab files, their reference ids and
its chat templates, taken from the llama-cpp-python sdist on PyPI (the Hugging Face hub
is not needed).

    python tests/fetch_testdata.py        # prints the models directory

Files land in ``$TOKENPRISM_TESTDATA/llama.cpp-0.3.36/models/`` (default
``~/.cache/tokenprism-testdata``). Nothing is fetched when they are already there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "llama-cpp-python"
VERSION = "0.3.36"
VOCABS = ("llama-bpe", "phi-3", "qwen2", "starcoder", "gpt-2")
MEMBER_ROOT = f"llama_cpp_python-{VERSION}/vendor/llama.cpp/models/"


def testdata_root() -> Path:
    root = os.environ.get("TOKENPRISM_TESTDATA") or "~/.cache/tokenprism-testdata"
    return Path(root).expanduser()


def models_dir() -> Path:
    return testdata_root() / f"llama.cpp-{VERSION}" / "models"


def vocab_files() -> list[str]:
    return [f"ggml-vocab-{name}.gguf{ext}" for name in VOCABS for ext in ("", ".inp", ".out")]


def is_complete(models: Path) -> bool:
    vocabs_there = all((models / name).is_file() and (models / name).stat().st_size > 0
                       for name in vocab_files())
    templates = models / "templates"
    return vocabs_there and templates.is_dir() and any(templates.glob("*.jinja"))


def _wanted(member_name: str) -> str | None:
    """The path below models/ for a member we keep, else None."""
    if not member_name.startswith(MEMBER_ROOT):
        return None
    relative = member_name[len(MEMBER_ROOT):]
    if relative in vocab_files():
        return relative
    folder, _, name = relative.partition("/")
    # the templates' README says where each template comes from; keep it with them
    if folder == "templates" and "/" not in name and (name.endswith(".jinja") or name == "README.md"):
        return relative
    return None


def download_sdist(into: Path) -> Path:
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
        f"{PACKAGE}=={VERSION}", "--dest", str(into),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    archives = list(into.glob("*.tar.gz"))
    if result.returncode != 0 or not archives:
        last = (result.stderr or result.stdout or "no output").strip().splitlines()
        raise SystemExit(
            f"fetch_testdata: pip could not download the {PACKAGE}=={VERSION} sdist from PyPI"
            f" ({last[-1] if last else 'no output'}); check the network or a pip mirror and retry"
        )
    return archives[0]


def extract(archive: Path, models: Path) -> int:
    """Extract the wanted members into a staging folder, then move them into place."""
    models.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=models.parent))
    count = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                relative = _wanted(member.name)
                if relative is None or not member.isfile():
                    continue
                source = tar.extractfile(member)
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
                count += 1
        for file in sorted(staging.rglob("*")):
            if file.is_file():
                destination = models / file.relative_to(staging)
                destination.parent.mkdir(parents=True, exist_ok=True)
                file.replace(destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return count


def fetch(force: bool = False) -> Path:
    models = models_dir()
    if is_complete(models) and not force:
        return models
    with tempfile.TemporaryDirectory(prefix="tokenprism-sdist-") as tmp:
        print(f"fetch_testdata: downloading the {PACKAGE}=={VERSION} sdist (about 75 MB)…", file=sys.stderr)
        archive = download_sdist(Path(tmp))
        count = extract(archive, models)
    if not is_complete(models):
        raise SystemExit(f"fetch_testdata: the sdist did not contain all expected files ({count} extracted)")
    print(f"fetch_testdata: extracted {count} files", file=sys.stderr)
    return models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="fetch again even if the files are there")
    args = parser.parse_args(argv)
    print(fetch(force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
