"""The Space: type English, read its translation, see where the model hesitated, share the link.

    python app.py                       # http://0.0.0.0:7860 with the bundled model
    python app.py --model PATH --models default,hf://owner/repo --port 8080 --share

The page is built in space/ (layout, handlers, views) over the `model` package, in the language pair
of the model it starts with (French with the bundled models; space/wording.py). Models load in
background threads, never while a visitor waits: `main()` starts them before the server listens,
and the module-level `demo` (built from MODEL_SOURCE / MODEL_SOURCES without loading anything)
starts them on its first request. A request for a model that is still loading, or whose server does
not answer, gets a clear error at once, and every other model keeps serving.
"""

from __future__ import annotations

import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter is noise here

from space import LAUNCH_OPTIONS, build_demo  # noqa: E402
from space.settings import handlers_from, parse_args  # noqa: E402

handlers = handlers_from()
demo = build_demo(handlers)


def main(argv=None) -> None:
    global demo, handlers
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.model is not None or args.models is not None or args.vocab_data is not None:
        handlers = handlers_from(args.model, args.models, args.vocab_data)
        demo = build_demo(handlers)
    # Load in the background so the server starts listening at once; a request that arrives before
    # its model has loaded gets a "still loading" error instead of holding a worker.
    handlers.registry.start()
    demo.launch(server_name=args.host, server_port=args.port, share=args.share or None,
                mcp_server=args.mcp or None, **LAUNCH_OPTIONS)


if __name__ == "__main__":
    main()
