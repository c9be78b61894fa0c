"""A private PostgreSQL server from the installed server binaries (initdb, pg_ctl): throwaway for the tests and
benchmarks, or kept in the data directory for `fengqiao serve --cluster` on one machine.

PostgreSQL refuses to run as root; when the tests run as root (CI does) the server runs as the `postgres`
system user through `runuser`, in a data directory that user owns. It listens on a loopback port only. A throwaway
server runs with fsync off and is deleted when stopped; a kept one (`root=` given) keeps its data and fsync.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

from fengqiao.ports import free_port


def find_binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} is not installed (make test installs it: apt-get install postgresql)"
        )
    return found


class PostgresServer:
    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.keep = root is not None
        self.root = root or Path(tempfile.mkdtemp(prefix="fengqiao-pg-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.user = "postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            pwd.getpwnam("postgres")  # KeyError: no such user, and PostgreSQL cannot run as root
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        os.chmod(self.root, 0o700)

    def _run(self, *argv: str) -> None:
        subprocess.run(
            self._as + list(argv),
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            timeout=120,
        )

    def start(self) -> PostgresServer:
        if not (self.data / "PG_VERSION").is_file():
            self._run(
                find_binary("initdb"),
                "-D",
                str(self.data),
                "-U",
                self.user,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
        durability = "" if self.keep else "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 {durability}-c max_connections=200"
        )
        try:
            self._run(
                find_binary("pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.log),
                "-w",
                "-t",
                "60",
                "start",
            )
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(
                f"PostgreSQL did not start: {self.log.read_text(errors='replace')[-2000:]}"
            ) from exc
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").is_file():
                self._run(
                    find_binary("pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "fast" if self.keep else "immediate",
                    "-w",
                    "stop",
                )
        finally:
            if not self.keep:
                shutil.rmtree(self.root, ignore_errors=True)

    def ensure_database(self, name: str) -> str:
        """The URL of database `name`, created if it does not exist yet."""
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    def admin_url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
