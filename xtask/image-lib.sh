# image-lib.sh: the machinery shared by the image recipes that build real
# container images without a Docker engine (xtask/real-images/build.sh,
# xtask/large-image/build.sh). Sourced, not run:
#
#   source "$HERE/../image-lib.sh"
#   image_build_start "$@"          # OUTPUT_DIR; sets OUT, TMP_OUT, WORK
#   require_tools git ...           # what the recipe needs beyond the below
#   timed "base root fs" make_base_rootfs   # $WORK/rootfs-bookworm
#   image_from NAME ROOTFS 'FROM ...'; RUN ...; COPY_FROM ...; CMD ...
#   finish_image NAME REPO:TAG      # gc, docker-archive NAME.tar, inspect
#   safe_rm_tree "$WORK"; image_build_publish
#
# How: mmdebstrap makes the Debian root fs; umoci turns it into an OCI image
# and records one layer per Dockerfile step (unpack, change the rootfs in a
# chroot, repack); skopeo converts to a docker-archive. Each step writes its
# Dockerfile line and its history entry from the same call, so the Dockerfile
# and the image history match line by line; history strings are the ones
# BuildKit writes ("RUN /bin/sh -c ... # buildkit", "COPY . . # buildkit",
# "WORKDIR /app", ...), and the base layers carry the legacy-builder history
# of the official debian images ("/bin/sh -c #(nop) ADD file:... in / ").
#
# Needs: root (chroot, mounts), mmdebstrap, umoci, skopeo, jq, python3 (host:
# apt sources), network access to the Debian mirror and the Python package
# index this host is configured for. No registry host is named here: the
# Debian mirrors and suites come from the host's apt sources (see
# host_apt_sources), the Python index from the ordinary pip/uv configuration
# of the host (see python_index_config, run_in_root).

readonly SUITE=bookworm
# The host's apt sources (deb822 *.sources and one-line *.list files): the
# mirrors of $SUITE, $SUITE-updates and $SUITE-security are taken from there.
readonly HOST_APT_SOURCES_DIR="${HOST_APT_SOURCES_DIR:-/etc/apt/sources.list.d}"
readonly HOST_APT_SOURCES_LIST="${HOST_APT_SOURCES_LIST:-/etc/apt/sources.list}"
# Fixed timestamp for mmdebstrap (reproducible base root fs) and for the
# history entries of the base layers, like the official images have.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-1747699200}"
readonly BASE_CREATED="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
# The PATH of the official debian images (config Env) and of RUN steps.
readonly DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The host's CA bundle: HTTPS may go through an intercepting proxy whose CA
# only the host trusts. It is mounted into the chroot for the duration of a
# RUN (on a tmpfs /run) and never ends up in a layer.
readonly HOST_CA_BUNDLE="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
readonly BUILDKIT_COMMENT=buildkit.dockerfile.v0

START=$SECONDS
TIMINGS=()
log() { printf '==> [%4ds] %s\n' $((SECONDS - START)) "$*" >&2; }
# timed LABEL CMD...: run CMD and remember how long it took
timed() {
    local label=$1 t0=$SECONDS
    shift
    log "$label"
    "$@"
    TIMINGS+=("$(printf '%5ds  %s' $((SECONDS - t0)) "$label")")
}

require_tools() { # TOOL...
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
    done
}

# ---------------------------------------------------------------------------
# Mounts and cleanup. A RUN step bind-mounts the host's /dev into a chroot:
# never rm -rf a tree that still has mounts in it (--one-file-system is a
# second guard).

MOUNTS=()
do_mount() {
    mount "$@"
    MOUNTS+=("${!#}")
}
unmount_all() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[i]}" || umount -l "${MOUNTS[i]}"
    done
    MOUNTS=()
}
mounts_under() { findmnt -rn -o TARGET | grep -F -- "$1/" || true; }
safe_rm_tree() {
    if [ -n "$(mounts_under "$1")" ]; then
        echo "refusing to delete $1, it still has mounts:" >&2
        mounts_under "$1" >&2
        return 1
    fi
    rm -rf --one-file-system -- "$1"
}
cleanup() {
    local rc=$?
    unmount_all || true
    if [ "$rc" -ne 0 ] && [ -e "$TMP_OUT" ]; then
        if [ -n "${KEEP_FAILED:-}" ]; then
            echo "build failed (exit $rc); KEEP_FAILED set, left $TMP_OUT" >&2
        else
            safe_rm_tree "$TMP_OUT" && echo "build failed (exit $rc); removed $TMP_OUT" >&2
        fi
    fi
    exit "$rc"
}

# image_build_start OUTPUT_DIR: checks, traps, a fresh $TMP_OUT/.work and the
# Python index settings. OUT is replaced atomically by image_build_publish; a
# failed or interrupted build leaves nothing (KEEP_FAILED=1 keeps OUT.tmp).
image_build_start() {
    if [ $# -ne 1 ]; then
        echo "usage: $0 OUTPUT_DIR" >&2
        exit 2
    fi
    declare -gr OUT="$(realpath -m -- "$1")"
    declare -gr TMP_OUT="$OUT.tmp"   # everything is built here, renamed at the end
    declare -gr WORK="$TMP_OUT/.work" # intermediate root filesystems and bundles
    require_tools mmdebstrap umoci skopeo jq python3 chroot mount
    [ "$(id -u)" -eq 0 ] || { echo "must run as root (chroot and mounts)" >&2; exit 1; }
    [ -r "$HOST_CA_BUNDLE" ] || { echo "missing CA bundle $HOST_CA_BUNDLE" >&2; exit 1; }
    trap cleanup EXIT
    trap 'exit 130' INT TERM HUP # so that cleanup runs on Ctrl-C / kill too
    if [ -e "$TMP_OUT" ]; then
        log "removing leftovers of an earlier run: $TMP_OUT"
        safe_rm_tree "$TMP_OUT"
    fi
    mkdir -p "$WORK"
    python_index_config "$WORK/pyconf"
}

# image_build_publish: $TMP_OUT becomes $OUT; prints the timings.
image_build_publish() {
    if [ -e "$OUT" ]; then
        safe_rm_tree "$OUT"
    fi
    mv "$TMP_OUT" "$OUT"
    log "done: $OUT"
    printf '%s\n' "timings:" "${TIMINGS[@]}" "$(printf '%5ds  total' $((SECONDS - START)))" >&2
}

# ---------------------------------------------------------------------------
# The base root filesystem, made the way debuerreotype makes debian:bookworm
# (minbase).

# host_apt_sources FILE: the host's apt entries for $SUITE, $SUITE-updates
# and $SUITE-security (binary, enabled), as a deb822 file without comments,
# like the debian.sources of the official image. Fails unless all three
# suites are there.
host_apt_sources() {
    python3 - "$1" "$SUITE" "$HOST_APT_SOURCES_LIST" "$HOST_APT_SOURCES_DIR" <<'EOF'
import glob, os, sys

out, suite, one_line_file, parts = sys.argv[1:]
wanted = [suite, f"{suite}-updates", f"{suite}-security"]
entries = []  # (uris, suites, components, signed_by)

def deb822(path):
    with open(path) as f:
        text = f.read()
    stanzas, fields, key = [], {}, None
    for line in text.splitlines() + [""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if fields:
                stanzas.append(fields)
            fields, key = {}, None
        elif line[0] in " \t" and key:
            fields[key] += " " + line.strip()
        else:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
    for st in stanzas:
        if st.get("enabled", "yes").lower() == "no" or "deb" not in st.get("types", "").split():
            continue
        entries.append((st.get("uris", "").split(), st.get("suites", "").split(),
                        st.get("components", "").split(), st.get("signed-by", "")))

def one_line(path):
    with open(path) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if not words or words[0] != "deb":
                continue
            words, signed_by = words[1:], ""
            if words and words[0].startswith("["):
                opts = []
                while words:
                    w = words.pop(0)
                    opts.append(w)
                    if w.endswith("]"):
                        break
                for o in " ".join(opts).strip("[] ").split():
                    if o.startswith("signed-by="):
                        signed_by = o.split("=", 1)[1]
            if len(words) >= 2:
                entries.append(([words[0]], [words[1]], words[2:], signed_by))

if os.path.isfile(one_line_file):
    one_line(one_line_file)
for path in sorted(glob.glob(os.path.join(parts, "*.list"))):
    one_line(path)
for path in sorted(glob.glob(os.path.join(parts, "*.sources"))):
    deb822(path)

stanzas, covered = [], set()
for uris, suites, components, signed_by in entries:
    suites = [s for s in suites if s in wanted and s not in covered]
    if not uris or not suites:
        continue
    covered.update(suites)
    if "main" not in components:
        sys.exit(f"host apt sources: {' '.join(suites)} without the main component")
    st = [f"Types: deb", f"URIs: {' '.join(uris)}", f"Suites: {' '.join(suites)}",
          f"Components: {' '.join(components)}"]
    st.append(f"Signed-By: {signed_by or '/usr/share/keyrings/debian-archive-keyring.gpg'}")
    stanzas.append("\n".join(st) + "\n")
missing = [s for s in wanted if s not in covered]
if missing:
    sys.exit(f"host apt sources ({one_line_file}, {parts}): no entry for {' '.join(missing)}")
with open(out, "w") as f:
    f.write("\n".join(stanzas))
EOF
}

write_sources() { # ROOT: the deb822 sources derived from the host's
    rm -f "$1/etc/apt/sources.list" "$1"/etc/apt/sources.list.d/*
    cp "$WORK/debian.sources" "$1/etc/apt/sources.list.d/debian.sources"
    chmod 0644 "$1/etc/apt/sources.list.d/debian.sources"
}

# debuerreotype-minimizing-config, minus docker-clean: the official images
# delete the .debs apt downloads; a naive base here deliberately keeps them
# (a recipe that wants the official behaviour adds docker-clean itself).
write_minimizing_config() {
    local root=$1
    echo 'force-unsafe-io' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
    echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
    echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
    echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 0755 "$root/usr/sbin/policy-rc.d"
}

make_base_rootfs() {
    local root=$WORK/rootfs-bookworm
    # merged-usr hook: set up the /usr merge like debootstrap does, instead of
    # installing the usrmerge package (which drags perl into the base).
    host_apt_sources "$WORK/debian.sources"
    # a MIRROR argument naming a *.sources file is read as deb822 sources
    mmdebstrap --mode=root --variant=minbase \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
        "$SUITE" "$root" "$WORK/debian.sources"
    write_sources "$root"
    write_minimizing_config "$root"
    # What the official image leaves out: the container runtime provides
    # /dev, resolv.conf and hostname; apt lists and caches are emptied.
    rm -rf "${root:?}"/dev/* "$root/etc/resolv.conf" "$root/etc/hostname"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
    rm -f "$root"/var/cache/apt/archives/*.deb
    mkdir -p "$root/var/lib/apt/lists/partial"
}


# ---------------------------------------------------------------------------
# The Python package index: whatever pip and uv use on this host through
# their ordinary configuration -- PIP_* / UV_* variables and pip's config
# files (/etc/xdg/pip/pip.conf, /etc/pip.conf, ~/.pip/pip.conf,
# ~/.config/pip/pip.conf, $PIP_CONFIG_FILE), uv's uv.toml ($UV_CONFIG_FILE,
# ~/.config/uv/uv.toml, /etc/uv/uv.toml). Only the network settings are
# carried over (index URLs, trusted hosts, timeouts, retries, proxy); host
# paths such as find-links or cert mean nothing in the chroot (the host CA
# bundle is mounted separately). Nothing configured: pip's and uv's built-in
# default index. If only pip names an index, uv gets the same one.
# Writes DIR/env (KEY=VALUE lines for RUN steps), DIR/pip.conf and
# DIR/uv.toml (copied onto the tmpfs /run of each RUN, never into a layer).

python_index_config() { # DIR
    mkdir -p "$1"
    python3 - "$1" <<'EOF'
import configparser, os, shutil, sys

out = sys.argv[1]
env = os.environ
home = os.path.expanduser("~")
KEYS = ["index-url", "extra-index-url", "trusted-host", "timeout", "default-timeout",
        "retries", "proxy", "disable-pip-version-check"]

# pip: its config files in pip's order (later wins), then PIP_* variables
pip = {}
files = ["/etc/xdg/pip/pip.conf", "/etc/pip.conf", os.path.join(home, ".pip/pip.conf"),
         os.path.join(env.get("XDG_CONFIG_HOME", os.path.join(home, ".config")), "pip/pip.conf")]
if env.get("PIP_CONFIG_FILE") and env["PIP_CONFIG_FILE"] != os.devnull:
    files.append(env["PIP_CONFIG_FILE"])
for path in files:
    if not os.path.isfile(path):
        continue
    cp = configparser.RawConfigParser()
    cp.read(path)
    for section in ("global", "install"):
        if cp.has_section(section):
            for k, v in cp.items(section):
                if k in KEYS:
                    pip[k] = v
lines = []
if pip:
    with open(os.path.join(out, "pip.conf"), "w") as f:
        f.write("[global]\n" + "".join(f"{k} = {v}\n" for k, v in pip.items()))
for k in KEYS:
    var = "PIP_" + k.upper().replace("-", "_")
    if env.get(var):
        lines.append(f"{var}={env[var]}")
        pip[k] = env[var]

# uv: its config file and UV_* variables
uv_conf = env.get("UV_CONFIG_FILE") or next(
    (p for p in (os.path.join(env.get("XDG_CONFIG_HOME", os.path.join(home, ".config")), "uv/uv.toml"),
                 "/etc/uv/uv.toml") if os.path.isfile(p)), None)
if uv_conf and os.path.isfile(uv_conf):
    shutil.copy(uv_conf, os.path.join(out, "uv.toml"))
UV = ["UV_DEFAULT_INDEX", "UV_INDEX", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_INDEX_STRATEGY",
      "UV_INSECURE_HOST", "UV_NATIVE_TLS", "UV_HTTP_TIMEOUT", "UV_CONCURRENT_DOWNLOADS"]
uv_index = bool(uv_conf) or any(env.get(v) for v in UV[:4])
for var in UV:
    if env.get(var):
        lines.append(f"{var}={env[var]}")
if not uv_index:
    if pip.get("index-url"):
        lines.append(f"UV_INDEX_URL={pip['index-url']}")
    if pip.get("extra-index-url"):
        lines.append(f"UV_EXTRA_INDEX_URL={pip['extra-index-url']}")
    if pip.get("trusted-host") and not env.get("UV_INSECURE_HOST"):
        lines.append(f"UV_INSECURE_HOST={pip['trusted-host']}")
with open(os.path.join(out, "env"), "w") as f:
    f.write("".join(l.replace("\n", " ") + "\n" for l in lines))
EOF
}

# ---------------------------------------------------------------------------
# Running a command in a root fs, as a RUN step would.

run_in_root() { # ROOT WORKDIR USERSPEC COMMAND [ENV=VALUE...]
    local root=$1 wd=$2 userspec=$3 cmd=$4 rc=0 f created=()
    shift 4
    # DNS for the step, as the runtime's bind mounts give it; placeholders
    # created for the mount points are removed afterwards.
    for f in etc/resolv.conf etc/hosts; do
        if [ ! -e "$root/$f" ]; then
            : >"$root/$f"
            created+=("$root/$f")
        fi
        do_mount --bind "/$f" "$root/$f"
    done
    do_mount -t proc proc "$root/proc"
    do_mount --bind /dev "$root/dev"
    do_mount -t tmpfs -o mode=0755 tmpfs "$root/run"
    local conf=/run/imgprof-build
    mkdir -p "$root$conf"
    cp "$HOST_CA_BUNDLE" "$root$conf/ca.crt"

    # Environment of the step: the image's PATH and HOME, plus the settings
    # this machine needs to reach the package index (never recorded in the
    # image): the host CA bundle for pip and uv (uv reads SSL_CERT_FILE),
    # proxies, and the host's pip/uv index settings (python_index_config).
    local home=/root
    [ "$userspec" = root ] || home=$(awk -F: -v u="${userspec%%:*}" '$1 == u { print $6 }' "$root/etc/passwd")
    local envs=(
        "PATH=$DEFAULT_PATH" "HOME=$home" HOSTNAME=buildkitsandbox
        "PIP_CERT=$conf/ca.crt" "SSL_CERT_FILE=$conf/ca.crt"
        PIP_DEFAULT_TIMEOUT=180 PIP_DISABLE_PIP_VERSION_CHECK=1
    )
    local v
    for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
        [ -z "${!v:-}" ] || envs+=("$v=${!v}")
    done
    if [ -f "$WORK/pyconf/pip.conf" ]; then
        cp "$WORK/pyconf/pip.conf" "$root$conf/pip.conf"
        envs+=("PIP_CONFIG_FILE=$conf/pip.conf")
    fi
    if [ -f "$WORK/pyconf/uv.toml" ]; then
        cp "$WORK/pyconf/uv.toml" "$root$conf/uv.toml"
        envs+=("UV_CONFIG_FILE=$conf/uv.toml")
    fi
    [ ! -f "$WORK/pyconf/env" ] || mapfile -t -O ${#envs[@]} envs <"$WORK/pyconf/env"
    env -i "${envs[@]}" "$@" chroot --userspec="$userspec" "$root" \
        /bin/sh -c 'cd "$1" && exec /bin/sh -c "$2"' sh "$wd" "$cmd" </dev/null || rc=$?
    unmount_all
    [ ${#created[@]} -eq 0 ] || rm -f "${created[@]}"
    return "$rc"
}

# ---------------------------------------------------------------------------
# Image steps. Each writes its Dockerfile line and its history entry.
# State of the image being built:
IMG= LAYOUT= REF= BUNDLE= ROOTFS= DOCKERFILE= WD=/
IMG_ENV=() # the image's ENV settings so far (KEY=VALUE), seen by later RUNs

dockerfile() { printf '%s\n' "$*" >>"$DOCKERFILE"; }

# umoci repack builds on the manifest recorded in the bundle at unpack time,
# not on the tag: after `umoci config` moved the tag, point the bundle at the
# new manifest (its mtree, which describes the unchanged rootfs, is renamed
# along) so that the next repack keeps the config change.
bundle_follow_tag() {
    local meta=$BUNDLE/umoci.json old new
    old=$(jq -r '.from_descriptor_path.descriptor_walk[0].digest' "$meta")
    new=$(jq -c --arg tag "$IMG" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $tag)' "$LAYOUT/index.json")
    jq -c --argjson d "$new" '.from_descriptor_path.descriptor_walk = [$d]' "$meta" >"$meta.new"
    mv "$meta.new" "$meta"
    mv "$BUNDLE/${old/:/_}.mtree" "$BUNDLE/$(jq -r .digest <<<"$new" | tr : _).mtree"
}

# image_from NAME ROOTFS FROM_LINE...: a new image whose first layer is the
# given root fs, with the history the official debian images have.
image_from() {
    IMG=$1
    local base=$2
    shift 2
    LAYOUT=$TMP_OUT/$IMG.oci REF=$TMP_OUT/$IMG.oci:$IMG
    BUNDLE=$WORK/$IMG-bundle ROOTFS=$WORK/$IMG-bundle/rootfs
    DOCKERFILE=$TMP_OUT/$IMG.Dockerfile WD=/
    IMG_ENV=("PATH=$DEFAULT_PATH")
    local line
    for line in "$@"; do dockerfile "$line"; done
    umoci init --layout "$LAYOUT"
    umoci new --image "$REF"
    local tar=$WORK/$IMG-base.tar
    # entries named like Docker writes them ("etc/passwd", not "./etc/passwd");
    # sorted and with mtimes clamped to SOURCE_DATE_EPOCH, like mmdebstrap's
    # own tarballs, so the base layer depends only on the packages
    local top=()
    mapfile -t top < <(cd "$base" && LC_ALL=C ls -A)
    tar --create --file "$tar" --directory "$base" --sort=name --numeric-owner \
        --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime \
        --xattrs --xattrs-include='*' -- "${top[@]}"
    local sum
    sum=$(sha256sum "$tar" | cut -d' ' -f1)
    umoci raw add-layer --image "$REF" --history.created "$BASE_CREATED" \
        --history.created_by "/bin/sh -c #(nop) ADD file:$sum in / " "$tar"
    rm -f "$tar"
    umoci config --image "$REF" --no-history --created "$BASE_CREATED" --config.env "PATH=$DEFAULT_PATH"
    umoci config --image "$REF" --config.cmd bash --history.created "$BASE_CREATED" \
        --history.created_by '/bin/sh -c #(nop)  CMD ["bash"]'
    umoci unpack --image "$REF" "$BUNDLE" >/dev/null
}

repack() { # HISTORY_CREATED_BY
    umoci repack --refresh-bundle --image "$REF" \
        --history.comment "$BUILDKIT_COMMENT" --history.created_by "$1" "$BUNDLE"
}

# config_step DOCKERFILE_LINE HISTORY_LINE UMOCI_CONFIG_ARGS...: an empty layer
config_step() {
    local line=$1 hist=$2
    shift 2
    dockerfile "$line"
    log "$IMG: $line"
    # --created: the image's creation time is that of its last step
    umoci config --image "$REF" --created "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        --history.comment "$BUILDKIT_COMMENT" --history.created_by "$hist" "$@"
    bundle_follow_tag
}

RUN() {
    local cmd="$*"
    dockerfile "RUN $cmd"
    log "$IMG: RUN $cmd"
    run_in_root "$ROOTFS" "$WD" root "$cmd" "${IMG_ENV[@]}"
    repack "RUN /bin/sh -c $cmd # buildkit"
}

WORKDIR() {
    WD=$1
    # like BuildKit: the directory is created now, its layer entry lands in
    # the next layer's diff
    mkdir -p "$ROOTFS$WD"
    config_step "WORKDIR $WD" "WORKDIR $WD" --config.workingdir "$WD"
}

ENV() { # ENV KEY VALUE (VALUE already expanded, as BuildKit records it)
    IMG_ENV+=("$1=$2")
    config_step "ENV $1=${3:-$2}" "ENV $1=$2" --config.env "$1=$2"
}

EXPOSE() { config_step "EXPOSE $1" "EXPOSE map[$1/tcp:{}]" --config.exposedports "$1/tcp"; }

USER() { config_step "USER $1" "USER $1" --config.user "$1"; }

CMD() { # ARG...: the exec form, CMD ["ARG", ...]
    local a args=() hist json
    for a in "$@"; do args+=(--config.cmd "$a"); done
    hist=$(printf '"%s" ' "$@")
    json=$(printf '"%s", ' "$@")
    config_step "CMD [${json%, }]" "CMD [${hist% }]" "${args[@]}"
}

# COPY_FROM SRC_ROOT CHOWN DEST SRC...: copy like Dockerfile COPY (a directory
# source copies its contents), owned by root unless CHOWN=user:group; the
# history line is "COPY SRC... DEST # buildkit" (BuildKit drops the flags).
COPY_FROM() {
    local src_root=$1 chown=$2 dest=$3
    shift 3
    log "$IMG: COPY $* $dest"
    local d=$dest
    [[ $d == /* ]] || d=${WD%/}/$dest
    mkdir -p "$ROOTFS$d"
    local s owner=0:0 copied=()
    if [ -n "$chown" ]; then
        owner="$(awk -F: -v u="${chown%%:*}" '$1 == u { print $3 }' "$ROOTFS/etc/passwd"):$(awk -F: -v g="${chown##*:}" '$1 == g { print $3 }' "$ROOTFS/etc/group")"
    fi
    for s in "$@"; do
        if [ -d "$src_root/$s" ]; then
            cp -a "$src_root/$s/." "$ROOTFS$d/"
            copied+=("$ROOTFS$d")
        else
            cp -a "$src_root/$s" "$ROOTFS$d/"
            copied+=("$ROOTFS$d/$(basename "$s")")
        fi
    done
    chown -R "$owner" "${copied[@]}"
    repack "COPY $* $dest # buildkit"
}

# finish_image NAME REPO:TAG: drop unreferenced blobs from NAME.oci, write the
# docker-archive NAME.tar (tagged REPO:TAG), check that skopeo reads both.
finish_image() {
    umoci gc --layout "$TMP_OUT/$1.oci"
    skopeo --insecure-policy copy --quiet "oci:$TMP_OUT/$1.oci:$1" \
        "docker-archive:$TMP_OUT/$1.tar:$2"
    skopeo inspect "oci:$TMP_OUT/$1.oci:$1" >/dev/null
    skopeo inspect "docker-archive:$TMP_OUT/$1.tar" >/dev/null
}

# ---------------------------------------------------------------------------
# The slim base root fs, made the way debuerreotype makes debian:bookworm-slim
# from the minbase one (make_base_rootfs): $WORK/rootfs-bookworm-slim.
# debuerreotype-slimify: dpkg path-excludes for docs, man pages, locales...,
# and the files already installed there removed (keeping the includes).
readonly SLIM_EXCLUDES=(
    '/usr/share/doc/*' '/usr/share/groff/*' '/usr/share/info/*' '/usr/share/linda/*'
    '/usr/share/lintian/overrides/*' '/usr/share/locale/*' '/usr/share/man/*'
)
readonly SLIM_INCLUDES=(
    '/usr/share/doc/*/copyright' '/usr/share/doc/kde/HTML/C/*' '/usr/share/gnome/help/*/C/*'
    '/usr/share/locale/all_languages' '/usr/share/locale/currency/*' '/usr/share/locale/l10n/*'
    '/usr/share/locale/languages' '/usr/share/locale/locale.alias' '/usr/share/omf/*/*-C.emf'
)
make_slim_rootfs() {
    local root=$WORK/rootfs-bookworm-slim
    cp -a "$WORK/rootfs-bookworm" "$root"
    {
        echo '# This is the "slim" variant of the Debian base image.'
        echo '# Many files which are normally unnecessary in containers are excluded,'
        echo '# and this configuration file keeps them that way.'
        echo
        printf 'path-exclude %s\n' "${SLIM_EXCLUDES[@]}"
        echo
        printf 'path-include %s\n' "${SLIM_INCLUDES[@]}"
    } >"$root/etc/dpkg/dpkg.cfg.d/docker"
    local includes=() inc ex
    for inc in "${SLIM_INCLUDES[@]}"; do
        [ ${#includes[@]} -eq 0 ] || includes+=(-o)
        includes+=(-path "$root$inc")
    done
    for ex in "${SLIM_EXCLUDES[@]}"; do
        local dir=$root${ex%/\*}
        [ -d "$dir" ] || continue
        # files first, then empty directories and dangling symlinks (repeat:
        # removing one can empty its parent)
        find "$dir" -depth -mindepth 1 -not \( "${includes[@]}" \) -not \( -type d -o -type l \) -delete
        while [ -n "$(find "$dir" -depth -mindepth 1 \( -empty -o -xtype l \) -print -delete)" ]; do :; done
    done
}

# The official debian images delete the .debs apt downloads (docker-clean).
docker_clean() { # ROOT
    cat >"$1/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
}
