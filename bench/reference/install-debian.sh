#!/bin/sh
# Installs what congvu-bench compares against and runs (issue 4): Debian
# Postfix (with smtp-sink and ldap: tables), Dovecot with IMAP, LMTP and
# LDAP authentication, and OpenLDAP slapd for the directory part. Does
# nothing when they are present; when they are missing and this is not a
# root Debian system it only says so, and congvu-bench reports "not
# measured" for what it cannot run.
# The packages' own services are not used: the bench runs private instances
# with their own configuration on 127.0.0.1 free ports.
set -eu

PATH="$PATH:/usr/sbin:/sbin"
missing=""
command -v postfix >/dev/null 2>&1 || missing="$missing postfix"
command -v smtp-sink >/dev/null 2>&1 || missing="$missing postfix"
# postconf -m needs /etc/postfix/main.cf, which the bench does not use:
# postfix-ldap registers its table type in the dynamic map registry.
cat /etc/postfix/dynamicmaps.cf /etc/postfix/dynamicmaps.cf.d/* 2>/dev/null | grep -q '^ldap[[:space:]]' || missing="$missing postfix-ldap"
command -v dovecot >/dev/null 2>&1 || missing="$missing dovecot-core"
[ -x /usr/lib/dovecot/lmtp ] || missing="$missing dovecot-lmtpd"
[ -x /usr/lib/dovecot/imap ] || missing="$missing dovecot-imapd"
[ -f /usr/lib/dovecot/modules/auth/libauthdb_ldap.so ] || missing="$missing dovecot-ldap"
command -v slapd >/dev/null 2>&1 || missing="$missing slapd"
command -v ldapsearch >/dev/null 2>&1 || missing="$missing ldap-utils"
[ -f /var/lib/roundcube/public_html/index.php ] || missing="$missing roundcube-core"
php -m 2>/dev/null | grep -qx pdo_sqlite || missing="$missing roundcube-sqlite3"
command -v php >/dev/null 2>&1 || missing="$missing php-cli"

if [ -z "$missing" ]; then
	exit 0
fi
packages="postfix postfix-ldap dovecot-core dovecot-imapd dovecot-lmtpd dovecot-ldap slapd ldap-utils"
webmail="roundcube-core roundcube-sqlite3 php-cli"
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "bench: reference servers missing ($missing); install as root:" >&2
	echo "  apt-get install -y $packages; apt-get install -y --no-install-recommends $webmail" >&2
	exit 0
fi
echo "bench: installing reference servers:$missing" >&2
# slapd asks for an admin password; the bench never uses the system
# instance (deploy/ldap/start-slapd.sh runs a private one).
DEBIAN_FRONTEND=noninteractive apt-get install -y $packages >&2
# Roundcube (the webmail reference) gets a private configuration and
# SQLite database from the bench and PHP's built-in server: no database
# set-up, and no web server (a recommended one would start a service).
echo "roundcube-core roundcube/dbconfig-install boolean false" | debconf-set-selections
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $webmail >&2
