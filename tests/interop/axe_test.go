package interop

import (
	"context"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeViolation is one rule axe-core finds broken on a page.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeSerious runs axe-core 4.14 (npm, tests/interop/package.json; .ci/run
// installs it) in the page and returns its serious and critical
// violations. The script goes in through the DevTools protocol, so the
// page's CSP (no inline script) stays as it is.
func axeSerious(t *testing.T, ctx context.Context) []axeViolation {
	t.Helper()
	src, err := os.ReadFile("node_modules/axe-core/axe.min.js")
	if err != nil {
		t.Fatalf("axe-core is not installed (cd tests/interop && npm ci): %v", err)
	}
	runT(t, ctx, chromedp.Evaluate[bool](string(src)+";true"))
	return runT(t, ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ['violations']}).then(r =>
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v =>
			({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))`, chromedp.EvalAwaitPromise))
}
