package account

// Settings an official expects: the signature text added to new messages,
// the language of the pages, forwarding inside the state's mail (the
// policy engine's forwarding, which checks the target and audits the
// change), the vacation auto-reply (sieve.Settings: delivery applies it),
// and links to two-factor sign-in and to the set-up of mail apps.

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"congvu/directory"
	"congvu/internal/mailerr"
	"congvu/sieve"
	"congvu/web/core"
	"congvu/web/webdb"
)

// Forwarding is the policy engine's forwarding of an account's mail
// (policy.Forwarding behind an adapter).
type Forwarding interface {
	Forward(ctx context.Context, address string) (string, error)
	SetForward(ctx context.Context, actor string, account *directory.Account, target string) error
	ClearForward(ctx context.Context, actor, address string) error
}

// Bounds of the settings form.
const (
	maxSignatureRunes = 2000
	maxVacationRunes  = 5000
	maxVacationDays   = 30
)

type settingsData struct {
	Signature    string
	Language     string
	HasDB        bool
	Forwarding   bool
	Forward      string
	Vacation     bool
	Vac          sieve.Vacation
	VacStart     string
	VacEnd       string
	TwoFactorURL string
}

var errNoSettingsDB = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 3, 0}, Temporary: true, HTTPStatus: http.StatusServiceUnavailable,
	Message: "Settings are not available on this server", MessageVI: "Máy chủ này chưa lưu được cài đặt"}

func (wb *room) settingsPage(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	ctx := r.Context()
	d := settingsData{HasDB: wb.DB() != nil, Forwarding: wb.opts.Forwarding != nil, Vacation: wb.opts.Vacation != nil,
		TwoFactorURL: "/security"}
	var err error
	if db := wb.DB(); db != nil {
		if d.Signature, err = db.Setting(ctx, c.Acct.Address, webdb.SettingSignature); err == nil {
			d.Language, err = db.Setting(ctx, c.Acct.Address, webdb.SettingLanguage)
		}
	}
	if err == nil && wb.opts.Forwarding != nil {
		d.Forward, err = wb.opts.Forwarding.Forward(ctx, c.Acct.Address)
	}
	if err == nil && wb.opts.Vacation != nil {
		if d.Vac, err = wb.opts.Vacation.Vacation(ctx, c.Acct.Address); err == nil {
			d.VacStart, d.VacEnd = dateOrEmpty(d.Vac.Start), dateOrEmpty(d.Vac.End)
		}
	}
	if err != nil {
		wb.Fail(w, "settings", err)
		return
	}
	if d.Vac.Days == 0 {
		d.Vac.Days = 7
	}
	wb.Render(w, http.StatusOK, tmpl["settings"], wb.Page(c, "Cài đặt", "Settings", d))
}

func dateOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(core.Vietnam()).Format(time.DateOnly)
}

// settingsSubmit saves one section of the settings page (what="…").
func (wb *room) settingsSubmit(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	ctx := r.Context()
	var err error
	var done *core.Notice
	switch r.PostFormValue("what") {
	case "signature":
		sig := strings.TrimRight(strings.ReplaceAll(r.PostFormValue("signature"), "\r\n", "\n"), " \n")
		switch {
		case wb.DB() == nil:
			err = errNoSettingsDB
		case utf8.RuneCountInString(sig) > maxSignatureRunes:
			err = mailerr.ErrCannotDo.WithMessage("The signature is too long", "Chữ ký quá dài (tối đa 2.000 ký tự)")
		default:
			err = wb.DB().SetSetting(ctx, c.Acct.Address, webdb.SettingSignature, sig)
			done = &core.Notice{Kind: "ok", VI: "Đã lưu chữ ký thư.", EN: "Signature saved."}
		}
	case "language":
		lang := r.PostFormValue("language")
		switch {
		case wb.DB() == nil:
			err = errNoSettingsDB
		case lang != "vi" && lang != "en":
			err = mailerr.ErrCannotDo.WithMessage("Unknown language", "Ngôn ngữ không hợp lệ")
		default:
			if lang == "vi" {
				lang = "" // the default
			}
			err = wb.DB().SetSetting(ctx, c.Acct.Address, webdb.SettingLanguage, lang)
			done = &core.Notice{Kind: "ok", VI: "Đã đổi ngôn ngữ hiển thị.", EN: "Language changed."}
		}
	case "forward":
		target := strings.TrimSpace(r.PostFormValue("target"))
		switch {
		case wb.opts.Forwarding == nil:
			err = errNoSettingsDB
		case target == "" || r.PostFormValue("clear") != "":
			err = wb.opts.Forwarding.ClearForward(ctx, c.Acct.Address, c.Acct.Address)
			if errors.Is(err, mailerr.ErrUnknownUser) {
				err = nil // there was none
			}
			done = &core.Notice{Kind: "ok", VI: "Đã tắt chuyển tiếp thư.", EN: "Forwarding turned off."}
		default:
			err = wb.opts.Forwarding.SetForward(ctx, c.Acct.Address, c.Acct, target)
			done = &core.Notice{Kind: "ok", VI: "Thư đến sẽ được chuyển tiếp tới " + target + ".", EN: "Mail is forwarded to " + target + "."}
		}
	case "vacation":
		var v sieve.Vacation
		if v, err = parseVacation(r); err == nil {
			if wb.opts.Vacation == nil {
				err = errNoSettingsDB
			} else if err = wb.opts.Vacation.SetVacation(ctx, c.Acct.Address, v); err == nil {
				done = &core.Notice{Kind: "ok", VI: "Đã lưu trả lời tự động.", EN: "Auto-reply saved."}
				if !v.Enabled {
					done = &core.Notice{Kind: "ok", VI: "Đã tắt trả lời tự động.", EN: "Auto-reply turned off."}
				}
			}
		}
	default:
		err = mailerr.ErrCannotDo.WithMessage("Unknown setting", "Cài đặt không hợp lệ")
	}
	if err != nil {
		wb.Log.Info("web: setting refused", "address", c.Acct.Address, "what", r.PostFormValue("what"), "err", err)
		wb.FlashAndGo(w, r, c, "/settings", core.ErrorNotice(mailerr.Classify(err)))
		return
	}
	wb.Log.Info("web: setting changed", "address", c.Acct.Address, "what", r.PostFormValue("what"))
	wb.FlashAndGo(w, r, c, "/settings", done)
}

// parseVacation reads the vacation form.
func parseVacation(r *http.Request) (sieve.Vacation, error) {
	v := sieve.Vacation{Enabled: r.PostFormValue("enabled") == "yes", Subject: strings.TrimSpace(r.PostFormValue("subject")),
		Body: strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n"), Days: 7}
	bad := func(vi, en string) (sieve.Vacation, error) {
		return v, mailerr.ErrCannotDo.WithMessage(en, vi)
	}
	var err error
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"start", &v.Start}, {"end", &v.End}} {
		if s := r.PostFormValue(f.name); s != "" {
			if *f.dst, err = time.ParseInLocation(time.DateOnly, s, core.Vietnam()); err != nil {
				return bad("Ngày không hợp lệ (năm-tháng-ngày)", "Invalid date")
			}
		}
	}
	switch {
	case !v.Start.IsZero() && !v.End.IsZero() && v.End.Before(v.Start):
		return bad("Ngày kết thúc phải sau ngày bắt đầu", "The end is before the start")
	case v.Enabled && strings.TrimSpace(v.Body) == "":
		return bad("Hãy nhập nội dung trả lời tự động", "Enter the reply's text")
	case utf8.RuneCountInString(v.Body) > maxVacationRunes || utf8.RuneCountInString(v.Subject) > 200:
		return bad("Nội dung trả lời tự động quá dài", "The reply is too long")
	}
	return v, nil
}
