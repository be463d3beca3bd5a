package account

// Two-factor sign-in and app passwords (/security). Turning it on shows a
// QR code (an SVG drawn here, nothing loaded from elsewhere) and the
// secret as text, and takes the first code from the app; the ten recovery
// codes are then shown once. Once it is on, mail apps need an app password
// each (shown once, listed with their last use, revocable): the main
// password no longer opens IMAP, POP3 or SMTP. Turning it off, and new
// recovery codes, need the current password and a code.

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/skip2/go-qrcode"

	"congvu/internal/mailerr"
	"congvu/web/core"
	"congvu/web/twofactor"
)

type securityData struct {
	Available bool
	Enabled   bool
	// Enrolling: a secret waits for its first code.
	Enrolling    bool
	QR           template.HTML
	Secret       string
	Recovery     []string // just made: shown once
	RecoveryLeft int
	Apps         []appView
	NewApp       string // just made: shown once
	NewAppName   string
}

type appView struct {
	ID                  int64
	Name, Created, Used string
}

var errNoTwoFactor = &mailerr.Error{SMTPCode: 451, Enhanced: [3]int{4, 3, 0}, Temporary: true, HTTPStatus: http.StatusServiceUnavailable,
	Message: "Two-factor sign-in is not available on this server", MessageVI: "Máy chủ này chưa có xác thực hai bước"}

func (wb *room) securityPage(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	wb.renderSecurity(w, r, c, &securityData{}, nil)
}

// renderSecurity fills d from the store and shows the page.
func (wb *room) renderSecurity(w http.ResponseWriter, r *http.Request, c *core.Ctx, d *securityData, n *core.Notice) {
	ctx := r.Context()
	tf := wb.opts.TwoFactor
	d.Available = tf != nil
	if tf != nil {
		var err error
		if d.Enabled, err = tf.Enabled(ctx, c.Acct.Address); err != nil {
			wb.Fail(w, "security", err)
			return
		}
		if d.Enabled {
			d.RecoveryLeft, _ = tf.RecoveryLeft(ctx, c.Acct.Address)
			apps, err := tf.AppPasswords(ctx, c.Acct.Address)
			if err != nil {
				wb.Fail(w, "security", err)
				return
			}
			for _, a := range apps {
				d.Apps = append(d.Apps, appView{ID: a.ID, Name: a.Name, Created: core.FormatTime(a.Created),
					Used: usedText(a.LastUsed.IsZero(), core.FormatTime(a.LastUsed), a.LastProto)})
			}
		} else if secret, err := tf.Pending(ctx, c.Acct.Address); err == nil && r.Method == http.MethodPost {
			d.Enrolling, d.Secret = true, twofactor.SecretText(secret)
			d.QR = qrSVG(twofactor.URI("Thư công vụ", c.Acct.Address, secret))
		}
	}
	p := wb.Page(c, "Bảo mật đăng nhập", "Sign-in security", d)
	if n != nil {
		p.Notice = n
	}
	wb.Render(w, http.StatusOK, tmpl["security"], p)
}

func usedText(never bool, at, proto string) string {
	if never {
		return "chưa dùng"
	}
	return at + " (" + strings.ToUpper(proto) + ")"
}

// securitySubmit turns two-factor sign-in on or off and manages recovery
// codes and app passwords.
func (wb *room) securitySubmit(w http.ResponseWriter, r *http.Request, c *core.Ctx) {
	tf := wb.opts.TwoFactor
	if tf == nil {
		wb.Fail(w, "security", errNoTwoFactor)
		return
	}
	ctx, addr := r.Context(), c.Acct.Address
	d := &securityData{}
	var n *core.Notice
	fail := func(err error) {
		e := mailerr.Classify(err)
		n = core.ErrorNotice(e)
	}
	// needProof: turning it off or new recovery codes take the password
	// (through the login policy, as every password check) and a code.
	needProof := func() bool {
		if _, err := wb.CheckPassword(ctx, addr, r.PostFormValue("password"), core.ClientIP(r)); err != nil {
			if errors.Is(err, mailerr.ErrAuthFailed) {
				err = mailerr.ErrAuthFailed.WithMessage("The password is wrong", "Mật khẩu không đúng")
			}
			fail(err)
			return false
		}
		ok, err := tf.Verify(ctx, addr, r.PostFormValue("code"))
		if err == nil && !ok {
			err = twofactor.ErrWrongCode
		}
		if err != nil {
			fail(err)
			return false
		}
		return true
	}
	switch r.PostFormValue("action") {
	case "start":
		if _, err := tf.Start(ctx, addr); err != nil {
			fail(err)
		}
	case "confirm":
		codes, err := tf.Confirm(ctx, addr, r.PostFormValue("code"))
		if err != nil {
			fail(err)
			break
		}
		d.Recovery = codes
		wb.Log.Info("web: two-factor sign-in on", "address", addr)
		n = &core.Notice{Kind: "ok", VI: "Đã bật xác thực hai bước. Hãy lưu các mã dự phòng dưới đây ở nơi an toàn.",
			EN: "Two-step verification is on. Keep the recovery codes below somewhere safe."}
	case "disable":
		if needProof() {
			if err := tf.Disable(ctx, addr); err != nil {
				fail(err)
				break
			}
			wb.Log.Info("web: two-factor sign-in off", "address", addr)
			n = &core.Notice{Kind: "ok", VI: "Đã tắt xác thực hai bước; các mật khẩu ứng dụng đã bị thu hồi.",
				EN: "Two-step verification is off; app passwords were revoked."}
		}
	case "recovery":
		if needProof() {
			codes, err := tf.NewRecoveryCodes(ctx, addr)
			if err != nil {
				fail(err)
				break
			}
			d.Recovery = codes
			n = &core.Notice{Kind: "ok", VI: "Đã tạo mã dự phòng mới; các mã cũ hết hiệu lực.", EN: "New recovery codes; the old ones no longer work."}
		}
	case "newapp":
		name := r.PostFormValue("name")
		pw, err := tf.NewAppPassword(ctx, addr, name)
		if err != nil {
			fail(err)
			break
		}
		d.NewApp, d.NewAppName = pw, name
		wb.Log.Info("web: app password made", "address", addr)
	case "revoke":
		id, _ := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
		if err := tf.RevokeAppPassword(ctx, addr, id); err != nil {
			fail(err)
			break
		}
		wb.Log.Info("web: app password revoked", "address", addr, "id", id)
		n = &core.Notice{Kind: "ok", VI: "Đã thu hồi mật khẩu ứng dụng.", EN: "App password revoked."}
	default:
		fail(mailerr.ErrCannotDo.WithMessage("Unknown action", "Thao tác không hợp lệ"))
	}
	// Codes and passwords shown once: this page is the POST's answer, not
	// a redirect, and no-store keeps it out of the browser's history.
	wb.renderSecurity(w, r, c, d, n)
}

// qrSVG draws the QR code of text as one SVG path, 4 modules of quiet
// zone (ISO/IEC 18004 6.3.8), scaled by the page's style sheet.
func qrSVG(text string) template.HTML {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return ""
	}
	q.DisableBorder = true
	bits := q.Bitmap()
	n := len(bits)
	var path strings.Builder
	for y, row := range bits {
		for x, on := range row {
			if on {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x+4, y+4)
			}
		}
	}
	return template.HTML(fmt.Sprintf(`<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="Mã QR để quét bằng ứng dụng xác thực / QR code for the authenticator app" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path d="%s" fill="#000"/></svg>`,
		n+8, n+8, n+8, n+8, path.String()))
}
