# Multi-stage build: compile with the Rust toolchain, run on a slim Debian
# with only the release binary, TLS roots, libssl (libpq's TLS), the
# MariaDB client library (`import keystone` from MariaDB/MySQL) and curl
# (health checks).
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmariadb-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked --bin ironstone

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 libmariadb3 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/ironstone --create-home ironstone
COPY --from=build /src/target/release/ironstone /usr/local/bin/ironstone
USER ironstone
WORKDIR /var/lib/ironstone
EXPOSE 5000 8089
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:5000/readyz || exit 1
ENTRYPOINT ["ironstone"]
CMD ["serve", "--listen", "0.0.0.0:5000", "--listen", "0.0.0.0:8089"]
