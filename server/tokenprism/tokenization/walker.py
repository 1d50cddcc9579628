"""Finding the files of a directory tree the way ``git`` would list them: sorted, without
``.git`` and what ``.gitignore`` files exclude; entries that are not regular files (FIFOs,
devices, broken or looping symlinks, symlinks to directories) are reported, never opened.
Shared by ``tokenprism count`` and the server's workspace totals."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .regular_files import file_kind


class GitIgnore:
    """The .gitignore files that apply below one directory, deepest last (git's precedence)."""

    def __init__(self, rules: tuple[tuple[Path, object], ...] = ()):
        self.rules = rules

    @classmethod
    def for_directory(cls, directory: Path) -> GitIgnore:
        """Rules from the .gitignore files of the enclosing repository above ``directory``."""
        ancestors = []
        directory = directory.resolve()
        if not (directory / ".git").exists():
            for parent in directory.parents:
                ancestors.append(parent)
                if (parent / ".git").exists():
                    break
            else:
                ancestors = []  # not inside a repository: only the tree's own .gitignore files count
        ignore = cls()
        for parent in reversed(ancestors):
            ignore = ignore.entering(parent)
        if ignore.ignored(directory, is_dir=True):
            return cls()  # an ignored directory named explicitly: the user wants it counted
        return ignore

    def entering(self, directory: Path) -> GitIgnore:
        file = directory / ".gitignore"
        try:
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return self
        import pathspec

        spec = pathspec.GitIgnoreSpec.from_lines(lines)
        return GitIgnore(self.rules + ((directory.resolve(), spec),))

    def ignored(self, path: Path, is_dir: bool) -> bool:
        # ``path`` lies under the resolved root, so it compares with the resolved bases as is
        # (a symlink is matched by its own name, as git does).
        verdict = False
        for base, spec in self.rules:
            try:
                relative = path.relative_to(base).as_posix()
            except ValueError:
                continue
            include = _verdict(spec, relative + "/" if is_dir else relative)
            if include is not None:
                verdict = include
        return verdict


def _verdict(spec, relative: str) -> bool | None:
    """True: ignored, False: re-included by a ``!`` rule, None: no rule of this file matches."""
    check_file = getattr(spec, "check_file", None)  # recent pathspec
    if check_file is not None:
        return check_file(relative).include
    return True if spec.match_file(relative) else None  # older: a negation only works within its file


def walk(root: Path, report_skip) -> list[Path]:
    """Files under ``root`` in sorted order, without .git and what .gitignore files exclude.
    Entries that are neither regular files nor directories (FIFOs, devices, sockets, broken or
    looping symlinks, symlinks to directories) go to ``report_skip`` unopened."""
    found: list[Path] = []
    root = root.resolve()
    stack = [(root, GitIgnore.for_directory(root).entering(root))]
    while stack:
        directory, ignore = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            report_skip(directory, f"cannot list ({exc.strerror or exc})")
            continue
        subdirs = []
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)  # usually from the listing, no stat
            except OSError:  # gone since the listing
                continue
            if entry.name == ".git" or ignore.ignored(path, is_dir):
                continue
            if is_dir:
                subdirs.append(path)
                continue
            why = _not_a_file(entry)
            if why is None:
                found.append(path)
            else:
                report_skip(path, why)
        for sub in reversed(subdirs):
            stack.append((sub, ignore.entering(sub)))
    return found


def _not_a_file(entry: os.DirEntry) -> str | None:
    """Why a directory entry (not itself a directory) cannot be counted; None for a regular
    file. Only stats: a FIFO is never opened."""
    try:
        mode = entry.stat().st_mode  # follows a symlink
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        if entry.is_symlink() and isinstance(exc, FileNotFoundError):
            return "broken symlink"
        return f"cannot read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "symlink to a directory (not followed)"
    return f"not a regular file: {file_kind(mode)}"
