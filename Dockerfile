# Capstan with etcd support (the aggregated deployment stores on etcd).
# Build: docker build -t capstan .
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends protobuf-compiler && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked --features etcd --bin capstan

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/capstan /usr/local/bin/capstan
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/capstan"]
