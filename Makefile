# FileSphere: two commands a newcomer needs are `make run` and `make test`.
GO ?= go
BIN := bin/filesphere

.PHONY: build run test deps fuzz bench vet

build:
	$(GO) build -o $(BIN) ./cmd/filesphere

# Runs a single-node store on ./data (four drive folders, erasure 2+2).
run: build
	./$(BIN) server

# The whole suite: vet, unit and integration tests, end-to-end tests with
# the real aws cli, rclone, s3cmd and boto3, and brief fuzzing.
test: deps vet
	$(GO) test -count=1 -timeout 25m ./...
	$(MAKE) fuzz

deps:
	./scripts/test-deps.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet ./...
	$(GO) mod tidy -diff
	GOOS=windows $(GO) build -o /dev/null ./cmd/filesphere
	GOOS=darwin $(GO) build -o /dev/null ./cmd/filesphere

FUZZTIME ?= 5s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseAuthorization$$' -fuzztime $(FUZZTIME) ./s3api/sigv4/
	$(GO) test -run '^$$' -fuzz '^FuzzChunkedReader$$' -fuzztime $(FUZZTIME) ./s3api/sigv4/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeTxn$$' -fuzztime $(FUZZTIME) ./cluster/meta/
	$(GO) test -run '^$$' -fuzz '^FuzzXMLBodies$$' -fuzztime $(FUZZTIME) ./s3api/
	$(GO) test -run '^$$' -fuzz '^FuzzSSEHeaders$$' -fuzztime $(FUZZTIME) ./s3api/
	$(GO) test -run '^$$' -fuzz '^FuzzCORSConfig$$' -fuzztime $(FUZZTIME) ./s3api/
	$(GO) test -run '^$$' -fuzz '^FuzzPostPolicy$$' -fuzztime $(FUZZTIME) ./s3api/
	$(GO) test -run '^$$' -fuzz '^FuzzPostForm$$' -fuzztime $(FUZZTIME) ./s3api/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./iam/policy/
	$(GO) test -run '^$$' -fuzz '^FuzzDecryptReader$$' -fuzztime $(FUZZTIME) ./storage/sse/
	$(GO) test -run '^$$' -fuzz '^FuzzDecrypt$$' -fuzztime $(FUZZTIME) ./kms/

# Short Go benchmarks, then `filesphere bench suite --set quick` against a
# fresh local server (scripts/bench.sh; BENCHTIME, DURATION, SET tune it).
bench:
	GO=$(GO) ./scripts/bench.sh
