package mail

// HTML mail. The 2023 attack on Vietnamese government webmail was script
// in a message (Zimbra XSS), so HTML from a message meets three walls:
//
//  1. bluemonday removes everything but formatting: no script, no event
//     handler, no form, no style sheet, no SVG, no iframe; links only to
//     http, https and mailto, opening a new tab without opener or
//     referrer; a style attribute only with properties whose values
//     bluemonday's CSS checks accept (no url(), no expression());
//     images only from the message itself (cid:, turned into data: URIs
//     here), never from the network, so no tracking pixel reports that
//     the official read the message.
//  2. The result is served from its own URL with a CSP that is a sandbox
//     without allow-scripts or allow-same-origin: even script that got
//     through could not run, and the page is an opaque origin without our
//     cookies. Nothing loads from the network (default-src 'none').
//  3. Our own pages embed it in an <iframe sandbox> and allow only
//     same-origin frames (frame-src 'self'); it cannot frame anything
//     itself.

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
)

// frameCSP is the CSP of the sanitised HTML body (see above).
const frameCSP = "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src data: cid:; " +
	"style-src 'unsafe-inline'; font-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'"

// frameSandbox is the sandbox attribute of the iframe in our page: links
// may open a new tab (as a normal page), nothing else.
const frameSandbox = "allow-popups allow-popups-to-escape-sandbox"

// mailStyles are the CSS properties kept in style attributes, each checked
// by bluemonday's value handler for that property. Positioning, display,
// backgrounds with images and anything animated are left out.
var mailStyles = []string{
	"color", "background-color", "font-family", "font-size", "font-style", "font-weight", "font-variant",
	"text-align", "text-decoration", "text-indent", "text-transform", "line-height", "letter-spacing", "word-spacing",
	"vertical-align", "white-space", "direction",
	"margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
	"padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
	"border", "border-top", "border-right", "border-bottom", "border-left",
	"border-color", "border-style", "border-width", "border-collapse", "border-spacing", "border-radius",
	"width", "height", "max-width", "min-width", "max-height", "min-height",
	"list-style-type", "caption-side", "table-layout",
}

// imgSrc is what an img src may be before the rewrite: a part of the
// message, or an image already inline.
var imgSrc = regexp.MustCompile(`(?i)^\s*(cid:|data:image/(gif|jpeg|png|webp);base64,)`)

// mailPolicy is the sanitiser for one message; images are its inline
// images by Content-ID. A Policy is cheap to build; building one per
// message keeps the cid: rewrite free of shared state. It is built up
// from an empty policy rather than from UGCPolicy, whose img src takes
// any http(s) URL (bluemonday can add rules, not take them away).
func mailPolicy(images map[string]inlineImage) *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowStandardAttributes() // dir, lang, id, title
	p.AllowElements("article", "aside", "section", "summary", "figure", "figcaption", "hgroup",
		"h1", "h2", "h3", "h4", "h5", "h6", "br", "div", "hr", "p", "span", "wbr", "blockquote",
		"abbr", "acronym", "cite", "code", "dfn", "em", "mark", "s", "samp", "strong", "sub", "sup", "var",
		"b", "i", "pre", "small", "strike", "tt", "u", "del", "ins", "center", "font", "address")
	p.AllowLists()
	p.AllowTables()
	p.AllowURLSchemes("mailto", "http", "https", "cid")
	p.AllowDataURIImages()
	p.AllowRelativeURLs(false) // a relative link would point into this server
	p.AllowAttrs("href").OnElements("a")
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true) // adds rel="noopener" too
	// Only the message's own images: never one from the network.
	p.AllowAttrs("src").Matching(imgSrc).OnElements("img")
	p.AllowAttrs("alt").Matching(bluemonday.Paragraph).OnElements("img")
	p.AllowAttrs("height", "width").Matching(bluemonday.NumberOrPercent).OnElements("img")
	p.AllowStyles(mailStyles...).Globally()
	p.AllowAttrs("align").Matching(regexp.MustCompile(`(?i)^(left|right|center|justify)$`)).OnElements("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "table", "img")
	colour := regexp.MustCompile(`^#?[0-9a-fA-F]{3,8}$|^[a-zA-Z]{3,20}$`)
	p.AllowAttrs("bgcolor").Matching(colour).OnElements("table", "tr", "td", "th")
	p.AllowAttrs("cellpadding", "cellspacing", "border").Matching(bluemonday.Integer).OnElements("table")
	p.AllowAttrs("color").Matching(colour).OnElements("font")
	p.AllowAttrs("face").Matching(regexp.MustCompile(`^[\p{L}\p{N} ,_-]{1,100}$`)).OnElements("font")
	p.AllowAttrs("size").Matching(regexp.MustCompile(`^[+-]?[1-7]$`)).OnElements("font")
	p.RewriteSrc(func(u *url.URL) {
		if !strings.EqualFold(u.Scheme, "cid") {
			return
		}
		id := u.Opaque
		if dec, err := url.PathUnescape(id); err == nil {
			id = dec // RFC 2392: cid URLs are %-encoded Content-IDs
		}
		img, ok := images[id]
		if !ok {
			return // stays cid:, which nothing loads
		}
		*u = url.URL{Scheme: "data", Opaque: img.Type + ";base64," + base64.StdEncoding.EncodeToString(img.Data)}
	})
	return p
}

// sanitizeHTML returns the message's HTML made safe, and how many images
// from the network it had (now blocked).
func sanitizeHTML(src string, images map[string]inlineImage) (string, int) {
	return mailPolicy(images).Sanitize(src), countRemoteImages(src)
}

// countRemoteImages counts img elements that would load from the network
// (http:, https: or scheme-relative //).
func countRemoteImages(src string) int {
	z := html.NewTokenizer(strings.NewReader(src))
	n := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return n
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) != "img" {
				continue
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				s := strings.ToLower(strings.TrimSpace(string(v)))
				if string(k) == "src" && (strings.HasPrefix(s, "http:") || strings.HasPrefix(s, "https:") || strings.HasPrefix(s, "//")) {
					n++
				}
			}
		}
	}
}

// frameDocument wraps sanitised HTML in the document the frame shows.
// The style element is ours; the message's own ones were removed.
func frameDocument(body string) string {
	return `<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">` +
		`<style>body{margin:0;padding:.8rem 1rem;font:15px/1.5 system-ui,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;color:#1d2430;background:#fff;overflow-wrap:anywhere}` +
		`img{max-width:100%;height:auto}table{max-width:100%}pre{white-space:pre-wrap}blockquote{margin:0 0 0 .8rem;padding-left:.8rem;border-left:3px solid #d9dde3}</style>` +
		`</head><body>` + body + `</body></html>`
}

// htmlToText is the text of an HTML body, for quoting it in a reply or a
// forward: text nodes with HTML's whitespace collapsed, a line break for
// each block element and <br>, nothing of scripts, styles or the head.
func htmlToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var b strings.Builder
	skip := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidyLines(b.String())
		case html.TextToken:
			if skip == 0 {
				b.WriteString(htmlSpace.ReplaceAllString(string(z.Text()), " "))
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "hr":
				b.WriteByte('\n')
			case "td", "th":
				b.WriteByte('\t')
			}
		}
	}
}

// htmlSpace is HTML's inter-element white space (no-break space is text).
var htmlSpace = regexp.MustCompile(`[ \t\r\n\f]+`)

// tidyLines trims every line and keeps at most one empty line in a row.
func tidyLines(s string) string {
	var out []string
	empty := 0
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			if empty++; empty > 1 || len(out) == 0 {
				continue
			}
		} else {
			empty = 0
		}
		out = append(out, line)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
