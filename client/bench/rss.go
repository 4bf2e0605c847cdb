package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// rssInterval is how often the server's resident memory is sampled.
const rssInterval = 200 * time.Millisecond

// readRSS reads a process's resident set size from /proc (Linux).
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("reading resident memory: %w", err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		v, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(v)
		if len(f) != 2 || string(f[1]) != "kB" {
			break
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, errors.New("no VmRSS line in /proc/<pid>/status")
}

// rssSampler samples a process's RSS until stopped.
type rssSampler struct {
	pid  int
	quit chan struct{}
	wg   sync.WaitGroup
	res  RSSResult
	sum  int64
}

// startRSS starts sampling pid; pid 0 samples nothing.
func startRSS(pid int) *rssSampler {
	s := &rssSampler{pid: pid, quit: make(chan struct{})}
	if pid == 0 {
		return s
	}
	s.sample()
	s.wg.Go(func() {
		t := time.NewTicker(rssInterval)
		defer t.Stop()
		for {
			select {
			case <-s.quit:
				return
			case <-t.C:
				s.sample()
			}
		}
	})
	return s
}

func (s *rssSampler) sample() {
	n, err := readRSS(s.pid)
	if err != nil {
		return
	}
	s.res.PeakBytes = max(s.res.PeakBytes, n)
	s.res.Samples++
	s.sum += n
}

// stop ends sampling and returns the result (nil without a pid or samples).
func (s *rssSampler) stop() *RSSResult {
	if s.pid == 0 {
		return nil
	}
	close(s.quit)
	s.wg.Wait()
	s.sample()
	if s.res.Samples == 0 {
		return nil
	}
	r := s.res
	r.MeanBytes = s.sum / int64(r.Samples)
	return &r
}

// loadAvg1 is the 1-minute load average (Linux), or 0 when unknown.
func loadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(string(f[0]), 64)
	return v
}
