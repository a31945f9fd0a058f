#!/usr/bin/env bash
# build.sh OUTPUT_DIR
#
# Builds two realistic container images of the same small FastAPI service,
# from real Debian packages and real Python wheels, without a Docker engine:
#
#   naive  the bloated image the common tutorials start from: full base,
#          compilers and headers left in, apt lists and .debs kept, the whole
#          build context (.git, tests, .env, a 20 MB model) copied before the
#          dependency install (pip installs uv, uv installs the requirements),
#          uv's cache kept, a model "deleted" in a later layer, runs as root.
#   slim   its multi-stage counterpart: debian:bookworm-slim style runtime,
#          a builder stage (not shipped) that builds a venv, only the venv and
#          the app code copied over, non-root user.
#
# Output (OUTPUT_DIR is replaced atomically; a failed build leaves nothing):
#   naive.oci/  naive.tar  naive.Dockerfile   (OCI layout tag "naive",
#   slim.oci/   slim.tar   slim.Dockerfile     docker-archive made by skopeo)
#   app/                                       the build context of COPY . .
#
# How: xtask/image-lib.sh (shared with xtask/large-image/build.sh) has the
# machinery: mmdebstrap for the Debian root fs, umoci for one layer per
# Dockerfile step (unpack, change the rootfs in a chroot, repack), skopeo for
# the docker-archive; each step writes its Dockerfile line and its BuildKit
# style history entry from the same call.
#
# Needs: root (chroot, mounts), mmdebstrap, umoci, skopeo, git, openssl, jq,
# python3 (host: apt sources, final checks), network access to the Debian
# mirror and the Python package index this host is configured for. No
# registry host is named here: the Debian mirrors and suites come from the
# host's apt sources (see host_apt_sources in image-lib.sh), the Python index
# from the ordinary pip/uv configuration of the host (see run_in_root). All
# inputs live next to this script (app/, inspect_image.py).
set -euo pipefail

readonly HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../image-lib.sh
source "$HERE/../image-lib.sh"
image_build_start "$@"
require_tools git openssl

# ---------------------------------------------------------------------------
# The build context: app/ from this directory, plus what a real checkout has
# that must not go into an image: a git history, a .env with a (fake) secret,
# and a model file. Generated so that reruns give the same content.

make_context() {
    local ctx=$TMP_OUT/app
    mkdir -p "$ctx"
    cp -R --no-preserve=ownership "$HERE/app/." "$ctx/"

    # Git history of the app, with fixed identity and dates (same commit ids
    # on every run); the host's git config is ignored.
    (
        cd "$ctx"
        export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
        export GIT_AUTHOR_NAME="Dev Eloper" GIT_AUTHOR_EMAIL=dev@example.com
        export GIT_COMMITTER_NAME="Dev Eloper" GIT_COMMITTER_EMAIL=dev@example.com
        commit() {
            GIT_AUTHOR_DATE="$1" GIT_COMMITTER_DATE="$1" git commit -q -m "$2"
        }
        git -c init.defaultBranch=main init -q .
        git add .gitignore README.md main.py requirements.txt
        commit 2025-03-01T10:00:00Z "Initial FastAPI service"
        git add tests
        commit 2025-03-02T11:30:00Z "Add tests"
        printf '\nRun the tests with `pytest`.\n' >>README.md
        git add README.md
        commit 2025-03-03T09:15:00Z "Document how to run the tests"
    )

    # .env: gitignored, but there is no .dockerignore, so COPY . . ships it.
    cat >"$ctx/.env" <<'EOF'
DATABASE_URL=postgres://app:notarealpassword@db/app
SECRET_KEY=not-a-real-secret-0123456789abcdef
EOF

    # A 20 MiB "model": a valid safetensors header followed by pseudo-random
    # bytes (AES-CTR keystream over zeros: deterministic and incompressible).
    mkdir -p "$ctx/models"
    local n=$((20 * 1024 * 1024))
    local header='{"__metadata__":{"format":"pt"},"weight":{"dtype":"F32","shape":[5242880],"data_offsets":[0,20971520]}}'
    {
        python3 -c 'import struct,sys; h=sys.argv[1].encode(); sys.stdout.buffer.write(struct.pack("<Q", len(h)) + h)' "$header"
        head -c "$n" /dev/zero |
            openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 00000000000000000000000000000000
    } >"$ctx/models/model.safetensors"
}

# ---------------------------------------------------------------------------
# The slim base root fs: image-lib.sh's make_slim_rootfs (debuerreotype's
# slimify), plus docker-clean.
make_real_slim_rootfs() {
    make_slim_rootfs
    # The official images also delete the .debs apt downloads (docker-clean).
    # The slim recipe gets it; the naive base deliberately does not, so its
    # RUN apt-get install layers keep /var/cache/apt/archives/*.deb and
    # pkgcache.bin, the worst case seen in many real images.
    docker_clean "$WORK/rootfs-bookworm-slim"
}

# ---------------------------------------------------------------------------
# The naive image.

build_naive() {
    local ctx=$TMP_OUT/app
    image_from naive "$WORK/rootfs-bookworm" 'FROM debian:bookworm'
    RUN apt-get update '&&' apt-get install -y python3 python3-pip python3-venv build-essential python3-dev libpq-dev git curl
    WORKDIR /app
    # uv's Docker guide: copy from its cache instead of hard-linking (the
    # cache would otherwise share inodes with the installed files).
    ENV UV_LINK_MODE copy
    dockerfile 'COPY . .'
    COPY_FROM "$ctx" '' . .
    # The modern tutorial install: pip installs uv, uv installs the
    # requirements into the system python. Bookworm refuses installs into
    # the system python (PEP 668); --break-system-packages is what people add
    # when they hit that error. No --no-cache: uv keeps every archive it
    # fetched and the psycopg2 wheel it built from the sdist in
    # /root/.cache/uv. (pip's own HTTP cache would stay nearly empty here: the
    # package proxy of this machine strips the HTTP cache headers; uv caches
    # regardless.)
    RUN pip install --break-system-packages uv '&&' uv pip install --system --break-system-packages -r requirements.txt
    RUN apt-get install -y vim
    RUN rm -rf models/model.safetensors tests
    ENV PYTHONUNBUFFERED 1
    EXPOSE 8000
    CMD uvicorn main:app --host 0.0.0.0 --port 8000
}

# ---------------------------------------------------------------------------
# The slim image: builder stage in a plain chroot (not part of the image),
# runtime stage as an image.

readonly BUILDER_PACKAGES='build-essential python3-dev python3-venv libpq-dev'
build_slim() {
    local ctx=$TMP_OUT/app builder=$WORK/builder-rootfs
    DOCKERFILE=$TMP_OUT/slim.Dockerfile
    cat >"$DOCKERFILE" <<EOF
# syntax=docker/dockerfile:1

# --- builder: compilers and headers live only here ---
FROM debian:bookworm-slim AS builder
RUN apt-get update && apt-get install -y --no-install-recommends $BUILDER_PACKAGES
WORKDIR /app
COPY requirements.txt .
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt

# --- runtime ---
EOF
    cp -a "$WORK/rootfs-bookworm-slim" "$builder"
    log "builder: RUN apt-get ..."
    run_in_root "$builder" / root "apt-get update && apt-get install -y --no-install-recommends $BUILDER_PACKAGES"
    mkdir -p "$builder/app"
    cp "$ctx/requirements.txt" "$builder/app/"
    log "builder: RUN python3 -m venv ... pip install"
    run_in_root "$builder" /app root "python3 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt"

    image_from slim "$WORK/rootfs-bookworm-slim" 'FROM debian:bookworm-slim'
    RUN apt-get update '&&' apt-get install -y --no-install-recommends python3 libpq5 '&&' rm -rf '/var/lib/apt/lists/*'
    RUN useradd --create-home --shell /usr/sbin/nologin --uid 10001 app
    WORKDIR /app
    dockerfile 'COPY --from=builder /opt/venv /opt/venv'
    COPY_FROM "$builder" '' /opt/venv /opt/venv
    dockerfile 'COPY --chown=app:app main.py requirements.txt ./'
    COPY_FROM "$ctx" app:app ./ main.py requirements.txt
    ENV PATH "/opt/venv/bin:$DEFAULT_PATH" '/opt/venv/bin:$PATH'
    USER app
    EXPOSE 8000
    CMD uvicorn main:app --host 0.0.0.0 --port 8000
}

# ---------------------------------------------------------------------------
# Checks: the service imports in each final root fs (not recorded in any
# layer: the bundles are thrown away), then the images' contents.

smoke_test() {
    local imports='import main, fastapi, pydantic_core, psycopg2, sqlalchemy, uvicorn, uvloop; print("imports ok:", psycopg2.__version__)'
    run_in_root "$WORK/naive-bundle/rootfs" /app root "python3 -c '$imports'"
    run_in_root "$WORK/slim-bundle/rootfs" /app app:app "python -c '$imports' && uvicorn --version" \
        "PATH=/opt/venv/bin:$DEFAULT_PATH"
}

# ---------------------------------------------------------------------------

timed "build context (app/)" make_context
timed "base root fs (mmdebstrap $SUITE minbase)" make_base_rootfs
timed "slim base root fs (slimify)" make_real_slim_rootfs
timed "naive image" build_naive
timed "slim image (builder stage + runtime)" build_slim
timed "smoke test (imports in both root fs)" smoke_test
timed "naive: gc, docker-archive, inspect" finish_image naive imgprof/fastapi-naive:latest
timed "slim: gc, docker-archive, inspect" finish_image slim imgprof/fastapi-slim:latest

safe_rm_tree "$WORK"
timed "check image contents" python3 "$HERE/inspect_image.py" --check "$TMP_OUT"

image_build_publish
