#!/bin/sh
# build-deb.sh [--binary FILE] [--out DIR] — build the Debian package of
# congvu (make deb): the binary in /usr/bin, the systemd unit, the example
# configuration as /etc/congvu/congvu.toml (a conffile), the nginx, LDAP
# and operator documentation in /usr/share/doc/congvu. Without --binary the
# binary is built (cgo, for SQLite). Needs dpkg-deb only (no fakeroot:
# files are owned by root in the package).
set -eu
cd "$(dirname "$0")/../.."
bin= out=dist
while [ $# -gt 0 ]; do
	case $1 in
	--binary) bin=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "usage: build-deb.sh [--binary FILE] [--out DIR]" >&2; exit 2 ;;
	esac
done
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
stamp=$(git log -1 --format=%cd --date=format:%Y%m%d%H%M 2>/dev/null || date +%Y%m%d%H%M)
version="0.1.0~git${stamp}.${rev}"
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/congvu" \
	"$stage/usr/share/doc/congvu/nginx" "$stage/usr/share/doc/congvu/ldap"
if [ -z "$bin" ]; then
	CGO_ENABLED=1 go build -trimpath -buildvcs=true -ldflags "-X main.version=$version" -o "$stage/usr/bin/congvu" ./cmd/congvu
else
	install -m 0755 "$bin" "$stage/usr/bin/congvu"
fi
chmod 0755 "$stage/usr/bin/congvu"
install -m 0644 deploy/systemd/congvu.service "$stage/lib/systemd/system/congvu.service"
install -m 0640 deploy/congvu.example.toml "$stage/etc/congvu/congvu.toml"
install -m 0644 README.md docs/operations.md deploy/congvu.example.toml "$stage/usr/share/doc/congvu/"
install -m 0644 deploy/nginx/congvu-mail.conf "$stage/usr/share/doc/congvu/nginx/"
install -m 0644 deploy/ldap/*.ldif deploy/ldap/README.md "$stage/usr/share/doc/congvu/ldap/"
for s in postinst prerm postrm; do
	install -m 0755 "deploy/debian/$s" "$stage/DEBIAN/$s"
done
echo /etc/congvu/congvu.toml >"$stage/DEBIAN/conffiles"
size=$(du -sk "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: congvu
Version: $version
Architecture: $arch
Maintainer: congvu <postmaster@localhost>
Installed-Size: $size
Depends: libc6 (>= 2.34), adduser | passwd
Recommends: nginx, libnginx-mod-mail, libnginx-mod-stream
Suggests: slapd, ldap-utils
Section: mail
Priority: optional
Homepage: https://localhost/congvu
Description: official e-mail platform for Vietnamese state agencies
 congvu (thư điện tử công vụ) is one Go binary with SMTP (MX and
 submission), IMAP4rev2, POP3, a webmail and admin web, a directory of
 officials (SQLite or OpenLDAP), a policy engine, a crash-safe mail store,
 backups, ACME certificates and multi-node operation behind nginx.
CONTROL
mkdir -p "$out"
deb="$out/congvu_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$stage" "$deb" >/dev/null
echo "$deb"
