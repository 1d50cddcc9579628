"""``regular_files.open_regular``: the one way tokenizer files, text files and chat templates
are opened. Every kind of path that is not a regular file is refused at once (in a thread
with a deadline, so a blocking open fails the test instead of hanging it), in each caller's
words."""

from __future__ import annotations

import os
import socket

import pytest

from bounded import within
from tokenprism.tokenization.chat import ChatError, template_from_file
from tokenprism.tokenization.files import load_error
from tokenprism.tokenization.regular_files import NotRegularFile, open_regular
from tokenprism.tokenization.textfile import NotText, read_text_file

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo") or not hasattr(socket, "AF_UNIX"),
                                reason="needs FIFOs and Unix sockets")


@pytest.fixture
def specials(tmp_path):
    """A FIFO without a writer, a listening Unix socket, a directory and a character device."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))
    server.listen()
    yield {"fifo": (fifo, "a named pipe (FIFO)"), "socket": (sock_path, "a socket"),
           "directory": (tmp_path, "a directory"), "device": ("/dev/null", "a character device")}
    server.close()


@pytest.mark.parametrize("kind", ["fifo", "socket", "directory", "device"])
def test_anything_but_a_regular_file_is_refused_at_once(specials, kind):
    path, words = specials[kind]
    with pytest.raises(NotRegularFile) as refused:
        within(5, open_regular, path)
    assert refused.value.kind == words and refused.value.is_directory == (kind == "directory")
    # each caller keeps its own words
    with pytest.raises(NotText) as not_text:
        within(5, read_text_file, path, 1 << 20)
    assert str(not_text.value) == ("is a directory (give a file)" if kind == "directory"
                                   else f"not a regular file: {words}")
    with pytest.raises(ChatError, match="is not a regular file"):
        within(5, template_from_file, str(path))
    assert load_error("spec", path, refused.value).detail == f"{path} is {words}, not a tokenizer file"


def test_a_regular_file_is_read_whole(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_bytes(b"hello\x00world" * 1000)
    with within(5, open_regular, path) as file:
        assert file.read() == path.read_bytes()
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "missing")
