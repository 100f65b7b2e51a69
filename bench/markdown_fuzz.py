"""How long one comment's Markdown takes to render, over a fuzz corpus of hostile bodies.

    .venv/bin/python bench/markdown_fuzz.py [--count 600] [--seed 11]

The corpus (made here, deterministically from the seed) holds bodies of 100 characters up to
the body limit (10,000), log-uniform in length: runs and nests of brackets, emphasis, links,
lists, quotes, entities, code spans, raw HTML and line breaks, mixtures of them, and normal
comments. Each body is rendered by `render_markdown` as the service does (with its cost
budget), then by the parser and HTML writer alone (no budget, no nh3), and the CPU time of
each render is recorded. Prints p50, p90, p99 and the maximum per kind, how many bodies the
budget turned into plain text, and whether any normal comment was among them (it must not be);
then the most costly normal comment, and the measured time per estimated cost unit of full
renders (parse, write, nh3) with no budget, whose maximum says whether the estimate bounds
the time from above (about 1 µs a unit).
"""

import argparse
import math
import random
import statistics
import time
from collections.abc import Callable

from service.write.rendering import MARKDOWN, MAX_COST, markdown_cost, render_markdown

BODY_LIMIT = 10_000
ATOMS = [
    "[", "]", "(", ")", "*", "**", "_", "__", "`", "``", "<", ">", "&", "&amp;", "&#", "&#x41;",
    "!", "![", "[a](", "](b)", "\\", "\n", "\n\n", "- ", "1. ", "> ", "#", "  \n", "<a ", "</b>",
    "a", "word ", "http://x.example ", "<http://x.example>", "~", "|", ":", "=", "\t",
]  # fmt: skip
RUNS = [
    "[", "[a", "![", "[a](", "*a", "_a ", "*_", "**a", "&amp;", "&#", "`a``", "<", "<a", "\\",
    "a\n", "a  \n", "1. a\n", "- a\n", "> ", "> - ", "[a]: b\n", "[[[[[[a](b)", "a\n=", ":",
    "<http://a.b> ", "[a](b) ", "`a` ",
]  # fmt: skip
WORDS = [
    "the",
    "a",
    "of",
    "comment",
    "post",
    "reply",
    "think",
    "agree",
    "thanks",
    "really",
    "good",
    "point",
    "but",
    "why",
]


def length(rng: random.Random) -> int:
    return int(math.exp(rng.uniform(math.log(100), math.log(BODY_LIMIT))))


def run(rng: random.Random) -> str:
    unit, size = rng.choice(RUNS), length(rng)
    return (unit * (size // len(unit) + 1))[:size]


def nested(rng: random.Random) -> str:
    depth = rng.randint(1, 2000)
    opener, closer = rng.choice([("[", "]"), ("*", "*"), ("_", "_"), ("[", "](u)"), ("> ", "")])
    return (opener * depth + "x" + closer * depth)[:BODY_LIMIT]


def mixture(rng: random.Random) -> str:
    size = length(rng)
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        parts.append(rng.choice(ATOMS))
    return "".join(parts)[:size]


def normal(rng: random.Random) -> str:
    """What people write: sentences, some emphasis and links, paragraphs, now and then a list,
    a quote or code."""
    size = length(rng)
    text: list[str] = []
    while sum(map(len, text)) < size:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 18)))
        decoration = rng.random()
        if decoration < 0.1:
            sentence += f" *{rng.choice(WORDS)}*"
        elif decoration < 0.15:
            sentence += f" [{rng.choice(WORDS)}](https://example.com/{rng.randint(1, 99)})"
        elif decoration < 0.18:
            sentence += f" `{rng.choice(WORDS)}()`"
        text.append(sentence.capitalize() + ". ")
        if rng.random() < 0.15:
            text.append(rng.choice(["\n\n", "\n\n- one\n- two\n\n", "\n\n> quoted\n\n"]))
    return "".join(text)[:size]


KINDS: dict[str, Callable[[random.Random], str]] = {
    "runs": run,
    "nested": nested,
    "mixture": mixture,
    "normal": normal,
}


def cpu_ms(render: Callable[[str], object], body: str) -> float:
    start = time.process_time()
    render(body)
    return (time.process_time() - start) * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5):6.2f}  p90 {percentile(values, 0.9):6.2f}  "
        f"p99 {percentile(values, 0.99):6.2f}  max {max(values):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=600, help="bodies per kind")
    parser.add_argument("--seed", type=int, default=11)
    arguments = parser.parse_args()
    rng = random.Random(arguments.seed)
    corpus = {kind: [make(rng) for _ in range(arguments.count)] for kind, make in KINDS.items()}
    print(f"{arguments.count} bodies per kind, 100 to {BODY_LIMIT} characters; budget {MAX_COST}")
    served: list[float] = []
    unbounded: list[float] = []
    for kind, bodies in corpus.items():
        with_budget = [cpu_ms(render_markdown, body) for body in bodies]
        alone = [cpu_ms(MARKDOWN.render, body) for body in bodies]
        as_text = sum(markdown_cost(body) > MAX_COST for body in bodies)
        served += with_budget
        unbounded += alone
        print(f"{kind:8s} service      {summary(with_budget)}  plain text: {as_text}")
        print(f"{kind:8s} parser       {summary(alone)}")
        if kind == "normal":
            assert as_text == 0, "a normal comment was turned into plain text"
    print(f"all      service      {summary(served)}")
    print(f"all      parser       {summary(unbounded)}")
    fit = [
        (markdown_cost(body), cpu_ms(lambda body: render_markdown(body, 10**9), body))
        for bodies in corpus.values()
        for body in bodies
    ]
    ratios = [spent * 1000 / cost for cost, spent in fit if cost > 1000]
    normal_cost = max(markdown_cost(body) for body in corpus["normal"])
    print(f"most costly normal comment: {normal_cost} units")
    print(
        f"measured µs per cost unit (cost > 1000): median {statistics.median(ratios):.2f}, "
        f"p99 {percentile(ratios, 0.99):.2f}, max {max(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
