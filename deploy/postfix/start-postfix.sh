#!/bin/sh
# start-postfix.sh DIR — start a private Debian Postfix (package postfix) that
# plays "another province" in tests: it receives mail for POSTFIX_DOMAINS
# into Maildirs under DIR/mail, offers STARTTLS with a certificate made here,
# and relays mail for other domains along POSTFIX_RELAY. It has its own
# configuration and queue in DIR and never touches the system's Postfix.
# Needs root (Postfix's master runs as root and drops to the postfix user);
# DIR and its parents must be searchable by the postfix and nobody users.
#
# Environment:
#   POSTFIX_ADDR      listen address, default 127.0.0.1:<free port>
#   POSTFIX_HOSTNAME  myhostname and certificate name, default mx.postfix.test
#   POSTFIX_USERS     space-separated addresses delivered locally, each to
#                     DIR/mail/<domain>/<local part>/ (Maildir); their
#                     domains are the ones this Postfix is final for
#   POSTFIX_RELAY     space-separated domain=host:port routes, e.g.
#                     khanhhoa.gov.vn=127.0.0.1:2525 (no DNS is used)
#   POSTFIX_DEFER     space-separated addresses answered "451 4.7.1" at RCPT
# Output: DIR/env with POSTFIX_ADDR, POSTFIX_CONF, POSTFIX_MAILDIR,
# POSTFIX_CERT (PEM to trust), POSTFIX_LOG and POSTFIX_PID, also printed on
# stdout. Stop with stop-postfix.sh DIR.
set -eu

die() { echo "start-postfix: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: start-postfix.sh DIR"
PATH="$PATH:/usr/sbin:/sbin"
command -v postfix >/dev/null 2>&1 || die "postfix not found: apt-get install -y postfix"
command -v openssl >/dev/null 2>&1 || die "openssl not found: apt-get install -y openssl"
[ "$(id -u)" -eq 0 ] || die "Postfix must be started as root"
id postfix >/dev/null 2>&1 || die "no postfix user (is the postfix package installed?)"
mkdir -p "$1"
dir=$(cd "$1" && pwd)
chmod 755 "$dir"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

addr=${POSTFIX_ADDR:-127.0.0.1:$(free_port)}
hostname=${POSTFIX_HOSTNAME:-mx.postfix.test}
conf=$dir/conf
mkdir -p "$conf" "$dir/queue" "$dir/data" "$dir/mail" "$dir/tls"
chown postfix "$dir/data"
chown nobody:nogroup "$dir/mail"
nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)

if [ ! -f "$dir/tls/cert.pem" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
		-subj "/CN=$hostname" -addext "subjectAltName=DNS:$hostname" \
		-keyout "$dir/tls/key.pem" -out "$dir/tls/cert.pem" >"$dir/tls/openssl.log" 2>&1 ||
		{ cat "$dir/tls/openssl.log" >&2; die "openssl could not make a certificate"; }
	chmod 644 "$dir/tls/cert.pem"
	chmod 600 "$dir/tls/key.pem"
fi

: >"$conf/vmailbox"
: >"$conf/transport"
: >"$conf/defer"
domains=
for u in ${POSTFIX_USERS:-}; do
	d=${u##*@}
	case " $domains " in *" $d "*) ;; *) domains="$domains $d" ;; esac
	printf '%s %s/%s/\n' "$u" "$d" "${u%@*}" >>"$conf/vmailbox"
done
for r in ${POSTFIX_RELAY:-}; do
	printf '%s smtp:[%s]:%s\n' "${r%%=*}" "$(echo "${r#*=}" | sed 's/:[0-9]*$//')" "${r##*:}" >>"$conf/transport"
done
for a in ${POSTFIX_DEFER:-}; do
	printf '%s 451 4.7.1 Xin thu lai sau / please try again later\n' "$a" >>"$conf/defer"
done

cat >"$conf/main.cf" <<CF
# Written by congvu deploy/postfix/start-postfix.sh: a private test instance.
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
# master.cf binds the address itself; inet_interfaces must name a real
# interface address, which a 127.x.y.z other than 127.0.0.1 is not.
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = $hostname
mydestination =
mynetworks = 127.0.0.0/8
virtual_mailbox_domains =$domains
virtual_mailbox_maps = texthash:$conf/vmailbox
virtual_mailbox_base = $dir/mail
virtual_uid_maps = static:$nobody_uid
virtual_gid_maps = static:$nobody_gid
virtual_transport = virtual
transport_maps = texthash:$conf/transport
smtpd_recipient_restrictions = check_recipient_access texthash:$conf/defer, permit_mynetworks, reject_unauth_destination
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
smtpd_tls_security_level = may
smtpd_tls_cert_file = $dir/tls/cert.pem
smtpd_tls_key_file = $dir/tls/key.pem
smtpd_tls_received_header = yes
smtpd_tls_protocols = >=TLSv1.2
smtp_tls_security_level = may
smtp_tls_protocols = >=TLSv1.2
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtputf8_enable = yes
biff = no
maillog_file = $dir/postfix.log
maillog_file_prefixes = $dir
alias_maps =
alias_database =
message_size_limit = 31457280
# Retry congvu quickly when it was down (tests restart it).
minimal_backoff_time = 2s
maximal_backoff_time = 10s
queue_run_delay = 2s
CF
cat >"$conf/master.cf" <<CF
# Only the services a loopback test MTA needs.
$addr inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
smtp unix - - n - - smtp
relay unix - - n - - smtp
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
tlsmgr unix - - n 1000? 1 tlsmgr
postlog unix-dgram n - n - 1 postlogd
CF
touch "$dir/postfix.log"

pidfile=$dir/queue/pid/master.pid
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile" | tr -d ' ')" 2>/dev/null; then
	postfix -c "$conf" reload >/dev/null 2>&1 || true
else
	postfix -c "$conf" start >"$dir/start.log" 2>&1 ||
		{ cat "$dir/start.log" "$dir/postfix.log" >&2; die "postfix start failed"; }
fi
i=0
until python3 -c "import socket,sys; socket.create_connection(('${addr%:*}', ${addr##*:}), 1).close()" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 200 ] || { tail -20 "$dir/postfix.log" >&2; die "postfix not listening on $addr"; }
	sleep 0.1
done
umask 077
cat >"$dir/env" <<ENV
POSTFIX_ADDR=$addr
POSTFIX_CONF=$conf
POSTFIX_MAILDIR=$dir/mail
POSTFIX_CERT=$dir/tls/cert.pem
POSTFIX_LOG=$dir/postfix.log
POSTFIX_PID=$(tr -d ' ' <"$pidfile")
ENV
cat "$dir/env"
