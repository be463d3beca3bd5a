package config

import (
	"fmt"
	"time"

	"congvu/policy/password"
)

// Web configures the authenticated web (login, password change, admin
// pages), served only on the HTTPS listener (listen.https).
type Web struct {
	// SessionIdleMinutes ends a session after this long without a request.
	SessionIdleMinutes int `toml:"session_idle_minutes"`
	// SessionMaxHours ends a session this long after login, however active.
	SessionMaxHours int `toml:"session_max_hours"`
	// DBPath is the web database (sessions, officials' web settings),
	// relative to the data directory.
	DBPath string `toml:"db_path"`
}

// Password holds the password rules applied whenever a user sets a
// password (policy/password); the defaults are the regulation's.
type Password struct {
	MinLength      int  `toml:"min_length"`
	RequireUpper   bool `toml:"require_upper"`
	RequireLower   bool `toml:"require_lower"`
	RequireDigit   bool `toml:"require_digit"`
	RequireSpecial bool `toml:"require_special"`
	// MaxAgeDays forces a change at the next web login once the password
	// is older; 0 disables.
	MaxAgeDays int `toml:"max_age_days"`
}

func defaultWeb() Web { return Web{SessionIdleMinutes: 30, SessionMaxHours: 12, DBPath: "web.db"} }

func defaultPassword() Password {
	r := password.Default()
	return Password{MinLength: r.MinLength, RequireUpper: r.RequireUpper, RequireLower: r.RequireLower,
		RequireDigit: r.RequireDigit, RequireSpecial: r.RequireSpecial, MaxAgeDays: r.MaxAgeDays}
}

// Rules converts the section to the rules policy/password applies.
func (p Password) Rules() password.Rules {
	return password.Rules{MinLength: p.MinLength, RequireUpper: p.RequireUpper, RequireLower: p.RequireLower,
		RequireDigit: p.RequireDigit, RequireSpecial: p.RequireSpecial, MaxAgeDays: p.MaxAgeDays}
}

// SessionIdle and SessionMax are the session timeouts as durations.
func (w Web) SessionIdle() time.Duration { return time.Duration(w.SessionIdleMinutes) * time.Minute }
func (w Web) SessionMax() time.Duration  { return time.Duration(w.SessionMaxHours) * time.Hour }

func (c *Config) validateWeb() error {
	if c.Web.SessionIdleMinutes <= 0 || c.Web.SessionMaxHours <= 0 {
		return fmt.Errorf("web.session_idle_minutes and web.session_max_hours must be positive")
	}
	if c.Web.DBPath == "" {
		return fmt.Errorf("web.db_path must be set")
	}
	if c.Web.SessionIdle() > c.Web.SessionMax() {
		return fmt.Errorf("web.session_idle_minutes is longer than web.session_max_hours")
	}
	if p := c.Password; p.MinLength < 1 || p.MinLength > password.MaxLength || p.MaxAgeDays < 0 {
		return fmt.Errorf("password.min_length must be 1–%d and password.max_age_days at least 0", password.MaxLength)
	}
	return nil
}
