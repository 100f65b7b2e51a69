"""What every command's grammar is made of: a subcommand whose --help says what it does, the
settings it reads and an example. Each command group's module declares its own subcommands with
it (parsing.py gathers them)."""

import argparse
from collections.abc import Sequence

DATABASE = (
    "DATABASE_URL: the PostgreSQL to use (unset: an embedded one under THREADLOG_DATA_DIR, "
    "default .threadlog)"
)


def command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    name: str,
    what: str,
    reads: Sequence[str],
    examples: Sequence[str],
) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does, the settings it reads and an example."""
    epilog = "reads:\n" + "\n".join(f"  {setting}" for setting in reads)
    epilog += "\nexample:\n" + "\n".join(f"  {example}" for example in examples)
    return commands.add_parser(
        name,
        help=what,
        description=what,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
