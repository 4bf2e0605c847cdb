package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/filesphere/filesphere/s3api"
	"github.com/filesphere/filesphere/storage"
	"github.com/spf13/cobra"
)

func newHealCmd(f *adminFlags) *cobra.Command {
	var deep bool
	cmd := &cobra.Command{
		Use:   "heal",
		Short: "Rebuild missing or corrupt shards now and print the report (JSON)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := ""
			if deep {
				q = "?deep=true"
			}
			body, err := f.call(cmd, http.MethodPost, "/heal"+q)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(body)
			return err
		},
	}
	cmd.Flags().BoolVar(&deep, "deep", false, "also read every shard and verify its bitrot hashes")
	cmd.AddCommand(newHealStatusCmd(f))
	return cmd
}

func newHealStatusCmd(f *adminFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the cluster's repair state (from its leader): redundancy levels, healed, failed, rate, ETA",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := f.call(cmd, http.MethodGet, "/heal/status")
			if err != nil {
				return err
			}
			if asJSON {
				_, err = cmd.OutOrStdout().Write(body)
				return err
			}
			var st s3api.AdminHealStatus
			if err := json.Unmarshal(body, &st); err != nil {
				return fmt.Errorf("heal status: reading the answer: %w", err)
			}
			return printHealStatus(cmd.OutOrStdout(), st)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the JSON answer (for scripts)")
	return cmd
}

// printHealStatus writes the repair state for people. Background passes
// are incremental, so the redundancy levels shown are those of the last
// full scan (`admin heal`, or a finished scrub cycle), named with its time.
func printHealStatus(out io.Writer, st s3api.AdminHealStatus) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Repair state of the cluster (leader %s)\n", st.Leader)
	switch {
	case st.Running && !st.Incremental:
		eta := st.ETA
		if eta == "" {
			eta = "unknown"
		}
		fmt.Fprintf(w, "  pass\tfull pass running since %s: %d of %d streams, %.1f streams/s, ETA %s\n",
			st.Started.Local().Format(time.TimeOnly), st.Scanned, st.Expected, st.StreamsPerS, eta)
	case st.Running:
		fmt.Fprintf(w, "  pass\tbackground pass running since %s: %d streams checked\n", st.Started.Local().Format(time.TimeOnly), st.Scanned)
	default:
		fmt.Fprintf(w, "  pass\tidle, %d passes done\n", st.Passes)
	}
	if st.Running {
		fmt.Fprintf(w, "  so far\thealed %d, shards moved %d, waiting %d, failed %d, %s written\n",
			st.Healed, st.ShardsMoved, st.Waiting, st.Failed, bytesString(uint64(max(st.BytesWritten, 0))))
	}
	if l := st.Last; l != nil {
		kind := "full"
		if l.Incremental {
			kind = fmt.Sprintf("incremental, %d records read (%d queued, %d swept, %d scrubbed)", l.Visited, l.Dirty, l.Swept, l.Scrubbed)
		}
		fmt.Fprintf(w, "  last pass\t%s (took %s, %s): %d streams checked, %d healthy, %d healed, %d shards moved, %d waiting, %d failed, %d lost\n",
			l.Started.Local().Format(time.DateTime), l.Duration, kind, l.Streams, l.Healthy, l.Healed, l.ShardsMoved, l.Waiting, l.Failed, l.Lost)
	}
	queue := fmt.Sprintf("%d streams queued for repair", st.Dirty)
	if !st.DirtyAll {
		queue = fmt.Sprintf("at least %d streams queued for repair (the last pass saw part of the queue)", st.Dirty)
	}
	fmt.Fprintf(w, "  queue\t%s\n", queue)
	if sw := st.Sweep; sw != nil {
		if sw.Active {
			why := "ring change"
			if len(sw.Drives) > 0 {
				why = "drives came back empty: " + strings.Join(sw.Drives, ", ")
				if sw.CheckRing {
					why = "ring change; " + why
				}
			}
			fmt.Fprintf(w, "  sweep\tto ring %d (%s): %.0f%% of records, %d read, %d streams checked, since %s\n",
				sw.Ring, why, 100*sw.Progress, sw.Visited, sw.Checked, sw.Started.Local().Format(time.DateTime))
		} else {
			fmt.Fprintf(w, "  sweep\tnone under way; every record placed for ring %d\n", sw.Placed)
		}
	}
	if sc := st.Scrub; sc != nil {
		behind := ""
		if sc.Behind {
			behind = " (behind)"
		}
		fmt.Fprintf(w, "  scrub\tcycle %d over %s since %s: %.1f%% done, %.1f%% due%s, %d records\n",
			sc.Cycle, sc.Period, sc.Started.Local().Format(time.DateTime), 100*sc.Progress, 100*sc.Due, behind, sc.Records)
	}
	if len(st.DrivesOffline) > 0 {
		fmt.Fprintf(w, "  offline\t%s (streams with a shard there wait for them)\n", strings.Join(st.DrivesOffline, ", "))
	}
	fmt.Fprintf(w, "  queued\t%d heals asked for by reads\n", st.Queued)
	if name, levels, bytes := lastFullScan(st); levels != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  last full scan: %s\n", name)
		fmt.Fprintln(w, "  GOOD SHARDS\tSTREAMS\tBYTES")
		keys := make([]int, 0, len(levels))
		for good := range levels {
			keys = append(keys, good)
		}
		slices.Sort(keys)
		slices.Reverse(keys)
		for _, good := range keys {
			fmt.Fprintf(w, "  %d\t%d\t%s\n", good, levels[good], bytesString(uint64(max(bytes[good], 0))))
		}
	} else {
		fmt.Fprintln(w, "  no full scan yet: `filesphere admin heal` runs one; the scrub finishes one each cycle")
	}
	if l := st.Last; l != nil {
		for _, name := range l.FailedObjects {
			fmt.Fprintf(w, "failed: %s\n", name)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(st.Unreachable) > 0 {
		fmt.Fprintln(out)
	}
	for _, u := range st.Unreachable {
		if _, err := fmt.Fprintln(out, waitingLine(u)); err != nil {
			return err
		}
	}
	return nil
}

// lastFullScan is the newer of the last full pass and the last finished
// scrub cycle: its name and redundancy levels (nil when there is none).
func lastFullScan(st s3api.AdminHealStatus) (string, map[int]int, map[int]int64) {
	full := st.LastFull
	var cycle *storage.ScrubCycle
	if st.Scrub != nil {
		cycle = st.Scrub.Last
	}
	switch {
	case cycle != nil && (full == nil || cycle.Finished.After(full.Started)):
		return fmt.Sprintf("scrub cycle %d, finished %s (each stream as found when its turn came)", cycle.Cycle, cycle.Finished.Local().Format(time.DateTime)),
			cycle.Redundancy, cycle.RedundancyBytes
	case full != nil:
		kind := "admin heal"
		if full.Deep {
			kind = "admin heal --deep"
		}
		return fmt.Sprintf("%s, %s", kind, full.Started.Local().Format(time.DateTime)), full.Redundancy, full.RedundancyBytes
	}
	return "", nil, nil
}

// waitingLine says that repairs wait for a node: "waiting: n4 unreachable
// 8 s, lost after 10 s".
func waitingLine(u s3api.AdminUnreachableNode) string {
	return fmt.Sprintf("waiting: %s unreachable %s, lost after %s", u.Node, seconds(u.UnreachableSeconds), seconds(u.LostAfterSeconds))
}

// seconds writes a duration the way people say it: "8 s", "2 min 5 s", "1 h 30 min".
func seconds(s float64) string {
	d := time.Duration(s * float64(time.Second)).Round(time.Second)
	h, m, sec := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	var parts []string
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%d h", h))
	}
	if m > 0 {
		parts = append(parts, fmt.Sprintf("%d min", m))
	}
	if sec > 0 && h == 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%d s", sec))
	}
	return strings.Join(parts, " ")
}
