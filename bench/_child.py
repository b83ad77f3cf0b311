"""Child-process entry: ``python -m bench._child module:function '{json kwargs}'`` prints the JSON result."""

from __future__ import annotations

import importlib
import json
import resource
import sys


def main() -> None:
    target, kwargs = sys.argv[1], json.loads(sys.argv[2])
    module, func = target.split(":")
    result = getattr(importlib.import_module(module), func)(**kwargs)
    # ru_maxrss: the whole life of this process (KiB on Linux); the step's own peak comes from the function
    result.setdefault("ru_maxrss_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
