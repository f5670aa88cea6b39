# The gatecrash image: one static binary (CGO_ENABLED=0) on distroless, for
# the shards, the proxy and the merge of a sharded run (examples/kubernetes).
# It holds no nginx, HAProxy or Caddy: a run that starts a gateway itself
# (target.gateway other than none) needs an image that has one.
#
#   docker build -t gatecrash .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /gatecrash .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /gatecrash /gatecrash
WORKDIR /work
ENTRYPOINT ["/gatecrash"]
