#!/usr/bin/env python3
"""Print the layers of the large image made by build.sh and check its contents.

    check.py OUT_DIR

Uses the layer reader and history checks of ../real-images/inspect_image.py
(standard library only). Fails on any unmet expectation; build.sh runs it
before it publishes OUT_DIR.
"""

import os
import sys

# no __pycache__ in the recipe directory (it is part of its cache key)
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "real-images"))
from inspect_image import BASE_PATH, PY, Checker, any_layer, analyse, bytes_under, check_history  # noqa: E402

GIB = 1024**3


def normalize(name):
    return name.lower().replace("-", "_").replace(".", "_")


def requirements(path):
    """(name, version) of each NAME==VERSION line."""
    with open(path) as f:
        lines = [line.split("#", 1)[0].strip() for line in f]
    return [tuple(line.split("==", 1)) for line in lines if line]


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    out_dir = argv[1]
    c = Checker()
    _, config, layers = analyse(out_dir, "large")
    check_history(c, out_dir, "large", config)
    site = f"opt/venv/lib/{PY}/site-packages"
    for pkg in ("numpy", "scipy", "pandas", "sklearn", "torch", "triton"):
        c.ok(any_layer(layers, f"{site}/{pkg}/__init__.py"), f"large: {site}/{pkg}")
    for lib in ("cublas/lib/libcublas.so.*", "cudnn/lib/libcudnn.so.*", "nccl/lib/libnccl.so.*"):
        c.ok(any_layer(layers, f"{site}/nvidia/{lib}"), f"large: {site}/nvidia/{lib}")
    # every pinned requirement installed, at its version
    installed = {normalize(n.split("/")[-1][: -len(".dist-info")])
                 for _, n in any_layer(layers, f"{site}/*.dist-info")}
    for name, version in requirements(os.path.join(out_dir, "app", "requirements.txt")):
        c.ok(normalize(f"{name}-{version}") in installed, f"large: {name}=={version} installed")
    c.ok(any_layer(layers, "usr/lib/gcc/x86_64-linux-gnu/12/cc1"), "large: gcc (pip's recommends)")
    c.ok(any_layer(layers, "app/serve.py") and any_layer(layers, "app/requirements.txt"), "large: app")
    total = sum(layer.uncompressed for layer in layers)
    c.ok(3 * GIB < total < 10 * GIB, f"large: {total / GIB:.2f} GiB uncompressed (3-10 GiB)")
    files = sum(1 for layer in layers for ti in layer.entries.values() if ti.isreg())
    print(f"   regular files: {files}, /root/.cache/pip: {bytes_under(layers, 'root/.cache/pip/')} bytes")
    c.ok(f"PATH=/opt/venv/bin:{BASE_PATH}" in config["config"].get("Env", []), "large: PATH has the venv first")
    c.ok(config["config"].get("Cmd") == ["python", "serve.py"], "large: CMD python serve.py")
    if c.failures:
        print(f"\n{len(c.failures)} check(s) failed:", *c.failures, sep="\n  ")
        sys.exit(1)
    print("\nall checks passed")


if __name__ == "__main__":
    main(sys.argv)
