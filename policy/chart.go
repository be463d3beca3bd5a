package policy

import (
	"bufio"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
)

// The chart of an access report: a line of the overall daily rate on top,
// and below it one row per unit (sub-totals included) with one cell per
// day, coloured by that day's rate, so a province of a hundred units over a
// month stays readable.
const (
	chartLabelW = 280 // unit names
	chartCellW  = 14
	chartCellH  = 14
	chartLineH  = 120 // the overall line
	chartPad    = 10
)

// rateColor maps 0-100 % from red through yellow to green.
func rateColor(p float64) color.RGBA {
	p = max(0, min(100, p)) / 100
	if p < 0.5 {
		return color.RGBA{R: 220, G: uint8(60 + 330*p), B: 60, A: 255}
	}
	return color.RGBA{R: uint8(220 - 340*(p-0.5)), G: 200, B: 60, A: 255}
}

func chartRows(r *AccessReport) []AccessRow {
	return append(append([]AccessRow(nil), r.Rows...), r.Total)
}

// RenderAccessSVG writes the report's chart as a standalone SVG image.
func RenderAccessSVG(w io.Writer, r *AccessReport) error {
	bw := bufio.NewWriter(w)
	rows := chartRows(r)
	n := len(r.Days)
	width := chartLabelW + n*chartCellW + 2*chartPad + 50
	top := chartPad + 24 + chartLineH + 30
	height := top + len(rows)*chartCellH + chartPad + 20
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		width, height, width, height)
	fmt.Fprintf(bw, `<title>%s</title>`+"\n", html.EscapeString("Tỷ lệ truy cập hằng ngày / Daily access rate — "+r.UnitName))
	fmt.Fprintf(bw, `<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", chartPad, chartPad+14,
		html.EscapeString(fmt.Sprintf("Tỷ lệ truy cập hằng ngày / Daily access rate — %s, %s – %s", r.UnitName, r.Query.From.VN(), r.Query.To.VN())))
	// Overall line, 0-100 %.
	x0, y0 := chartLabelW+chartPad, chartPad+24
	fmt.Fprintf(bw, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", x0, y0, n*chartCellW, chartLineH)
	for _, p := range []int{0, 50, 100} {
		y := y0 + chartLineH - p*chartLineH/100
		fmt.Fprintf(bw, `<text x="%d" y="%d" text-anchor="end">%d%%</text>`+"\n", x0-4, y+4, p)
	}
	var pts []string
	for i := range r.Days {
		x := x0 + i*chartCellW + chartCellW/2
		y := float64(y0+chartLineH) - r.Total.Rate(i)*chartLineH/100
		pts = append(pts, fmt.Sprintf("%d,%.1f", x, y))
	}
	fmt.Fprintf(bw, `<polyline points="%s" fill="none" stroke="#1f5fa8" stroke-width="2"/>`+"\n", strings.Join(pts, " "))
	fmt.Fprintf(bw, `<text x="%d" y="%d">Toàn bộ / overall</text>`+"\n", chartPad, y0+chartLineH/2)
	// Day labels every few days.
	step := max(1, (n+15)/16)
	for i, d := range r.Days {
		if i%step == 0 {
			_, m, dd := d.Date()
			fmt.Fprintf(bw, `<text x="%d" y="%d" text-anchor="middle">%02d/%02d</text>`+"\n", x0+i*chartCellW+chartCellW/2, top-8, dd, m)
		}
	}
	for j, row := range rows {
		y := top + j*chartCellH
		name := row.Unit.Name
		if row.Subtotal && j < len(rows)-1 {
			name = "Σ " + name
		}
		fmt.Fprintf(bw, `<text x="%d" y="%d"%s>%s</text>`+"\n", chartPad+row.Depth*8, y+chartCellH-3,
			map[bool]string{true: ` font-weight="bold"`}[row.Subtotal], html.EscapeString(truncate(name, 44-row.Depth)))
		for i := range r.Days {
			c := rateColor(row.Rate(i))
			fmt.Fprintf(bw, `<rect x="%d" y="%d" width="%d" height="%d" fill="#%02x%02x%02x"><title>%s %s: %d/%d</title></rect>`+"\n",
				x0+i*chartCellW, y, chartCellW-1, chartCellH-1, c.R, c.G, c.B,
				html.EscapeString(row.Unit.Name), r.Days[i].VN(), row.Accessed[i], row.Mailboxes)
		}
		fmt.Fprintf(bw, `<text x="%d" y="%d">%.0f%%</text>`+"\n", x0+n*chartCellW+4, y+chartCellH-3, row.AverageRate())
	}
	fmt.Fprintln(bw, `</svg>`)
	return bw.Flush()
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:max(1, n-1)]) + "…"
}

// RenderAccessPNG writes the same chart as a PNG image (image/png). It has
// no text: the rows are in the order of the CSV and HTML tables, and the
// SVG carries the labels.
func RenderAccessPNG(w io.Writer, r *AccessReport) error {
	rows := chartRows(r)
	n := len(r.Days)
	width := n*chartCellW + 2*chartPad
	top := chartPad + chartLineH + chartPad
	height := top + len(rows)*chartCellH + chartPad
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	fill := func(x0, y0, x1, y1 int, c color.RGBA) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				img.SetRGBA(x, y, c)
			}
		}
	}
	fill(0, 0, width, height, color.RGBA{255, 255, 255, 255})
	grey := color.RGBA{200, 200, 200, 255}
	fill(chartPad, chartPad, chartPad+n*chartCellW, chartPad+1, grey)
	fill(chartPad, chartPad+chartLineH, chartPad+n*chartCellW, chartPad+chartLineH+1, grey)
	blue := color.RGBA{31, 95, 168, 255}
	prevY := -1
	for i := range r.Days {
		y := chartPad + chartLineH - int(r.Total.Rate(i)*float64(chartLineH)/100)
		x := chartPad + i*chartCellW
		if prevY >= 0 {
			lo, hi := min(prevY, y), max(prevY, y)
			fill(x, lo, x+2, hi+2, blue)
		}
		fill(x, y, x+chartCellW, y+2, blue)
		prevY = y
	}
	for j, row := range rows {
		y := top + j*chartCellH
		for i := range r.Days {
			fill(chartPad+i*chartCellW, y, chartPad+(i+1)*chartCellW-1, y+chartCellH-1, rateColor(row.Rate(i)))
		}
	}
	return png.Encode(w, img)
}
