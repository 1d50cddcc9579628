"""``tokenprism count --tree``: the counted files as a tree with folder subtotals, largest
first (or by name), entries under a threshold folded into one line per folder."""

from __future__ import annotations

import argparse
import sys

from ..tokenization.tree_counts import FileCount, Node, Tree


def add_tree_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("tree")
    group.add_argument("--tree", action="store_true", help="print the files as a tree with folder subtotals")
    group.add_argument(
        "--threshold",
        type=_threshold,
        default=0,
        metavar="N",
        help="with --tree: fold files and folders under N tokens into one line per folder (still counted)",
    )
    group.add_argument(
        "--sort",
        choices=("tokens", "name"),
        default="tokens",
        help="with --tree: largest first (default) or by name",
    )


def _threshold(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of tokens: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"the threshold must be 0 or more, got {value}")
    return value


def build_tree(files: list[FileCount]) -> Tree:
    tree = Tree()
    for count in files:
        tree.add(count)
    return tree


def _shown(node: Node, threshold: int, by: str) -> tuple[list[Node], int, int]:
    """A folder's children at or above the threshold, and the number of files and tokens of
    the rest."""
    shown, hidden_files, hidden_tokens = [], 0, 0
    for child in node.sorted_children(by):
        if child.tokens >= threshold:
            shown.append(child)
        else:
            hidden_files += child.files
            hidden_tokens += child.tokens
    return shown, hidden_files, hidden_tokens


def _folded(files: int, threshold: int) -> str:
    return f"… {files:,} file{'s' if files != 1 else ''} under {threshold:,} tokens"


def print_tree(files: list[FileCount], width: int, threshold: int = 0, by: str = "tokens", out=None) -> None:
    out = out or sys.stdout
    tree = build_tree(files)
    total = max(tree.root.tokens, 1)

    def line(tokens: int, prefix: str, label: str) -> None:
        out.write(f"{tokens:>{width},}  {100 * tokens / total:5.1f}%  {prefix}{label}\n")

    def visit(node: Node, indent: str) -> None:
        shown, hidden_files, hidden_tokens = _shown(node, threshold, by)
        entries: list[Node | None] = [*shown, *([None] if hidden_files else [])]
        for i, child in enumerate(entries):
            last = i == len(entries) - 1
            branch = "└── " if last else "├── "
            if child is None:
                line(hidden_tokens, indent + branch, _folded(hidden_files, threshold))
                continue
            line(child.tokens, indent + branch, child.name + ("/" if child.is_folder else ""))
            if child.is_folder:
                visit(child, indent + ("    " if last else "│   "))

    # the top level (what was named on the command line, or the entries of ".") has no branches
    shown, hidden_files, hidden_tokens = _shown(tree.root, threshold, by)
    for child in shown:
        line(child.tokens, "", child.name + ("/" if child.is_folder else ""))
        if child.is_folder:
            visit(child, "")
    if hidden_files:
        line(hidden_tokens, "", _folded(hidden_files, threshold))


def tree_json(files: list[FileCount], threshold: int = 0, by: str = "tokens") -> dict:
    """The tree as nested objects: ``{name, path, tokens, files, characters, bytes,
    children?, hidden?}``; ``hidden`` sums the children under the threshold (left out)."""

    def as_dict(node: Node) -> dict:
        out = {
            "name": node.name,
            "path": node.path,
            "tokens": node.tokens,
            "files": node.files,
            "characters": node.characters,
            "bytes": node.bytes,
        }
        if node.is_folder:
            shown, hidden_files, hidden_tokens = _shown(node, threshold, by)
            out["children"] = [as_dict(child) for child in shown]
            if hidden_files:
                out["hidden"] = {"files": hidden_files, "tokens": hidden_tokens}
        return out

    return as_dict(build_tree(files).root)
