#!/usr/bin/env python3
"""Print the layers of the images made by build.sh and check their contents.

    inspect_image.py OUT_DIR            tables for naive and slim
    inspect_image.py --check OUT_DIR    the same, then fail on any unmet
                                        expectation (build.sh runs this
                                        before it publishes OUT_DIR)

Reads the OCI layouts directly (index.json -> manifest -> config + layer
blobs), so it needs nothing but the standard library.
"""

import fnmatch
import gzip
import json
import os
import sys
import tarfile

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PY = "python3.11"


def blob(layout, digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(layout, "blobs", algo, hexd)


def load_image(layout, tag):
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    desc = next(
        m for m in index["manifests"]
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
    )
    with open(blob(layout, desc["digest"])) as f:
        manifest = json.load(f)
    with open(blob(layout, manifest["config"]["digest"])) as f:
        config = json.load(f)
    return manifest, config


class Layer:
    def __init__(self, layout, desc, created_by):
        self.digest = desc["digest"]
        self.compressed = desc["size"]
        self.created_by = created_by
        self.entries = {}  # normalized path -> TarInfo
        self.file_bytes = 0
        with open(blob(layout, desc["digest"]), "rb") as raw:
            counter = _CountingReader(gzip.GzipFile(fileobj=raw))
            with tarfile.open(fileobj=counter, mode="r|") as tar:
                for ti in tar:
                    name = ti.name
                    while name.startswith("./"):
                        name = name[2:]
                    name = name.lstrip("/").rstrip("/")
                    if not name or name == ".":
                        continue
                    self.entries[name] = ti
                    if ti.isreg():
                        self.file_bytes += ti.size
            # drain the rest of the stream (tar end-of-archive padding)
            while counter.read(1 << 20):
                pass
        self.uncompressed = counter.count

    def matching(self, pattern):
        return [n for n in self.entries if fnmatch.fnmatchcase(n, pattern)]


class _CountingReader:
    def __init__(self, f):
        self.f = f
        self.count = 0

    def read(self, n=-1):
        data = self.f.read(n)
        self.count += len(data)
        return data


def mib(n):
    return f"{n / (1024 * 1024):8.1f} MiB"


def analyse(out_dir, name):
    layout = os.path.join(out_dir, f"{name}.oci")
    manifest, config = load_image(layout, name)
    layer_history = [h for h in config["history"] if not h.get("empty_layer")]
    if len(layer_history) != len(manifest["layers"]):
        raise SystemExit(f"{name}: {len(layer_history)} non-empty history entries "
                         f"but {len(manifest['layers'])} layers")
    layers = [Layer(layout, d, h["created_by"])
              for d, h in zip(manifest["layers"], layer_history)]
    print(f"\n== {name}: {len(layers)} layers, {len(config['history'])} history entries")
    print(f"   {'compressed':>12} {'tar stream':>12} {'file bytes':>12}  created_by")
    for layer in layers:
        print(f"   {mib(layer.compressed)} {mib(layer.uncompressed)} {mib(layer.file_bytes)}"
              f"  {layer.created_by[:100]}")
    print(f"   {mib(sum(l.compressed for l in layers))} {mib(sum(l.uncompressed for l in layers))}"
          f" {mib(sum(l.file_bytes for l in layers))}  TOTAL")
    print("   history:")
    for h in config["history"]:
        print(f"     {'(empty) ' if h.get('empty_layer') else '        '}{h['created_by'][:110]}")
    return manifest, config, layers


# --- expectations -----------------------------------------------------------

class Checker:
    def __init__(self):
        self.failures = []

    def ok(self, cond, what):
        print(f"   [{'ok' if cond else 'FAIL'}] {what}")
        if not cond:
            self.failures.append(what)


def any_layer(layers, pattern):
    return [(i, n) for i, l in enumerate(layers) for n in l.matching(pattern)]


def bytes_under(layers, prefix):
    return sum(ti.size for l in layers for n, ti in l.entries.items()
               if n.startswith(prefix) and ti.isreg())


def dockerfile_final_stage(path):
    lines = []
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.upper().startswith("FROM "):
                lines = []
                continue
            lines.append(line)
    return lines


def history_of(line, env_path):
    """The created_by BuildKit records for a Dockerfile line."""
    instr, _, rest = line.partition(" ")
    instr = instr.upper()
    if instr == "RUN":
        return f"RUN /bin/sh -c {rest} # buildkit"
    if instr == "COPY":
        args = [a for a in rest.split() if not a.startswith("--")]
        return f"COPY {' '.join(args)} # buildkit"
    if instr == "ENV":
        return "ENV " + rest.replace("$PATH", env_path)
    if instr == "EXPOSE":
        return f"EXPOSE map[{rest}/tcp:{{}}]"
    if instr == "CMD":
        return "CMD [" + " ".join(json.dumps(a) for a in json.loads(rest)) + "]"
    return line


def check_history(c, out_dir, name, config):
    df = dockerfile_final_stage(os.path.join(out_dir, f"{name}.Dockerfile"))
    hist = [h["created_by"] for h in config["history"]]
    c.ok(len(hist) == len(df) + 2 and hist[0].startswith("/bin/sh -c #(nop) ADD file:")
         and hist[1] == '/bin/sh -c #(nop)  CMD ["bash"]',
         f"{name}: history = base (ADD, CMD bash) + {len(df)} Dockerfile lines")
    for line, h in zip(df, hist[2:]):
        c.ok(history_of(line, BASE_PATH) == h, f"{name}: {line[:70]!r} -> {h[:70]!r}")


def check(out_dir):
    c = Checker()
    _, config, layers = analyse(out_dir, "naive")
    check_history(c, out_dir, "naive", config)
    dist = f"usr/local/lib/{PY}/dist-packages"
    uv_cache = bytes_under(layers, "root/.cache/uv/")
    pip_cache = bytes_under(layers, "root/.cache/pip/")
    print(f"   /root/.cache/uv: {uv_cache} bytes, /root/.cache/pip: {pip_cache} bytes")
    c.ok(uv_cache > 10 * 1024 * 1024, f"naive: /root/.cache/uv has content ({uv_cache} bytes)")
    c.ok(any_layer(layers, "root/.cache/uv/sdists-v*/*/psycopg2-*.whl"),
         "naive: psycopg2 wheel built from the sdist in uv's cache")
    for pkg in ("fastapi", "pydantic_core", "uvloop", "sqlalchemy"):
        c.ok(any_layer(layers, f"root/.cache/uv/archive-v*/*/{pkg}/__init__.py"),
             f"naive: {pkg} unpacked in uv's cache")
    c.ok(any_layer(layers, "usr/local/bin/uv"), "naive: uv (pip-installed) in /usr/local/bin")
    c.ok(config["config"].get("Env", []).count("UV_LINK_MODE=copy") == 1,
         "naive: ENV UV_LINK_MODE=copy")
    c.ok(any_layer(layers, "usr/include/*.h"), "naive: /usr/include headers")
    c.ok(any_layer(layers, "usr/lib/gcc/x86_64-linux-gnu/12/cc1"), "naive: gcc-12 cc1")
    c.ok(any_layer(layers, "var/lib/apt/lists/*_Packages*"), "naive: /var/lib/apt/lists")
    debs = any_layer(layers, "var/cache/apt/archives/*.deb")
    c.ok(len(debs) > 50, f"naive: /var/cache/apt/archives/*.deb ({len(debs)} files)")
    c.ok(any_layer(layers, "app/.git/HEAD"), "naive: /app/.git")
    c.ok(any_layer(layers, "app/.env"), "naive: /app/.env")
    for pkg in ("fastapi", "pydantic_core", "psycopg2", "sqlalchemy", "uvicorn"):
        c.ok(any_layer(layers, f"{dist}/{pkg}/__init__.py"), f"naive: {dist}/{pkg}")
    # pip compiles what it installs (uv itself); uv does not by default
    c.ok(any_layer(layers, f"{dist}/uv/__pycache__/*.pyc"), "naive: bytecode of pip-installed uv")
    c.ok(any_layer(layers[:-1], "app/models/model.safetensors"), "naive: model in the COPY layer")
    c.ok(layers[-1].matching("app/models/.wh.model.safetensors")
         and layers[-1].matching("app/.wh.tests"),
         "naive: last layer whites out the model and tests/")
    c.ok(config["config"].get("User", "") == "", "naive: no USER (runs as root)")

    _, config, layers = analyse(out_dir, "slim")
    check_history(c, out_dir, "slim", config)
    site = f"opt/venv/lib/{PY}/site-packages"
    for pkg in ("fastapi", "pydantic_core", "psycopg2", "sqlalchemy", "uvicorn"):
        c.ok(any_layer(layers, f"{site}/{pkg}/__init__.py"), f"slim: {site}/{pkg}")
    c.ok(any_layer(layers, "usr/lib/x86_64-linux-gnu/libpq.so.5*"), "slim: libpq5")
    c.ok(any_layer(layers, "app/main.py") and any_layer(layers, "app/requirements.txt"),
         "slim: app code")
    for pattern, what in [
        ("usr/lib/gcc/*", "gcc"), ("usr/bin/gcc*", "gcc driver"),
        ("usr/include/*", "headers"), ("root/.cache/*", "root's caches"),
        ("home/app/.cache/*", "app's caches"), ("var/cache/apt/archives/*.deb", ".debs"),
        ("var/lib/apt/lists/*_Packages*", "apt lists"), ("app/.git*", ".git"),
        ("app/.env", ".env"), ("app/tests*", "tests"), ("app/models*", "model"),
    ]:
        c.ok(not any_layer(layers, pattern), f"slim: no {what}")
    # the slim path-excludes: no regular files left there (symlinks that
    # still resolve stay, as in the official slim image)
    for pattern, what in [("usr/share/doc/*/changelog*", "changelogs"),
                          ("usr/share/man/*", "man pages"), ("usr/share/info/*", "info pages")]:
        found = [n for _, n in any_layer(layers, pattern)
                 if any(l.entries.get(n) is not None and l.entries[n].isreg() for l in layers)]
        c.ok(not found, f"slim: no {what} (slim path-exclude) {found[:3]}")
    c.ok(config["config"].get("User") == "app", "slim: USER app")
    c.ok(f"PATH=/opt/venv/bin:{BASE_PATH}" in config["config"].get("Env", []),
         "slim: PATH has the venv first")

    if c.failures:
        print(f"\n{len(c.failures)} check(s) failed:", *c.failures, sep="\n  ")
        sys.exit(1)
    print("\nall checks passed")


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        check(argv[2])
    elif len(argv) == 2:
        for name in ("naive", "slim"):
            analyse(argv[1], name)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
