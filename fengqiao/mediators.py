"""`fengqiao mediators …` and `fengqiao precedents publish`: accounts and closed cases, from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.settings import get_settings


def _database():
    from api.db import Database

    db = Database(get_settings().resolved_database_url)
    db.migrate()
    return db


def create_mediator(
    db, username: str, password: str, *, admin: bool = False, display_name: str | None = None
):
    from api.mediation import audit
    from api.models import ROLE_ADMIN, ROLE_MEDIATOR, Mediator
    from api.security import hash_password

    with db.sessions() as session:
        mediator = Mediator(
            username=username,
            display_name=display_name or username,
            password_hash=hash_password(password),
            role=ROLE_ADMIN if admin else ROLE_MEDIATOR,
            active=True,
        )
        session.add(mediator)
        session.flush()
        audit(session, "cli", "mediator.create", username=username, role=mediator.role)
        session.commit()
        return mediator


def add_arguments(sub: argparse._SubParsersAction) -> None:
    mediators = sub.add_parser("mediators", help="mediator accounts").add_subparsers(
        dest="mediators", required=True
    )
    p = mediators.add_parser("create", help="create a mediator (or, with --admin, an administrator)")
    p.add_argument("--username", required=True, help="3-64 letters, digits, '.', '_' or '-'")
    p.add_argument(
        "--password", help="at least 8 characters; omitted: read from the terminal or standard input"
    )
    p.add_argument("--display-name", help="the name residents see, e.g. 张调解员; default: the username")
    p.add_argument(
        "--admin", action="store_true", help="role admin (may create accounts and read the audit log)"
    )
    p.set_defaults(func=cmd_create)
    p = mediators.add_parser("list", help="list the accounts")
    p.set_defaults(func=cmd_list)
    p = mediators.add_parser("set-password", help="set a new password (all logins of the account end)")
    p.add_argument("--username", required=True)
    p.add_argument("--password")
    p.set_defaults(func=cmd_set_password)
    p = mediators.add_parser("disable", help="disable an account (its logins stop working at once)")
    p.add_argument("--username", required=True)
    p.set_defaults(func=cmd_disable)

    precedents = sub.add_parser("precedents", help="closed cases stored as precedents").add_subparsers(
        dest="precedents", required=True
    )
    p = precedents.add_parser("publish", help="add closed cases the knowledge base has not taken in yet")
    p.set_defaults(func=cmd_publish)


def _password(args: argparse.Namespace) -> str | None:
    password = args.password
    if password is None:
        password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        print("the password needs at least 8 characters", file=sys.stderr)
        return None
    return password


def cmd_create(args: argparse.Namespace) -> int:
    import re

    if not re.fullmatch(r"[A-Za-z0-9_.-]{3,64}", args.username):
        print("the username needs 3-64 letters, digits, '.', '_' or '-'", file=sys.stderr)
        return 2
    password = _password(args)
    if password is None:
        return 2
    db = _database()
    try:
        mediator = create_mediator(
            db, args.username, password, admin=args.admin, display_name=args.display_name
        )
    except IntegrityError:
        print(f"username {args.username!r} is already taken", file=sys.stderr)
        return 1
    finally:
        db.engine.dispose()
    print(f"created {mediator.role} {mediator.username} ({mediator.display_name})")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from api.models import Mediator

    db = _database()
    with db.sessions() as session:
        for m in session.scalars(select(Mediator).order_by(Mediator.id)):
            print(f"{m.username:<20} {m.role:<9} {'active' if m.active else 'disabled':<9} {m.display_name}")
    db.engine.dispose()
    return 0


def _update(username: str, **values) -> bool:
    from sqlalchemy import update

    from api.mediation import audit
    from api.models import Mediator, MediatorSession

    db = _database()
    with db.sessions() as session:
        mediator = session.scalar(select(Mediator).where(Mediator.username == username))
        if mediator is None:
            print(f"no mediator {username!r}", file=sys.stderr)
            return False
        for key, value in values.items():
            setattr(mediator, key, value)
        session.execute(
            update(MediatorSession).where(MediatorSession.mediator_id == mediator.id).values(revoked=True)
        )
        audit(session, "cli", "mediator.update", username=username, fields=sorted(values))
        session.commit()
    db.engine.dispose()
    return True


def cmd_set_password(args: argparse.Namespace) -> int:
    from api.security import hash_password

    password = _password(args)
    if password is None:
        return 2
    return 0 if _update(args.username, password_hash=hash_password(password)) else 1


def cmd_disable(args: argparse.Namespace) -> int:
    return 0 if _update(args.username, active=False) else 1


def cmd_publish(args: argparse.Namespace) -> int:
    from api.precedents import PrecedentPublisher

    db = _database()
    result = PrecedentPublisher(db.sessions, get_settings().resolved_kb_dir).publish_pending()
    db.engine.dispose()
    print(f"published {result['published']}, failed {result['failed']}")
    return 0 if not result["failed"] else 1
