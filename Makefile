# Convenience targets; README names the two set-up commands.
.PHONY: build test fuzz quickstart

build:
	CGO_ENABLED=1 go build -buildvcs=true -ldflags "-X main.version=$$(git describe --tags --always --dirty 2>/dev/null || echo dev)" -o bin/congvu ./cmd/congvu

test:
	./deploy/test.sh

quickstart:
	go run ./cmd/congvu quickstart --dir ./congvu-demo

# Fuzzing (not part of the test command; the seed corpora run as ordinary
# tests there). `make fuzz` runs every fuzzer for 1 minute, `make
# fuzz-long` for 10 minutes each (FUZZTIME=30m to change, ONLY=regexp to
# pick fuzzers by name).
.PHONY: fuzz-long
fuzz:
	FUZZTIME=$${FUZZTIME:-1m} ./deploy/fuzz.sh

fuzz-long:
	FUZZTIME=$${FUZZTIME:-10m} ./deploy/fuzz.sh

# Benchmarks (issue 4), tools not tests: congvu side by side with Postfix
# (→ Dovecot LMTP → Maildir, smtp-sink, ldap: tables), Dovecot IMAP and the
# disk's fsync ceiling, in one run. Prints a Markdown table; raw figures in
# bench-results.json. bench: quick mode (about 6 minutes); bench-full: the
# issue's sizes (100k-message folder, 200k import, 10,000 idle clients,
# 50,000 officials in LDAP), about half an hour.
.PHONY: bench bench-full
bench:
	./bench/reference/install-debian.sh
	PATH="$$PATH:/usr/sbin:/sbin" go run ./bench/cmd/congvu-bench --quick --json bench-results.json

bench-full:
	./bench/reference/install-debian.sh
	PATH="$$PATH:/usr/sbin:/sbin" go run ./bench/cmd/congvu-bench --quick=false --json bench-results-full.json

# Soak (issue 15; not part of the test command, which runs a short smoke
# version): 30 minutes of mixed SMTP/IMAP/POP3/web load with a kill -9 every
# 5 minutes, then storage check and a count of every acknowledged message.
# SOAK="-duration 2h -rate 40" to change it.
.PHONY: soak
soak:
	go run ./bench/cmd/congvu-soak $(SOAK)

# Debian package (issue 16): dist/congvu_<version>_<arch>.deb with the
# binary, the hardened systemd unit (deploy/systemd), the configuration as a
# conffile and the operator documentation. Cluster test: the three-node test
# (also part of ./deploy/test.sh).
.PHONY: deb cluster-test
deb:
	./deploy/debian/build-deb.sh

cluster-test:
	go test -count=1 -run 'TestThreeNodeCluster|TestNginxMailProxy' ./tests/interop/
