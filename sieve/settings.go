// Package sieve applies per-user delivery rules (RFC 5228 subset with
// fileinto, imap4flags, envelope, vacation RFC 5230, redirect) and stores
// them per user for ManageSieve (RFC 5804) and the webmail.
//
// This file is the seam agreed before work on issues 11 and 13 started:
// the webmail's vacation page and ManageSieve edit the same per-user
// script, and delivery applies it; there is one implementation of the
// vacation rule (in this package), never a second one in the web.
package sieve

import (
	"context"
	"time"
)

// Vacation is the auto-reply an official sets in the webmail. It is stored
// as (part of) the user's active Sieve script, so a client editing the
// script over ManageSieve sees and changes the same thing.
type Vacation struct {
	Enabled bool
	// Start and End bound the days the reply is sent (dates in
	// Asia/Ho_Chi_Minh; zero means open-ended).
	Start, End time.Time
	Subject    string
	Body       string // plain text, UTF-8
	// Days is the RFC 5230 :days interval: one reply per sender per Days.
	Days int
}

// Settings is what the webmail uses to read and change an official's
// delivery settings; the sieve package implements it over the stored
// scripts.
type Settings interface {
	Vacation(ctx context.Context, user string) (Vacation, error)
	SetVacation(ctx context.Context, user string, v Vacation) error
}
