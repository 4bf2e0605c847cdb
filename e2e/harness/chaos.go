package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Helpers for fault-injection (chaos) tests: repair reports and status
// through `filesphere admin`, drains, and on-disk faults on drive folders.

// HealReport is the JSON of `filesphere admin heal [--deep]` (and the last
// pass in `admin heal status`).
type HealReport struct {
	Started      time.Time `json:"started"`
	Duration     string    `json:"duration"`
	Deep         bool      `json:"deep"`
	Streams      int       `json:"streams"`
	Healthy      int       `json:"healthy"`
	Healed       int       `json:"healed"`
	ShardsHealed int       `json:"shards_healed"`
	ShardsMoved  int       `json:"shards_moved"`
	BytesWritten int64     `json:"bytes_written"`
	Failed       int       `json:"failed"`
	Waiting      int       `json:"waiting"` // repairs waiting for an offline drive
	Lost         int       `json:"lost"`
	// Redundancy counts streams by their number of good shards when
	// checked (before any repair of that pass); a deep pass counts the
	// good chunks of each stream's worst block.
	Redundancy    map[int]int `json:"redundancy"`
	FailedObjects []string    `json:"failed_objects,omitempty"`
	// Incremental marks a background pass: it checks what is known to need
	// it (queued streams, a placement sweep, the scrub's share), so its
	// counts cover only that; the fields below say what it left.
	Incremental   bool     `json:"incremental"`
	Visited       int      `json:"visited"`
	Dirty         int      `json:"dirty"`
	DirtyLeft     int      `json:"dirty_left"`
	DirtyAll      bool     `json:"dirty_all"`
	Swept         int      `json:"swept"`
	SweepActive   bool     `json:"sweep_active"`
	Scrubbed      int      `json:"scrubbed"`
	DrivesOffline []string `json:"drives_offline"`
	DrivesWiped   []string `json:"drives_wiped"`
}

// Outstanding reports whether an incremental pass left known work: queued
// streams, a queue it did not see whole, a sweep under way, offline drives.
func (r HealReport) Outstanding() bool {
	return r.Incremental && (r.DirtyLeft > 0 || !r.DirtyAll || r.SweepActive || len(r.DrivesOffline) > 0)
}

// FullRedundancy reports whether the pass found every stream with all
// width (k+m) shards good and could repair everything it tried.
func (r HealReport) FullRedundancy(width int) bool {
	if r.Failed != 0 {
		return false
	}
	for good, n := range r.Redundancy {
		if good != width && n > 0 {
			return false
		}
	}
	return true
}

// Settled reports whether the pass found nothing to do: every stream
// healthy (all shards good and where the current ring places them).
func (r HealReport) Settled() bool { return r.Failed == 0 && r.Healthy == r.Streams }

// String summarises a report on one line.
func (r HealReport) String() string {
	s := fmt.Sprintf("deep=%v streams=%d healthy=%d healed=%d shards_healed=%d shards_moved=%d bytes_written=%d failed=%d lost=%d redundancy=%v took %s",
		r.Deep, r.Streams, r.Healthy, r.Healed, r.ShardsHealed, r.ShardsMoved, r.BytesWritten, r.Failed, r.Lost, r.Redundancy, r.Duration)
	if r.Incremental {
		s += fmt.Sprintf(" incremental: visited=%d (dirty=%d swept=%d scrubbed=%d) dirty_left=%d dirty_all=%v sweep_active=%v drives_offline=%v drives_wiped=%v",
			r.Visited, r.Dirty, r.Swept, r.Scrubbed, r.DirtyLeft, r.DirtyAll, r.SweepActive, r.DrivesOffline, r.DrivesWiped)
	}
	if len(r.FailedObjects) > 0 {
		n := min(len(r.FailedObjects), 5)
		s += " failed_objects=" + strings.Join(r.FailedObjects[:n], "; ")
	}
	return s
}

// HealStatus is the JSON of `filesphere admin heal status --json`: the
// leader's repair state, from whichever node is asked.
type HealStatus struct {
	Leader       string      `json:"leader"`
	Running      bool        `json:"running"`
	Started      time.Time   `json:"started"`
	Scanned      int         `json:"scanned"`
	Expected     int         `json:"expected"`
	Healed       int         `json:"healed"`
	ShardsMoved  int         `json:"shards_moved"`
	Failed       int         `json:"failed"`
	Waiting      int         `json:"waiting"`
	BytesWritten int64       `json:"bytes_written"`
	Queued       int         `json:"queued"`
	Passes       int         `json:"passes"`
	Last         *HealReport `json:"last,omitempty"`
	LastFull     *HealReport `json:"last_full,omitempty"`
	Dirty        int         `json:"dirty"`
	// Totals add up the passes the leader's engine finished.
	Totals struct {
		ShardsHealed int   `json:"shards_healed"`
		ShardsMoved  int   `json:"shards_moved"`
		BytesWritten int64 `json:"bytes_written"`
	} `json:"totals"`
	Sweep *struct {
		Active bool   `json:"active"`
		Placed uint64 `json:"placed"`
	} `json:"sweep"`
	Scrub *struct {
		Cycle int `json:"cycle"`
		// Last is the last finished scrub cycle: a full scan.
		Last *struct {
			Streams    int         `json:"streams"`
			Healed     int         `json:"healed"`
			Failed     int         `json:"failed"`
			Redundancy map[int]int `json:"redundancy"`
		} `json:"last"`
	} `json:"scrub"`
	// Unreachable are the nodes the leader cannot reach and has not yet
	// declared lost.
	Unreachable []struct {
		Node               string  `json:"node"`
		UnreachableSeconds float64 `json:"unreachable_seconds"`
		LostAfterSeconds   float64 `json:"lost_after_seconds"`
	} `json:"unreachable"`
}

// AdminTimeout is Admin with a timeout of its own (Admin allows 30 s,
// too little for a deep heal of much data or a drain).
func (c *Cluster) AdminTimeout(i int, timeout time.Duration, args ...string) Result {
	n := c.Node(i)
	env := []string{"PATH=" + SafePath, "HOME=" + os.TempDir(), "LANG=C.UTF-8",
		"FILESPHERE_ROOT_USER=" + c.opts.AccessKey, "FILESPHERE_ROOT_PASSWORD=" + c.opts.SecretKey}
	bin, err := binary()
	if err != nil {
		return Result{Err: err}
	}
	return RunCommand(timeout, env, os.TempDir(), bin, append(append([]string{"admin"}, args...), n.AdminArgs()...)...)
}

// HealStatus runs `filesphere admin heal status --json` against node i.
func (c *Cluster) HealStatus(i int) (HealStatus, error) {
	var st HealStatus
	r := c.Admin(i, "heal", "status", "--json")
	if r.Err != nil {
		return st, fmt.Errorf("%s: %s", c.ID(i), r)
	}
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		return st, fmt.Errorf("%s: parsing heal status: %v\n%s", c.ID(i), err, r.Output)
	}
	return st, nil
}

// RunHeal runs `filesphere admin heal [--deep]` against node i and
// returns its report.
func (c *Cluster) RunHeal(i int, deep bool, timeout time.Duration) (HealReport, error) {
	var rep HealReport
	args := []string{"heal"}
	if deep {
		args = append(args, "--deep")
	}
	r := c.AdminTimeout(i, timeout, args...)
	if r.Err != nil {
		return rep, fmt.Errorf("%s: %s", c.ID(i), r)
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		return rep, fmt.Errorf("%s: parsing heal report: %v\n%s", c.ID(i), err, r.Output)
	}
	return rep, nil
}

// DrainNode runs `filesphere admin node drain <id of node j>` through node
// via and waits (up to timeout) until the node holds no data and was
// removed from the membership; then node j counts as removed.
func (c *Cluster) DrainNode(via, j int, timeout time.Duration) Result {
	r := c.AdminTimeout(via, timeout+30*time.Second, "node", "drain", c.ID(j), "--wait", timeout.String())
	if r.Err == nil {
		c.MarkRemoved(j)
	}
	return r
}

// MarkRemoved records that node j left the membership by other means than
// Remove (a finished drain, a lost node), so Members, WaitHealthy and
// CheckConverged no longer expect it.
func (c *Cluster) MarkRemoved(j int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removed[j] = true
}

// ShardFile is one committed shard file on a drive folder.
type ShardFile struct {
	Path string
	Size int64
}

// ShardFiles lists the committed shard files under <drive>/data, sorted
// by path. A missing data folder is no shards.
func ShardFiles(drive string) ([]ShardFile, error) {
	var out []ShardFile
	err := filepath.WalkDir(filepath.Join(drive, "data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // racing with a delete
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		out = append(out, ShardFile{Path: p, Size: fi.Size()})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// ShardBytes sums the shard files on the given drive folders.
func ShardBytes(drives ...string) (files int, bytes int64, err error) {
	for _, d := range drives {
		sf, err := ShardFiles(d)
		if err != nil {
			return files, bytes, err
		}
		for _, f := range sf {
			files++
			bytes += f.Size
		}
	}
	return files, bytes, nil
}

// EmptyDrive deletes everything inside a (running node's) drive folder,
// keeping the folder itself, as if the disk had been replaced by an empty
// one. It returns how many shard files were there.
func EmptyDrive(drive string) (int, error) {
	files, _ := ShardFiles(drive)
	// The server may create files meanwhile (temp files, the re-created
	// layout); retry until one sweep sees no error.
	var last error
	for range 10 {
		ents, err := os.ReadDir(drive)
		if err != nil {
			return len(files), err
		}
		last = nil
		for _, e := range ents {
			if err := os.RemoveAll(filepath.Join(drive, e.Name())); err != nil {
				last = err
			}
		}
		if last == nil {
			return len(files), nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return len(files), last
}

// FlipBytes inverts n bytes at random offsets of the file (its size stays
// the same, so only a hash check finds the damage).
func FlipBytes(path string, n int, rng *rand.Rand) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return fmt.Errorf("%s is empty", path)
	}
	b := make([]byte, 1)
	for range n {
		off := rng.Int64N(fi.Size())
		if _, err := f.ReadAt(b, off); err != nil {
			return err
		}
		b[0] ^= 0xff
		if _, err := f.WriteAt(b, off); err != nil {
			return err
		}
	}
	return f.Sync()
}

// ProcessFailures scans node i's whole output for signs of a crash (a Go
// panic, a fatal runtime error, a data race report) and returns the
// matching lines.
func (c *Cluster) ProcessFailures(i int) []string {
	b, err := os.ReadFile(c.Node(i).LogPath())
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") ||
			strings.Contains(line, "WARNING: DATA RACE") {
			out = append(out, line)
		}
	}
	return out
}
