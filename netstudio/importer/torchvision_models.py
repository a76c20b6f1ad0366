"""torchvision's models, also beside a torch without torchvision's compiled operators.

The torchvision wheels on PyPI are CUDA builds.  Beside the CPU build of torch,
``import torchvision`` fails while registering meta kernels for its detection
operators (``torchvision::nms does not exist``), yet its classification models
are plain ``torch.nn`` code that needs none of them.  So when that one
registration fails, torchvision is imported again without it; models that call
those operators (detection heads) still fail, with their own message, when run.
"""

from __future__ import annotations

import importlib
import sys
import types


def import_torchvision_module(name: str = "torchvision.models"):
    """``importlib.import_module(name)`` for a torchvision module, working around missing compiled ops."""
    try:
        return importlib.import_module(name)
    except RuntimeError as err:
        if "torchvision::" not in str(err):
            raise
    for loaded in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[loaded]
    sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
    return importlib.import_module(name)
