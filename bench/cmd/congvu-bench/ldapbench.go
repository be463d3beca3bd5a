package main

// ldapServer is a slapd started by deploy/ldap/start-slapd.sh.
type ldapServer struct {
	dir    string
	url    string
	base   string
	bindDN string
	bindPW string
}
