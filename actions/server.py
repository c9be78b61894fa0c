"""The action server: rasa-sdk's own, answering only callers that carry the internal token.

Rasa sends the token as `?token=…` (its action endpoint's `token`); `/health` stays open for the supervisor's
and the balancer's probes and tells nothing. Run as `python -m actions.server --actions actions.actions …`
with the token in `FENGQIAO_INTERNAL_TOKEN` (never on the command line, which every local user can read).
"""

from __future__ import annotations

import hmac
import os

TOKEN_ENV = "FENGQIAO_INTERNAL_TOKEN"
OPEN_PATHS = frozenset({"/health"})


def supplied_token(args, headers) -> str | None:
    token = args.get("token")
    if token:
        return token
    auth = headers.get("authorization") or ""
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def require_token(app, token: str) -> None:
    from sanic import response

    @app.on_request
    async def _check(request):
        if request.path in OPEN_PATHS:
            return None
        supplied = supplied_token(request.args, request.headers)
        if not supplied or not hmac.compare_digest(supplied.encode(), token.encode()):
            return response.json({"error": "the internal token is required"}, status=401)
        return None


def create_guarded_app(action_executor, **kwargs):
    """rasa-sdk's app with the token check. Module-level: Sanic's AppLoader pickles it to build the app again in
    each worker process (a patch applied in the parent would not reach them)."""
    from rasa_sdk.endpoint import create_app_for_serve

    app = create_app_for_serve(action_executor, **kwargs)
    token = os.environ.get(TOKEN_ENV)
    if token:
        require_token(app, token)
    return app


def main() -> None:
    """`python -m rasa_sdk`, with `create_guarded_app` as the app factory (rasa_sdk.endpoint.run otherwise)."""
    import logging
    from functools import partial

    from rasa_sdk import utils
    from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME, DEFAULT_KEEP_ALIVE_TIMEOUT
    from rasa_sdk.endpoint import create_argument_parser, create_ssl_config
    from rasa_sdk.executor import ActionExecutor
    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    args = create_argument_parser().parse_args()
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    executor = ActionExecutor()
    executor.register_package(args.actions_module or args.actions)
    loader = AppLoader(
        factory=partial(
            create_guarded_app,
            executor,
            cors_origins=args.cors,
            auto_reload=args.auto_reload,
            endpoints=args.endpoints,
            keep_alive_timeout=DEFAULT_KEEP_ALIVE_TIMEOUT,
        )
    )
    app = loader.load()
    app.prepare(
        host=os.environ.get("SANIC_HOST", "127.0.0.1"),
        port=args.port,
        ssl=create_ssl_config(args.ssl_certificate, args.ssl_keyfile, args.ssl_password),
        workers=utils.number_of_sanic_workers(),
    )
    Sanic.serve(primary=app, app_loader=loader)


if __name__ == "__main__":
    main()
