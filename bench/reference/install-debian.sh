#!/bin/sh
# Installs the reference servers congvu-bench compares against (issue 4):
# Debian Postfix (with smtp-sink) and Dovecot with LMTP. Does nothing when
# they are present; when they are missing and this is not a root Debian
# system it only says so, and congvu-bench reports "reference not measured".
# The packages' own services are not started by the bench: it runs private
# instances with their own configuration on 127.0.0.1 free ports.
set -eu

missing=""
command -v postfix >/dev/null 2>&1 || missing="$missing postfix"
command -v smtp-sink >/dev/null 2>&1 || missing="$missing postfix"
command -v dovecot >/dev/null 2>&1 || missing="$missing dovecot-core"
[ -x /usr/lib/dovecot/lmtp ] || missing="$missing dovecot-lmtpd"
[ -x /usr/lib/dovecot/imap ] || missing="$missing dovecot-imapd"

if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "bench: reference servers missing ($missing); install as root:" >&2
	echo "  apt-get install -y postfix dovecot-core dovecot-imapd dovecot-lmtpd" >&2
	exit 0
fi
echo "bench: installing reference servers:$missing" >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y postfix dovecot-core dovecot-imapd dovecot-lmtpd >&2
