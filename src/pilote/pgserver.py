"""A throwaway PostgreSQL server on a Unix socket, for the tests and the benchmarks (never production)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
SERVER_OPTIONS = "-c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def find_bin() -> Path | None:
    """PostgreSQL's server programs: $PILOTE_PG_BIN, else Debian's usual places."""
    for candidate in (os.environ.get("PILOTE_PG_BIN", ""), *BIN_CANDIDATES):
        if candidate and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def free_port() -> int:
    """A TCP port of the loopback interface that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def running(bin_dir: Path, *, durable: bool = False, root: Path | None = None) -> Iterator[str]:
    """Start a server in a fresh folder; yields a URL template with `{}` for the database name. With `root`,
    the server's files live there and stay after it stops, and a server found there is started again."""
    keep = root is not None
    root = root or Path(tempfile.mkdtemp(prefix="pilote-pg-"))  # outside pytest's folder, which `postgres` can't enter
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        root.chmod(0o755)
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    options = f"-k {sockets} -p {port} " + ("-c listen_addresses=''" if durable else SERVER_OPTIONS)
    pg_ctl = str(bin_dir / "pg_ctl")
    if keep and (data / "postmaster.pid").exists():  # stopping it on our way out would stop another's server
        raise RuntimeError(f"a PostgreSQL server already runs on {data} (or was killed: remove its postmaster.pid)")
    try:
        if not (data / "PG_VERSION").exists():
            subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                         "-E", "UTF8", "--no-locale"]), check=True, capture_output=True)  # fmt: skip
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-o", options, "-w", "-l", str(root / "server.log"),
                                     "start"]), check=True, capture_output=True)  # fmt: skip
        yield f"postgresql+psycopg://postgres@/{{}}?host={sockets}&port={port}"
    finally:
        # A kept server stops cleanly: without fsync, only a clean stop leaves its files whole.
        subprocess.run(_as_postgres([pg_ctl, "-D", str(data), "-m", "fast" if keep else "immediate", "stop"]),
                       capture_output=True)  # fmt: skip
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def create_database(url_template: str, name: str, template: str | None = None) -> str:
    """Create a database (optionally from a template database); returns its URL."""
    admin = create_engine(url_template.format("postgres"), isolation_level="AUTOCOMMIT")
    suffix = f" TEMPLATE {template}" if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    admin.dispose()
    return url_template.format(name)


def drop_database(url_template: str, name: str) -> None:
    """Drop a database, closing whatever still uses it."""
    admin = create_engine(url_template.format("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
