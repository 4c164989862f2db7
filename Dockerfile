# vcmock: a mock vCenter for guest-operations tests.
# Build: docker build -t vcmock .   Run: docker run --rm -p 8443:8443 vcmock
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer: a stub crate with the real manifest and lock file.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src fixtures \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs README.md \
    && echo '{}' > fixtures/default.json \
    && cargo build --release --locked \
    && rm -rf src fixtures README.md target/release/vcmock target/release/deps/vcmock-* target/release/deps/libvcmock-* target/release/.fingerprint/vcmock-*
COPY README.md ./
COPY fixtures ./fixtures
COPY src ./src
RUN cargo build --release --locked \
    && install -D -m 0755 target/release/vcmock /out/vcmock \
    && mkdir -p /out/certs /out/fixtures

FROM debian:bookworm-slim
COPY --from=build /out/vcmock /usr/local/bin/vcmock
COPY --from=build --chown=10001:10001 /out/certs /certs
COPY --from=build /out/fixtures /fixtures
USER 10001:10001
ENV VCMOCK_LISTEN=0.0.0.0:8443 \
    VCMOCK_CERT_OUT=/certs/vcmock.pem \
    VCMOCK_LOG=json
EXPOSE 8443
HEALTHCHECK --interval=2s --timeout=3s --start-period=2s --retries=5 CMD ["vcmock", "healthcheck"]
ENTRYPOINT ["vcmock"]
CMD ["serve"]
