# syntax=docker/dockerfile:1
# Build a static binary, then run it as a non-root user in a minimal image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/clubbot ./cmd/clubbot \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/clubbot /usr/local/bin/clubbot
COPY --from=build --chown=nonroot:nonroot /out/data /data
COPY config.yaml /etc/clubbot/config.yaml
ENV CLUBBOT_STORE_PATH=/data/clubbot.db
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/clubbot", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/clubbot"]
CMD ["serve", "--config", "/etc/clubbot/config.yaml"]
