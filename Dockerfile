# Build: cgo is needed for SQLite.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w" -o /out/referralbot ./cmd/referralbot

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
# Mount your config at /etc/referralbot/config.yaml (database.path: /data/referralbot.db,
# http.listen: 0.0.0.0:8080) and pass DISCORD_TOKEN in the environment.
ENTRYPOINT ["referralbot"]
CMD ["run", "-config", "/etc/referralbot/config.yaml"]
