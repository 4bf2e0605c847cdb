package client

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// printer writes results: with json, one object per line (NDJSON); else
// the text form. It is safe for concurrent use.
type printer struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

// emit prints rec as JSON or text() as a line.
func (p *printer) emit(rec any, text func() string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		_, err = p.w.Write(append(b, '\n'))
		return err
	}
	_, err := io.WriteString(p.w, text()+"\n")
	return err
}

// FormatSize prints a byte count in binary units: 0B, 1000B, 4KiB, 1.5MiB.
func FormatSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatInt(n, 10) + "B"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + units[i]
}

// ParseSize reads "4096", "4KiB", "5MiB", "1.5GiB", "10MB" (powers of
// 1000), "5M" or "5m" (MiB).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	v, err := strconv.ParseFloat(num, 64)
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1e3, "m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9, "t": 1 << 40, "tib": 1 << 40, "tb": 1e12}[unit]
	if err != nil || v < 0 || mult == 0 || v*mult > 1<<62 {
		return 0, usageErrorf("size %q: want a byte count such as 4096, 64KiB, 5MiB or 1.5GiB", s)
	}
	return int64(v * mult), nil
}

// timeText is the text form of a time: UTC, to the second.
func timeText(t time.Time) string {
	if t.IsZero() {
		return strings.Repeat(" ", 19)
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// durationText prints d compactly: 7d, 12h, 30m, 45s.
func durationText(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// ParseAge reads a duration with days ("7d", "36h", "1d12h") or a date or
// time ("2026-01-02", RFC 3339) and returns the moment it names
// relative to now (a duration counts back from now).
func ParseAge(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return time.Time{}, usageErrorf("%q: want a duration (90m, 36h, 7d) or a date (2026-01-02, 2026-01-02T15:04:05Z)", s)
	}
	return now.Add(-d), nil
}

// ParseDuration is time.ParseDuration with a "d" (24 h) unit in front.
func ParseDuration(s string) (time.Duration, error) {
	var days int64
	if i := strings.Index(s, "d"); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 || n > 100000 {
			return 0, usageErrorf("duration %q: want 90m, 36h, 7d or 1d12h", s)
		}
		days, s = n, s[i+1:]
	}
	var d time.Duration
	if s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 {
			return 0, usageErrorf("duration %q: want 90m, 36h, 7d or 1d12h", s)
		}
	}
	return time.Duration(days)*24*time.Hour + d, nil
}
