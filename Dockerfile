# imgprof in a container. Built in the official Rust image; run from an empty image that
# holds only the binary, the libraries it links, the CA bundle and a non-root user: a
# distroless runtime assembled in the build stage, so no second base image is needed.
# Needs BuildKit (or buildah) for the cache mounts, which keep the crates and the
# compiled dependencies between builds.
#
#   docker build -t imgprof .
#   docker run --rm -v "$PWD:/work:ro" imgprof report /work/app.tar
#   docker run --rm -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" imgprof report docker-daemon:myapp:latest
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p imgprof \
 && mkdir -p /rootfs/usr/local/bin /rootfs/etc/ssl/certs /rootfs/tmp /rootfs/home/nonroot /rootfs/work \
 && strip -o /rootfs/usr/local/bin/imgprof target/release/imgprof \
 && ldd target/release/imgprof | grep -o '/[^ ]*' | xargs -I{} cp --parents -L {} /rootfs \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
 && echo 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > /rootfs/etc/passwd \
 && echo 'nonroot:x:65532:' > /rootfs/etc/group \
 && echo 'hosts: files dns' > /rootfs/etc/nsswitch.conf \
 && chmod 1777 /rootfs/tmp \
 && chown 65532:65532 /rootfs/home/nonroot /rootfs/work

FROM scratch
COPY --from=build /rootfs /
USER 65532:65532
ENV HOME=/home/nonroot
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/imgprof"]
CMD ["--help"]
