# rust:1-bookworm as the builder world has it. The official image is buildpack-deps:bookworm
# with rustup's toolchain under /usr/local; no toolchain can be downloaded here, so this one
# is python:3.11 (debian:bookworm plus the same buildpack-deps packages, from build.sh) with
# this machine's toolchain copied in (xtask/src/base_images.rs, rust_stand_in).
FROM python:3.11
COPY toolchain /usr/local/rustup/toolchains/stable-x86_64-unknown-linux-gnu
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:$PATH
RUN mkdir -p "$CARGO_HOME/bin" \
 && for tool in cargo rustc rustdoc; do ln -s "$RUSTUP_HOME/toolchains/stable-x86_64-unknown-linux-gnu/bin/$tool" "$CARGO_HOME/bin/$tool"; done \
 && cargo --version && rustc --version
