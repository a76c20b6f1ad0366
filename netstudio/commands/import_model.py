"""``netstudio import SOURCE OUT.netstudio``: an existing PyTorch model as a project, with its weights.

Exit 0 when the project was written (the parts that became code blocks are
listed on stderr); 2 with one line when nothing could be written.  Importing
your own code is your act, so the code blocks it makes are trusted for you: the
trust record (not the file) remembers them, as if you had said "trust" in the app.
"""

from __future__ import annotations

import sys


def run(args) -> int:
    from ..app_data import trust_store_path
    from ..errors import NetStudioError
    from ..importer import import_source, is_onnx
    from ..serialization import save_project
    from ..trust import TrustStore
    if not args.input and not is_onnx(args.source):   # an ONNX file says its own input shapes
        raise NetStudioError("Give the model's input shape with --input, for example --input 1,3,224,224.")
    result = import_source(args.source, args.input, args.dtype)
    save_project(result.project, args.out, weights=result.weights)
    TrustStore(trust_store_path()).remember(result.project)
    for fallback in result.fallbacks:
        print(f"code block: {fallback.line()}", file=sys.stderr)
    for problem in result.problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(args.out)
    return 0
