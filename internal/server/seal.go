package server

import (
	"congvu/internal/config"
	"congvu/internal/sealbox"
)

// OpenSealBox returns the node's seal box (internal/sealbox): the key in
// the data directory's seal.key, made on first use. The server and the
// admin commands seal the secrets they keep in web.db and org.db with it.
func OpenSealBox(cfg config.Config) (*sealbox.Box, error) {
	return sealbox.OpenFile(cfg.Path(sealbox.KeyFile))
}
