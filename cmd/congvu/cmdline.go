package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"congvu/internal/mailerr"
)

// errHelpRequested: the user asked for a command's help (--help); it was
// printed on standard output and the command exits 0.
var errHelpRequested = errors.New("help requested")

// parseFlags parses a subcommand's arguments, flags and operands in any
// order ("account lock ADDRESS --reason x" as well as "account lock --reason
// x ADDRESS"); "--" ends the flags. Afterwards fs.Args() are the operands.
// --help prints the command's own usage on stdout.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			fs.SetOutput(stdout)
			fs.Usage()
			return errHelpRequested
		}
	}
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		// Parse stops at the first operand, or consumes a "--".
		consumedDash := len(args) > len(rest) && args[len(args)-len(rest)-1] == "--"
		if consumedDash {
			operands = append(operands, rest...)
			break
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, operands...))
}

// newFlags is a subcommand's flag set: errors go to stderr, and its usage
// is the one-line synopsis followed by its own flags.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: %s\n", synopsis)
		has := false
		fs.VisitAll(func(*flag.Flag) { has = true })
		if has {
			fmt.Fprintln(w, "flags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// sentence turns an error into the line a command prints: a mail error is
// told in Vietnamese and English words, without the SMTP codes it carries
// for the protocols ("550 5.1.1 No such user here").
func sentence(err error) string {
	me := mailerr.As(err)
	if me == nil {
		return err.Error()
	}
	words := me.Message
	if me.MessageVI != "" {
		words = me.MessageVI + " / " + me.Message
	}
	if me.Err != nil {
		words += ": " + me.Err.Error()
	}
	full := err.Error()
	if i := strings.Index(full, me.Error()); i >= 0 {
		return full[:i] + words + full[i+len(me.Error()):]
	}
	return words
}
