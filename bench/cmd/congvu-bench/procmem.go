package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procMem is the memory of a process tree: RSS counts shared pages once per
// process (it overstates a multi-process server), PSS shares them out.
type procMem struct {
	Processes int   `json:"processes"`
	RSSKiB    int64 `json:"rss_kib"`
	PSSKiB    int64 `json:"pss_kib"`
}

// parseKiB reads "Key:   1234 kB" lines of /proc/PID/status or
// smaps_rollup.
func parseKiB(data []byte, key string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// parentOf returns the parent pid from /proc/PID/stat.
func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name is in parentheses and may contain spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// treeMem sums the memory of root and all its descendants.
func treeMem(root int) procMem {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			parent[pid] = parentOf(pid)
		}
	}
	inTree := func(pid int) bool {
		for p, n := pid, 0; p > 1 && n < 64; p, n = parent[p], n+1 {
			if p == root {
				return true
			}
		}
		return false
	}
	var m procMem
	for pid := range parent {
		if !inTree(pid) {
			continue
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		m.Processes++
		m.RSSKiB += parseKiB(status, "VmRSS")
		if rollup, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
			m.PSSKiB += parseKiB(rollup, "Pss")
		}
	}
	return m
}

// clockTicks is USER_HZ, the unit of CPU times in /proc/PID/stat: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// treeCPU is the CPU time (user + system, in seconds) used so far by root
// and its descendants, including descendants that exited and were reaped
// (their time is in their parent's cutime/cstime): Dovecot's imap
// processes end with each session.
func treeCPU(root int) float64 {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			parent[pid] = parentOf(pid)
		}
	}
	var ticks int64
	for pid := range parent {
		in := false
		for p, n := pid, 0; p > 1 && n < 64; p, n = parent[p], n+1 {
			if p == root {
				in = true
				break
			}
		}
		if !in {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		// After the command: state ppid pgrp session tty tpgid flags
		// minflt cminflt majflt cmajflt utime stime cutime cstime.
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 {
			continue
		}
		for _, x := range f[11:15] {
			n, _ := strconv.ParseInt(x, 10, 64)
			ticks += n
		}
	}
	return float64(ticks) / clockTicks
}

// measuredRun is a child process run to completion with its resource use.
type measuredRun struct {
	Seconds   float64 `json:"seconds"`
	MaxRSSKiB int64   `json:"max_rss_kib"` // peak RSS (wait4 rusage)
	Output    string  `json:"-"`
}

// runMeasured runs name args and reports wall time and peak RSS; stderr
// goes to logPath.
func runMeasured(logPath, name string, args ...string) (measuredRun, error) {
	var r measuredRun
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return r, err
	}
	defer logf.Close()
	cmd.Stderr = logf
	start := time.Now()
	err = cmd.Run()
	r.Seconds = time.Since(start).Seconds()
	r.Output = out.String()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru != nil {
		r.MaxRSSKiB = ru.Maxrss // KiB on Linux
	}
	if err != nil {
		return r, fmt.Errorf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out.String(), readTail(logPath))
	}
	return r, nil
}

// raiseFileLimit lifts RLIMIT_NOFILE as far as the kernel allows; servers
// started afterwards inherit it (10,000 idle clients need 10,000 sockets on
// each side).
func raiseFileLimit(want uint64) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && want > n {
			want = n
		}
	}
	if lim.Max < want {
		lim.Max = want // only root may raise the hard limit
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
	}
	lim.Cur = lim.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}
