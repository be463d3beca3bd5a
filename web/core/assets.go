package core

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
)

// robotsTxt lets search engines list the public danh bạ and nothing that
// needs a sign-in.
const robotsTxt = `User-agent: *
Allow: /danhba
Disallow: /login
Disallow: /mail
Disallow: /admin
Disallow: /settings
Disallow: /security
Disallow: /password
`

// favicon is a 32×32 PNG drawn once at start: the red field of the
// header with a gold five-pointed star's outline approximated by a
// diamond (no binary file in the repository).
var favicon = func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	red, gold := color.RGBA{0xa3, 0x1d, 0x1d, 0xff}, color.RGBA{0xf2, 0xc2, 0x30, 0xff}
	for y := range 32 {
		for x := range 32 {
			img.Set(x, y, red)
			dx, dy := x-16, y-16
			if dx < 0 {
				dx = -dx
			}
			if dy < 0 {
				dy = -dy
			}
			if dx+dy <= 9 {
				img.Set(x, y, gold)
			}
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}()

// Assets serves /static/…, /favicon.ico and /robots.txt: the site mounts
// it, and so does the plain HTTP listener for the public pages.
func Assets() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/{file}", serveStatic)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Write(favicon)
	})
	mux.HandleFunc("GET /robots.txt", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Write([]byte(robotsTxt))
	})
	return mux
}
