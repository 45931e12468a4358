# syntax=docker/dockerfile:1
# Build: cgo is needed for SQLite. The cache mounts keep downloaded modules
# and compiled packages (SQLite's C code above all) between builds, so a
# source change recompiles only referralbot's own packages.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# docker build --build-arg VERSION=0.9.0 .; `referralbot version` shows it
# (the build context has no .git, so there is no commit to record).
ARG VERSION=""
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/referralbot ./cmd/referralbot

# Run: slim Debian (glibc for the cgo binary), non-root, data on a volume.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin referralbot \
    && mkdir -p /data /etc/referralbot && chown referralbot /data
COPY --from=build /out/referralbot /usr/local/bin/referralbot
COPY config.example.yaml /etc/referralbot/config.example.yaml
USER referralbot
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# Mount your config at /etc/referralbot/config.yaml (database.path:
# /data/referralbot.db; http.listen must be set, 0.0.0.0:8080 to reach it
# from outside) and pass DISCORD_TOKEN in the environment.
# The image has no curl: the bot checks its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["referralbot", "healthcheck", "-config", "/etc/referralbot/config.yaml"]
ENTRYPOINT ["referralbot"]
CMD ["run", "-config", "/etc/referralbot/config.yaml"]
