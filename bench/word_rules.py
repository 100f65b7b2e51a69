"""What reading word rules as readers see them costs a new comment, next to rendering it.

Word rules now fold the text (NFKC, case folding, format characters removed) and also read
the rendered HTML's visible text. This measures, on one process, the CPU time of the word
checks per comment the old way (the Markdown source and the name, as written) and the new
way, and of rendering the comment's Markdown, which every comment pays anyway; it prints the
ratios. Run from the repository: .venv/bin/python -m bench.word_rules [--comments 2000]
[--words 500]
"""

import argparse
import re
import time
from functools import lru_cache

from service.domain.policy import first_match, readable
from service.write.rendering import render_markdown

PARAGRAPH = (
    "I *really* liked this post about [event sourcing](https://example.org/es); "
    "the part on `xid8` cursors made it click. Thanks &amp; more please!\n\n"
)


@lru_cache(maxsize=4096)
def old_pattern(word: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in word.strip().split("*")]
    return re.compile(r"(?<!\w)" + r"\w*".join(parts) + r"(?!\w)", re.IGNORECASE)


def old_first_match(words: tuple[str, ...], *texts: str) -> str | None:
    """The check before this change: the source as written, case-insensitive."""
    for word in words:
        pattern = old_pattern(word)
        if any(pattern.search(text) for text in texts):
            return word
    return None


def cpu(function: object, rounds: int) -> float:
    start = time.process_time()
    for _ in range(rounds):
        function()  # type: ignore[operator]
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--words", type=int, default=500)
    arguments = parser.parse_args()
    words = tuple(f"word{number}*" for number in range(arguments.words))
    body = PARAGRAPH * 4
    html = render_markdown(body)
    old_first_match(words, body, "Ann")  # compile and cache the patterns once, as both do
    first_match(words, *readable(body, html, "Ann"))
    rounds = arguments.comments
    render = cpu(lambda: render_markdown(body), rounds)
    old = cpu(lambda: old_first_match(words, body, "Ann"), rounds)
    new = cpu(lambda: first_match(words, *readable(body, html, "Ann")), rounds)
    print(f"{rounds} comments of {len(body)} characters, {len(words)} banned words")
    print(f"word checks, new / old:            {new / old:.2f}")
    print(f"word checks (new) / Markdown render: {new / render:.2f}")
    print(f"word checks (old) / Markdown render: {old / render:.2f}")


if __name__ == "__main__":
    main()
