# Builds a small image with the filesphere binary.
#   docker build -t filesphere .
#   docker run -p 9000:9000 -v fsdata:/data filesphere
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/filesphere ./cmd/filesphere

FROM debian:bookworm-slim
COPY --from=build /out/filesphere /usr/local/bin/filesphere
VOLUME /data
EXPOSE 9000 9001
ENTRYPOINT ["filesphere"]
CMD ["server", "--address", ":9000", "--data", "/data"]
