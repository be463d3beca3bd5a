# Convenience targets; README names the two set-up commands.
.PHONY: build test fuzz quickstart

build:
	CGO_ENABLED=1 go build -buildvcs=true -ldflags "-X main.version=$$(git describe --tags --always --dirty 2>/dev/null || echo dev)" -o bin/congvu ./cmd/congvu

test:
	./deploy/test.sh

quickstart:
	go run ./cmd/congvu quickstart --dir ./congvu-demo

# Long fuzzing runs (not part of the test command). FUZZTIME=10m make fuzz
FUZZTIME ?= 1m
fuzz:
	go test ./pop3d -run '^$$' -fuzz FuzzParseCommand -fuzztime $(FUZZTIME)
	go test ./storage -run '^$$' -fuzz FuzzParseMessage -fuzztime $(FUZZTIME)

# Benchmarks (issue 4), tools not tests: congvu side by side with Postfix
# (→ Dovecot LMTP → Maildir, smtp-sink, ldap: tables), Dovecot IMAP and the
# disk's fsync ceiling, in one run. Prints a Markdown table; raw figures in
# bench-results.json. bench: quick mode (under 5 minutes); bench-full: the
# issue's sizes (100k-message folder, 200k import, 10,000 idle clients,
# 50,000 officials in LDAP), about half an hour.
.PHONY: bench bench-full
bench:
	./bench/reference/install-debian.sh
	PATH="$$PATH:/usr/sbin:/sbin" go run ./bench/cmd/congvu-bench --quick --json bench-results.json

bench-full:
	./bench/reference/install-debian.sh
	PATH="$$PATH:/usr/sbin:/sbin" go run ./bench/cmd/congvu-bench --quick=false --json bench-results-full.json
