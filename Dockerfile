# Builds a small image with the filesphere binary.
#   docker build -t filesphere .
#   docker run -p 9000:9000 -v fsdata:/data filesphere
# The build context leaves out ./data (root credentials, cluster secret) and
# bin/: see .dockerignore. For a cluster, see "Containers" in README.md.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/filesphere ./cmd/filesphere

FROM debian:bookworm-slim
# curl only for the HEALTHCHECK; the server runs as an unprivileged user
# that owns /data (a new named volume copies that ownership).
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 filesphere \
 && useradd --uid 10001 --gid filesphere --home-dir /data --no-create-home --shell /usr/sbin/nologin filesphere \
 && mkdir -p /data \
 && chown filesphere:filesphere /data \
 && chmod 0700 /data
COPY --from=build /out/filesphere /usr/local/bin/filesphere
USER filesphere:filesphere
WORKDIR /data
# Server and admin commands (docker exec … filesphere admin heal status)
# use the same data folder, so the admin commands find the credentials.
ENV FILESPHERE_DATA=/data
VOLUME /data
# 9000: S3 API. 9001: web console. 9002: Raft and node-to-node traffic
# (cluster members only).
EXPOSE 9000 9001 9002
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:9000/health/ready || exit 1
ENTRYPOINT ["filesphere"]
CMD ["server", "--address", ":9000", "--console-address", ":9001", "--cluster-address", ":9002"]
