"""A throwaway PostgreSQL server for tests, from the installed server binaries (initdb, pg_ctl).

PostgreSQL refuses to run as root; when the tests run as root (CI does) the server runs as the `postgres`
system user through `runuser`, in a data directory that user owns. It listens on a free loopback port only, with
fsync off (throwaway data), and is stopped and deleted at the end.
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
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                       None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (make test installs it: apt-get install postgresql)")
    return found


class PostgresServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="fengqiao-pg-"))
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
        subprocess.run(self._as + list(argv), check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       cwd=self.root, timeout=120)

    def start(self) -> PostgresServer:
        self._run(find_binary("initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        try:
            self._run(find_binary("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t",
                      "60", "start")
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"PostgreSQL did not start: {self.log.read_text(errors='replace')[-2000:]}") from exc
        return self

    def stop(self) -> None:
        try:
            if self.data.is_dir():
                self._run(find_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

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
