"""A synthetic ~1 MB document (code, prose, Korean, emoji) and a realistic edit session.

Deterministic for a given seed, so every model and every run sees the same text and edits.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at which but "
    "have an they you were her all she there would their we him been has when who will more no if out "
    "token model price budget context window latency server request document editor count"
).split()
KOREAN = (
    "안녕하세요 토큰화 문서 편집기 언어 모델 가격 예산 입력 출력 한국어 문장 단어 음절 서버 요청 "
    "응답 시간 측정 결과 파일 코드 주석 설명 사용자 개발자 비용 계산"
).split()
EMOJI = ["🙂", "🚀", "👍🏽", "🧑\u200d💻", "🇰🇷", "✅", "🔥", "📄"]
IDENTS = ["value", "count", "tokens", "result", "index", "buffer", "offset", "window", "model", "text"]


def _sentence(rng: random.Random, words, n: int) -> str:
    s = " ".join(rng.choice(words) for _ in range(n))
    return s[0].upper() + s[1:] + rng.choice([".", ".", "!", "?"])


def _python(rng: random.Random) -> str:
    name = f"{rng.choice(IDENTS)}_{rng.randint(0, 9999)}"
    lines = [f"def {name}({rng.choice(IDENTS)}, {rng.choice(IDENTS)}=None):",
             f'    """{_sentence(rng, WORDS, 8)}"""']
    for _ in range(rng.randint(3, 12)):
        indent = "    " * rng.randint(1, 3)
        a, b = rng.choice(IDENTS), rng.choice(IDENTS)
        lines.append(rng.choice([
            f"{indent}{a} = {b} + {rng.randint(0, 1000)}  # {rng.choice(KOREAN)} {rng.choice(KOREAN)}",
            f"{indent}if {a} > {b}:",
            f"{indent}for {a} in range(len({b})):",
            f"{indent}{a}.append({b}[{rng.randint(0, 9)}:{rng.randint(10, 99)}])",
            f'{indent}log.info("{rng.choice(WORDS)} %s {rng.choice(EMOJI)}", {a})',
        ]))
    lines.append(f"    return {rng.choice(IDENTS)}")
    return "\n".join(lines) + "\n\n"


def _javascript(rng: random.Random) -> str:
    name = f"{rng.choice(IDENTS)}{rng.randint(0, 999)}"
    body = "\n".join(
        f"  const {rng.choice(IDENTS)} = await fetch(`/api/{rng.choice(IDENTS)}/${{id}}`); "
        f"// {rng.choice(WORDS)}"
        for _ in range(rng.randint(2, 6))
    )
    return f"export async function {name}(id) {{\n{body}\n  return {{ ok: true }};\n}}\n\n"


def _prose(rng: random.Random) -> str:
    return " ".join(_sentence(rng, WORDS, rng.randint(6, 18)) for _ in range(rng.randint(3, 7))) + "\n\n"


def _korean(rng: random.Random) -> str:
    sents = [" ".join(rng.choice(KOREAN) for _ in range(rng.randint(4, 10))) + "."
             for _ in range(rng.randint(2, 5))]
    return " ".join(sents) + f" {rng.choice(EMOJI)}\n\n"


def _markdown(rng: random.Random) -> str:
    items = "\n".join(f"- {rng.choice(EMOJI)} {_sentence(rng, WORDS, 5)}" for _ in range(rng.randint(2, 6)))
    return f"## {_sentence(rng, WORDS, 3)}\n\n{items}\n\n"


def document(target_bytes: int = 1 << 20, seed: int = 7) -> str:
    rng = random.Random(seed)
    parts, size = [], 0
    makers = [_python, _python, _javascript, _prose, _prose, _korean, _markdown]
    while size < target_bytes:
        part = rng.choice(makers)(rng)
        parts.append(part)
        size += len(part.encode("utf-8"))
    return "".join(parts)


@dataclass(frozen=True)
class Edit:
    kind: str
    start: int  # character offsets in the text before this edit
    end: int
    text: str


_HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]{2,}")
_WORD = re.compile(r"[A-Za-z_]{3,}")


def edit_session(text: str, minimum: int = 200, seed: int = 11) -> list[Edit]:
    """Realistic edits: typing words, deleting a word, pasting 50 lines and undoing it,
    deleting a line, typing inside a Korean word. Each is in the coordinates of the text
    left by the previous ones."""
    rng = random.Random(seed)
    edits: list[Edit] = []

    def apply(e: Edit) -> None:
        nonlocal text
        edits.append(e)
        text = text[: e.start] + e.text + text[e.end :]

    def line_start(pos: int) -> int:
        return text.rfind("\n", 0, pos) + 1

    kinds = ["type", "delete_word", "type", "paste_undo", "delete_line", "type_korean", "type"]
    while len(edits) < minimum:
        kind = kinds[len(edits) % len(kinds)]
        pos = rng.randrange(len(text))
        if kind == "type":
            end_of_line = text.find("\n", pos)
            at = end_of_line if end_of_line >= 0 else len(text)
            for ch in " " + rng.choice(WORDS) + rng.choice(["", ",", "()"]):
                apply(Edit("type", at, at, ch))
                at += 1
        elif kind == "delete_word":
            m = _WORD.search(text, pos)
            if m:
                apply(Edit("delete_word", m.start(), m.end(), ""))
        elif kind == "paste_undo":
            src = line_start(rng.randrange(len(text)))
            src_end = src
            for _ in range(50):
                nxt = text.find("\n", src_end)
                src_end = len(text) if nxt < 0 else nxt + 1
            block = text[src:src_end]
            at = line_start(pos)
            apply(Edit("paste_50_lines", at, at, block))
            apply(Edit("undo_paste", at, at + len(block), ""))
        elif kind == "delete_line":
            a = line_start(pos)
            b = text.find("\n", a)
            apply(Edit("delete_line", a, len(text) if b < 0 else b + 1, ""))
        elif kind == "type_korean":
            m = _HANGUL_WORD.search(text, pos) or _HANGUL_WORD.search(text)
            if m:
                at = m.start() + 1
                for ch in rng.choice(KOREAN)[:3]:
                    apply(Edit("type_korean", at, at, ch))
                    at += 1
    return edits


def apply_all(text: str, edits: list[Edit]) -> str:
    for e in edits:
        text = text[: e.start] + e.text + text[e.end :]
    return text
