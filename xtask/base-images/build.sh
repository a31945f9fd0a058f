#!/usr/bin/env bash
# build.sh OUTPUT_DIR
#
# The base images the end-to-end fixtures (xtask/e2e/apps) are built FROM,
# made locally because no public registry is reachable here. Each is a
# docker-archive tagged with the name Dockerfiles use:
#
#   debian-bookworm.tar       debian:bookworm        mmdebstrap minbase, as
#                                                    debuerreotype makes it
#   debian-bookworm-slim.tar  debian:bookworm-slim   the same, slimified (dpkg
#                                                    path-excludes for docs, man
#                                                    pages, locales)
#   python-3.11.tar           python:3.11            buildpack-deps-like bookworm
#                                                    (compilers, common -dev
#                                                    libraries incl. libpq-dev,
#                                                    git, curl) + Python 3.11
#   python-3.11-slim.tar      python:3.11-slim       slim + Python 3.11
#   node-18.tar               node:18                buildpack-deps-like + Node 18
#   node-18-slim.tar          node:18-slim           slim + Node 18
#
# Python: python.org is not reachable, so CPython is Debian's python3.11
# (3.11.2) with python3-pip and python3-venv, and /usr/local/bin/{python,
# python3,pip,pip3} point at it as the official images' /usr/local install
# has them; the EXTERNALLY-MANAGED marker is removed so that `pip install` as
# root works without PEP 668 errors (it installs into
# /usr/local/lib/python3.11/dist-packages, scripts into /usr/local/bin).
# Building the orig tarball of Debian's source package into /usr/local would
# be closer (one prefix for interpreter and packages) but costs ~10 minutes of
# both cores per variant; what the tests look at (an interpreter the CMD calls,
# pip, headers in the full variant only via python3-dev, site-packages
# contents) is the same. The full variant has python3-dev (the official one
# has its headers under /usr/local/include); the slim one has no headers and
# no compiler, as a source build on python:3.11-slim fails there too.
# Node: nodejs.org is not reachable: Debian's nodejs (18.19) and npm; a `node`
# user (uid 1000) as the official images have.
#
# Trust and package indexes (the bases' job, never the fixtures'): the host's
# CA bundle becomes the system trust store (/usr/local/share/ca-certificates,
# so that update-ca-certificates keeps it, and /etc/ssl/certs), pip's `cert`
# in /etc/pip.conf with the host's pip network settings, NODE_EXTRA_CA_CERTS
# and npm's `cafile` (and the host's npm registry, if it names one) in
# /etc/npmrc. No registry or mirror host is named here: they come from the
# host's apt sources, pip configuration and npm configuration at build time.
set -euo pipefail

readonly HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../image-lib.sh
source "$HERE/../image-lib.sh"
image_build_start "$@"

readonly CA=/etc/ssl/certs/ca-certificates.crt


# The trust store and package-index settings every base gets, written into a
# root fs (both root fs are made before any image, so these are in the first
# layer, as if the distribution shipped them).
host_config() { # ROOT
    local root=$1
    mkdir -p "$root/usr/local/share/ca-certificates" "$root/etc/ssl/certs"
    cp "$HOST_CA_BUNDLE" "$root/usr/local/share/ca-certificates/imgprof-host-ca.crt"
    cp "$HOST_CA_BUNDLE" "$root$CA"
    chmod 0644 "$root/usr/local/share/ca-certificates/imgprof-host-ca.crt" "$root$CA"
    {
        echo '[global]'
        echo "cert = $CA"
        echo 'timeout = 180'
        echo 'disable-pip-version-check = true'
        if [ -f "$WORK/pyconf/pip.conf" ]; then
            grep -v -e '^\[' -e '^disable-pip-version-check' -e '^timeout' "$WORK/pyconf/pip.conf" || true
        fi
    } >"$root/etc/pip.conf"
    {
        echo "cafile=$CA"
        local registry
        registry=$(npm config get registry 2>/dev/null || true)
        [ -z "$registry" ] || echo "registry=$registry"
        local key value
        for key in proxy https-proxy strict-ssl; do
            value=$(npm config get "$key" 2>/dev/null || true)
            case $value in '' | null | undefined) ;; *) echo "$key=$value" ;; esac
        done
    } >"$root/etc/npmrc"
    chmod 0644 "$root/etc/pip.conf" "$root/etc/npmrc"
}

# buildpack-deps:bookworm, the base of the full python and node images:
# curl, scm and the common build dependencies (a subset without the X and
# ImageMagick development stacks, to keep the build short).
readonly BUILDPACK_DEPS='ca-certificates curl gnupg netbase wget procps git openssh-client
 autoconf automake bzip2 dpkg-dev file g++ gcc make patch unzip xz-utils libtool pkg-config
 libbz2-dev libc6-dev libcurl4-openssl-dev libffi-dev libgdbm-dev libglib2.0-dev libgmp-dev
 libjpeg-dev liblzma-dev libncurses5-dev libncursesw5-dev libpng-dev libpq-dev libreadline-dev
 libsqlite3-dev libssl-dev libxml2-dev libxslt1-dev libyaml-dev zlib1g-dev default-libmysqlclient-dev'

debian_image() { # NAME ROOTFS
    image_from "$1" "$2" 'FROM scratch'
}

python_links() {
    # what the official images' /usr/local install provides, pointing at
    # Debian's interpreter; no PEP 668 marker
    RUN rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED '&&' ln -sf /usr/bin/python3.11 /usr/local/bin/python3 \
        '&&' ln -sf python3 /usr/local/bin/python '&&' ln -sf /usr/bin/pip3 /usr/local/bin/pip3 \
        '&&' ln -sf pip3 /usr/local/bin/pip '&&' python --version '&&' pip --version
    ENV LANG C.UTF-8
    ENV PYTHON_VERSION 3.11.2
    CMD python3
}

python_full() {
    image_from python-3.11 "$WORK/rootfs-bookworm" 'FROM debian:bookworm'
    RUN apt-get update '&&' apt-get install -y --no-install-recommends $BUILDPACK_DEPS \
        '&&' rm -rf '/var/lib/apt/lists/*'
    RUN apt-get update '&&' apt-get install -y --no-install-recommends python3.11 python3-pip \
        python3-venv python3-dev python3-setuptools python3-wheel '&&' rm -rf '/var/lib/apt/lists/*'
    python_links
}

python_slim() {
    image_from python-3.11-slim "$WORK/rootfs-bookworm-slim" 'FROM debian:bookworm-slim'
    RUN apt-get update '&&' apt-get install -y --no-install-recommends ca-certificates netbase tzdata \
        python3.11 python3-pip python3-venv '&&' rm -rf '/var/lib/apt/lists/*'
    python_links
}

node_user() {
    RUN groupadd --gid 1000 node '&&' useradd --uid 1000 --gid node --shell /bin/bash --create-home node
}

node_env() {
    ENV NODE_VERSION 18
    ENV NODE_EXTRA_CA_CERTS "$CA"
    ENV NPM_CONFIG_GLOBALCONFIG /etc/npmrc
    RUN node --version '&&' npm --version
    CMD node
}

node_full() {
    image_from node-18 "$WORK/rootfs-bookworm" 'FROM debian:bookworm'
    RUN apt-get update '&&' apt-get install -y --no-install-recommends $BUILDPACK_DEPS \
        '&&' rm -rf '/var/lib/apt/lists/*'
    node_user
    RUN apt-get update '&&' apt-get install -y --no-install-recommends nodejs npm '&&' rm -rf '/var/lib/apt/lists/*'
    node_env
}

node_slim() {
    image_from node-18-slim "$WORK/rootfs-bookworm-slim" 'FROM debian:bookworm-slim'
    node_user
    RUN apt-get update '&&' apt-get install -y --no-install-recommends ca-certificates nodejs npm \
        '&&' rm -rf '/var/lib/apt/lists/*'
    node_env
}

all_bases() {
    debian_image debian-bookworm "$WORK/rootfs-bookworm"
    finish_image debian-bookworm docker.io/library/debian:bookworm
    debian_image debian-bookworm-slim "$WORK/rootfs-bookworm-slim"
    finish_image debian-bookworm-slim docker.io/library/debian:bookworm-slim
}

base_rootfs() {
    make_base_rootfs
    docker_clean "$WORK/rootfs-bookworm"
    host_config "$WORK/rootfs-bookworm"
    make_slim_rootfs
}

timed "base root fs (mmdebstrap $SUITE minbase) + slimify" base_rootfs
timed "debian:bookworm, debian:bookworm-slim" all_bases
timed "python:3.11" python_full
timed "python:3.11: docker-archive" finish_image python-3.11 docker.io/library/python:3.11
timed "python:3.11-slim" python_slim
timed "python:3.11-slim: docker-archive" finish_image python-3.11-slim docker.io/library/python:3.11-slim
timed "node:18" node_full
timed "node:18: docker-archive" finish_image node-18 docker.io/library/node:18
timed "node:18-slim" node_slim
timed "node:18-slim: docker-archive" finish_image node-18-slim docker.io/library/node:18-slim

# only the docker-archives are kept
for name in debian-bookworm debian-bookworm-slim python-3.11 python-3.11-slim node-18 node-18-slim; do
    safe_rm_tree "$TMP_OUT/$name.oci"
done
safe_rm_tree "$WORK"
printf '%s\n' "${TIMINGS[@]}" >"$TMP_OUT/timings.txt"
image_build_publish
