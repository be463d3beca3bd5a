package imapd

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// TestIdleMemoryProfile holds IMAPD_IDLE_PROFILE_N sessions in IDLE and
// writes a heap profile to IMAPD_IDLE_PROFILE (a tool, skipped otherwise).
func TestIdleMemoryProfile(t *testing.T) {
	out := os.Getenv("IMAPD_IDLE_PROFILE")
	if out == "" {
		t.Skip("IMAPD_IDLE_PROFILE not set")
	}
	n := 300
	fmt.Sscan(os.Getenv("IMAPD_IDLE_PROFILE_N"), &n)
	runtime.MemProfileRate = 1
	e := newEnv(t)
	for i := range 200 {
		e.deliver(userAddr, simpleMsg(fmt.Sprintf("thư %d", i), "nội dung", time.Now()))
	}
	var conns []*tls.Conn
	for range n {
		c, err := tls.Dial("tcp", e.implicit, e.tlsConfig())
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		br.ReadString('\n')
		for _, cmd := range []string{"a LOGIN " + userAddr + " \"" + userPass + "\"", "b SELECT INBOX", "c IDLE"} {
			fmt.Fprintf(c, "%s\r\n", cmd)
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(l, cmd[:2]) || strings.HasPrefix(l, "+") {
					break
				}
			}
		}
		conns = append(conns, c)
	}
	time.Sleep(time.Second)
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%d sessions: heap %d KiB, stack %d KiB, goroutines %d", n, ms.HeapAlloc>>10, ms.StackInuse>>10, runtime.NumGoroutine())
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	pprof.Lookup("heap").WriteTo(f, 0)
	f.Close()
	for _, c := range conns {
		c.Close()
	}
}
