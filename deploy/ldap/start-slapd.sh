#!/bin/sh
# start-slapd.sh DIR — start a throwaway OpenLDAP slapd (Debian's slapd
# package) for development and tests, as the current user, on
# ldap://127.0.0.1:<free port>/, with the congvu schema.
#
# DIR receives everything: slapd.d/ (cn=config), data/ (mdb), slapd.pid,
# a self-signed certificate for 127.0.0.1 (tls/, when openssl is installed:
# StartTLS on the ldap:// port and ldaps:// on a second port) and env. Running the script again on the same DIR restarts slapd on the same
# port with the same configuration and data (used by the outage test).
#
# Environment (first start only):
#   LDAP_BASE       suffix, default dc=congvu,dc=test
#   LDAP_BIND_DN    root (service) DN, default cn=admin,$LDAP_BASE
#   LDAP_BIND_PW    its password, default: random
#   SLAPD_PASSWORD_HASH  scheme for userPassword set by Password Modify,
#                   default {ARGON2} (Debian's argon2 module), or {SSHA}
# Output: DIR/env with LDAP_URL, LDAP_BASE, LDAP_BIND_DN, LDAP_BIND_PW,
# SLAPD_PID and, with TLS, LDAPS_URL and LDAP_CA_CERT (PEM file to trust),
# also printed on stdout. Stop with stop-slapd.sh DIR.
set -eu

die() { echo "start-slapd: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: start-slapd.sh DIR"
for tool in slapd slapadd slappasswd ldapsearch; do
	command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
		die "$tool not found: install Debian's slapd and ldap-utils (apt-get install -y slapd ldap-utils)"
done
PATH="$PATH:/usr/sbin"
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
dir=$(cd "$1" && pwd)
schema=/etc/ldap/schema
modules=/usr/lib/ldap
[ -f "$schema/inetorgperson.ldif" ] || die "$schema/inetorgperson.ldif missing (slapd package incomplete)"

# pid_alive PID: true when PID is a slapd serving this DIR.
tlsconf=
pid_alive() {
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null &&
		tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "slapd.* -F $dir/slapd.d"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null && return
	# No python3: pick a random high port; the bind check below retries.
	echo $((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
}

write_env() {
	umask 077
	cat >"$dir/env" <<ENV
LDAP_URL=ldap://127.0.0.1:$port/
LDAP_BASE=$base
LDAP_BIND_DN=$binddn
LDAP_BIND_PW=$bindpw
SLAPD_PID=$pid
ENV
	if [ -n "$sport" ]; then
		printf 'LDAPS_URL=ldaps://127.0.0.1:%s/\nLDAP_CA_CERT=%s\n' "$sport" "$dir/tls/cert.pem" >>"$dir/env"
	fi
}

listeners() {
	echo "ldap://127.0.0.1:$port/${sport:+ ldaps://127.0.0.1:$sport/}"
}

if [ -d "$dir/slapd.d" ] && [ -f "$dir/env" ]; then
	# Restart: same port, configuration and data.
	. "$dir/env"
	port=${LDAP_URL#ldap://127.0.0.1:}
	port=${port%/}
	base=$LDAP_BASE binddn=$LDAP_BIND_DN bindpw=$LDAP_BIND_PW pid=$SLAPD_PID
	sport=
	if [ -n "${LDAPS_URL:-}" ]; then
		sport=${LDAPS_URL#ldaps://127.0.0.1:}
		sport=${sport%/}
	fi
	if pid_alive "$pid"; then
		cat "$dir/env"
		exit 0
	fi
	fresh=
else
	base=${LDAP_BASE:-dc=congvu,dc=test}
	binddn=${LDAP_BIND_DN:-cn=admin,$base}
	bindpw=${LDAP_BIND_PW:-$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')}
	hash=${SLAPD_PASSWORD_HASH:-{ARGON2\}}
	rootpw=$(slappasswd -h '{SSHA}' -s "$bindpw")
	rm -rf "$dir/slapd.d" "$dir/data"
	mkdir -p "$dir/slapd.d" "$dir/data"
	chmod 700 "$dir/slapd.d" "$dir/data"
	tlsconf=
	if command -v openssl >/dev/null 2>&1; then
		mkdir -p "$dir/tls"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
			-subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
			-keyout "$dir/tls/key.pem" -out "$dir/tls/cert.pem" >"$dir/tls/openssl.log" 2>&1 ||
			{ cat "$dir/tls/openssl.log" >&2; die "openssl could not make a certificate"; }
		tlsconf="olcTLSCertificateFile: $dir/tls/cert.pem
olcTLSCertificateKeyFile: $dir/tls/key.pem
olcTLSProtocolMin: 3.3"
	fi
	# Public address-book attributes (Thunderbird/Outlook, /danhba):
	public="entry,objectClass,uid,cn,sn,givenName,displayName,mail,congvuMailAlias,title,telephoneNumber,ou,userSMIMECertificate,congvuUnitCode,congvuUnitKind,congvuUnitAbbr,congvuParentUnitCode"
	cat >"$dir/config.ldif" <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $dir/slapd.pid
olcArgsFile: $dir/slapd.args
olcLogLevel: none
$tlsconf

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: $modules
olcModuleLoad: back_mdb
olcModuleLoad: unique
olcModuleLoad: argon2

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://$schema/core.ldif

include: file://$schema/cosine.ldif

include: file://$schema/inetorgperson.ldif

include: file://$here/congvu.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcPasswordHash: $hash
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: $dir/data
olcSuffix: $base
olcRootDN: $binddn
olcRootPW: $rootpw
olcDbMaxSize: 1073741824
olcDbIndex: objectClass eq
olcDbIndex: mail,congvuMailAlias,uid,cn,sn,givenName,displayName eq,sub
olcDbIndex: congvuUnitCode,ou eq,sub
olcDbIndex: congvuParentUnitCode,congvuMailboxState eq
olcAccess: {0}to attrs=userPassword by anonymous auth by * none
olcAccess: {1}to dn.subtree="$base" attrs=$public by * read
olcAccess: {2}to * by * none

dn: olcOverlay={0}unique,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcUniqueConfig
olcOverlay: {0}unique
olcUniqueURI: ldap:///?mail,congvuMailAlias?sub?(objectClass=congvuAccount)
LDIF
	slapadd -q -n0 -F "$dir/slapd.d" -l "$dir/config.ldif" >"$dir/slapadd.log" 2>&1 ||
		{ cat "$dir/slapadd.log" >&2; die "slapadd of the configuration failed"; }
	# The suffix entry itself.
	rdn=${base%%,*}
	attr=${rdn%%=*} val=${rdn#*=}
	case $attr in
	dc) entry="objectClass: dcObject
objectClass: organization
dc: $val
o: $val" ;;
	o) entry="objectClass: organization
o: $val" ;;
	ou) entry="objectClass: organizationalUnit
ou: $val" ;;
	*) die "LDAP_BASE must start with dc=, o= or ou=" ;;
	esac
	printf 'dn: %s\n%s\n' "$base" "$entry" >"$dir/base.ldif"
	slapadd -q -n1 -F "$dir/slapd.d" -l "$dir/base.ldif" >>"$dir/slapadd.log" 2>&1 ||
		{ cat "$dir/slapadd.log" >&2; die "slapadd of $base failed"; }
	port=
	sport=
	fresh=1
fi

tries=0
while :; do
	[ -n "$port" ] || port=$(free_port)
	if [ -n "$fresh" ] && [ -n "$tlsconf" ] && [ -z "$sport" ]; then
		sport=$(free_port)
		[ "$sport" != "$port" ] || sport=$(free_port)
	fi
	rm -f "$dir/slapd.pid"
	# Daemonises; the daemon writes its pid to slapd.pid. Runs as the
	# current user (root included: no -u/-g needed for a throwaway).
	if slapd -h "$(listeners)" -F "$dir/slapd.d" 2>"$dir/slapd.log"; then
		i=0
		while [ $i -lt 200 ]; do
			if ldapsearch -x -LLL -o nettimeout=1 -H "ldap://127.0.0.1:$port/" -b "" -s base namingContexts >/dev/null 2>&1; then
				pid=$(cat "$dir/slapd.pid")
				write_env
				cat "$dir/env"
				exit 0
			fi
			i=$((i + 1))
			sleep 0.05
		done
		[ -f "$dir/slapd.pid" ] && kill "$(cat "$dir/slapd.pid")" 2>/dev/null || true
	fi
	tries=$((tries + 1))
	# A port taken between free_port and slapd's bind: try another one,
	# but only on a first start (a restart must keep its port).
	if [ -z "$fresh" ] || [ $tries -ge 5 ]; then
		cat "$dir/slapd.log" >&2
		die "slapd did not start on port $port"
	fi
	port= sport=
done
