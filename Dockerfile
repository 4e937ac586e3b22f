# sessiongate: Caddy with the session_gate module.
# Build:  docker build -t sessiongate .
# Run:    docker run -p 80:80 -p 443:443 -v sessiongate-data:/data \
#           -e SESSIONGATE_CLIENT_SECRET=... -e SESSIONGATE_COOKIE_SECRET=... \
#           -v $PWD/Caddyfile:/etc/sessiongate/Caddyfile:ro sessiongate

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sessiongate ./cmd/sessiongate

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin sessiongate \
 && mkdir -p /data /config /etc/sessiongate \
 && chown sessiongate:sessiongate /data /config
COPY --from=build /out/sessiongate /usr/bin/sessiongate
# bind ports 80 and 443 without running as root
RUN setcap cap_net_bind_service=+ep /usr/bin/sessiongate
COPY Caddyfile /etc/sessiongate/Caddyfile
ENV XDG_DATA_HOME=/data XDG_CONFIG_HOME=/config
VOLUME ["/data"]
EXPOSE 80 443
USER sessiongate
ENTRYPOINT ["/usr/bin/sessiongate"]
CMD ["run", "--config", "/etc/sessiongate/Caddyfile", "--adapter", "caddyfile"]
