#!/usr/bin/env bash
# build.sh OUTPUT_DIR
#
# Builds a large image of real content, without a Docker engine: a typical
# unoptimised ML service, as the Dockerfile below (large.Dockerfile) would
# make it. Full debian:bookworm style base, python3 with pip's recommends
# (compilers and headers come along), a venv, then numpy, scipy, pandas,
# scikit-learn and torch from the Python package index with torch's default
# dependencies on linux x86_64: the CUDA 12.6 runtime wheels (nvidia-*) and
# triton. That is what makes real ML images several GB; all versions are
# pinned in app/requirements.txt. pip's cache stays in /root/.cache/pip (the
# naive style; nearly empty if the index's proxy strips the HTTP cache
# headers). Then a tiny app (app/serve.py) and CMD.
#
# Output (OUTPUT_DIR is replaced atomically; a failed build leaves nothing):
#   large.oci/        OCI layout, tag "large", gzip layers
#   large.tar         docker-archive made by skopeo (imgprof/ml-large:latest)
#   large.Dockerfile  the Dockerfile the layers and history correspond to
#   app/              its build context
#
# How: the machinery of xtask/image-lib.sh (shared with
# xtask/real-images/build.sh): mmdebstrap, one umoci layer per Dockerfile
# step with BuildKit style history, skopeo. Needs root, mmdebstrap, umoci,
# skopeo, jq, python3, network access to the host's Debian mirror and Python
# package index (about 4 GB of wheels), and about 25 GB of disk while it
# runs. Checks at the end: the service predicts in the final root fs, and
# check.py (the history against the Dockerfile, the packages, the size).
set -euo pipefail

readonly HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../image-lib.sh
source "$HERE/../image-lib.sh"
image_build_start "$@"

readonly VENV=/opt/venv

build_large() {
    local ctx=$TMP_OUT/app
    mkdir -p "$ctx"
    cp -R --no-preserve=ownership "$HERE/app/." "$ctx/"
    image_from large "$WORK/rootfs-bookworm" 'FROM debian:bookworm'
    RUN apt-get update '&&' apt-get install -y python3 python3-venv python3-pip
    RUN python3 -m venv "$VENV"
    ENV PATH "$VENV/bin:$DEFAULT_PATH" "$VENV/bin:\$PATH"
    WORKDIR /app
    dockerfile 'COPY requirements.txt .'
    COPY_FROM "$ctx" '' . requirements.txt
    RUN pip install -r requirements.txt
    dockerfile 'COPY . .'
    COPY_FROM "$ctx" '' . .
    EXPOSE 8000
    CMD python serve.py
}

# The service answers in the final root fs (not recorded in any layer: the
# bundle is thrown away).
smoke_test() {
    run_in_root "$WORK/large-bundle/rootfs" /app root \
        "python -c 'import scipy, serve, torch; print(\"torch\", torch.__version__, \"scipy\", scipy.__version__, \"predict:\", serve.predict([[1, 2, 3, 4]]))'" \
        "PATH=$VENV/bin:$DEFAULT_PATH"
}

timed "base root fs (mmdebstrap $SUITE minbase)" make_base_rootfs
timed "large image" build_large
timed "smoke test (the service predicts)" smoke_test
timed "large: gc, docker-archive, inspect" finish_image large imgprof/ml-large:latest

safe_rm_tree "$WORK"
timed "check image contents" python3 "$HERE/check.py" "$TMP_OUT"

image_build_publish
