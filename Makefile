# Convenience targets; README names the two set-up commands.
.PHONY: build test fuzz quickstart

build:
	CGO_ENABLED=1 go build -o bin/congvu ./cmd/congvu

test:
	./deploy/test.sh

quickstart:
	go run ./cmd/congvu quickstart --dir ./congvu-demo

# Long fuzzing runs (not part of the test command). FUZZTIME=10m make fuzz
FUZZTIME ?= 1m
fuzz:
	go test ./pop3d -run '^$$' -fuzz FuzzParseCommand -fuzztime $(FUZZTIME)
	go test ./storage -run '^$$' -fuzz FuzzParseMessage -fuzztime $(FUZZTIME)

# Quick benchmark (issue 4), a tool not a test: congvu side by side with
# Postfix→Dovecot LMTP→Maildir, smtp-sink and the disk's fsync ceiling.
# Prints a Markdown table; raw figures in bench-results.json.
.PHONY: bench
bench:
	./bench/reference/install-debian.sh
	go run ./bench/cmd/congvu-bench --quick --json bench-results.json
