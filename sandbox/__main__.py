"""``python -m sandbox [--port N] [--inbox-url URL] [--demo]`` serves the sandboxes;
``python -m sandbox seed --inbox URL --sandbox URL`` seeds the demo through the inbox's public paths."""
from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["seed"]:
        from .demo import main as seed_main

        return seed_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Serve the provider sandboxes.")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--inbox-url", help="the inbox's URL, shown on the sandbox page")
    parser.add_argument("--demo", action="store_true", help="produce an item every 45 s on a random sandbox")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="sandbox: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from werkzeug.serving import make_server

    from .app import create_app

    server = make_server(args.host, args.port, create_app(demo=args.demo, inbox_url=args.inbox_url), threaded=True)
    print(f"Sandboxes serving on http://{args.host}:{args.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
