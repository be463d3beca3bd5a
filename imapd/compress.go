package imapd

import (
	"bufio"
	"compress/flate"
	"strings"

	"congvu/imapd/wire"
)

// cmdCompress implements COMPRESS DEFLATE (RFC 4978): after the tagged
// OK both directions are raw DEFLATE streams; each response is flushed
// with a sync flush so the client can read it at once (RFC 4978 §4).
func (c *conn) cmdCompress(cmd *wire.Command) error {
	if !strings.EqualFold(cmd.Args[0], "DEFLATE") {
		return no("CANNOT", "Unsupported compression; use DEFLATE")
	}
	if c.compressed {
		return no("COMPRESSIONACTIVE", "Compression is already active")
	}
	c.w.Status(c.tag, "OK", "", "DEFLATE active")
	if err := c.flush(); err != nil {
		return err
	}
	// What the client sent after the command is compressed already: the
	// inflater reads through the buffered reader that may hold it; see
	// inflater for why it is our own.
	c.r.SetSource(bufio.NewReaderSize(newInflater(c.r.Source()), 4096))
	zw, err := flate.NewWriter(c.nc, flate.DefaultCompression)
	if err != nil {
		return err
	}
	c.zw = zw
	c.w.Dest().Reset(zw)
	c.compressed = true
	c.answered()
	return nil
}
