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

// printHealStatus writes the repair state for people.
func printHealStatus(out io.Writer, st s3api.AdminHealStatus) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Repair state of the cluster (leader %s)\n", st.Leader)
	if st.Running {
		eta := st.ETA
		if eta == "" {
			eta = "unknown"
		}
		fmt.Fprintf(w, "  pass\trunning since %s: %d of %d streams, %.1f streams/s, ETA %s\n",
			st.Started.Local().Format(time.TimeOnly), st.Scanned, st.Expected, st.StreamsPerS, eta)
		fmt.Fprintf(w, "  so far\thealed %d, shards moved %d, waiting %d, failed %d, %s written\n",
			st.Healed, st.ShardsMoved, st.Waiting, st.Failed, bytesString(uint64(max(st.BytesWritten, 0))))
	} else {
		fmt.Fprintf(w, "  pass\tidle, %d passes done\n", st.Passes)
	}
	if l := st.Last; l != nil {
		fmt.Fprintf(w, "  last pass\t%s (took %s): %d streams, %d healthy, %d healed, %d shards moved, %d waiting, %d failed, %d lost\n",
			l.Started.Local().Format(time.DateTime), l.Duration, l.Streams, l.Healthy, l.Healed, l.ShardsMoved, l.Waiting, l.Failed, l.Lost)
	}
	fmt.Fprintf(w, "  queued\t%d heals asked for by reads\n", st.Queued)
	if l := st.Last; l != nil && len(l.Redundancy) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "  GOOD SHARDS\tSTREAMS\tBYTES")
		levels := make([]int, 0, len(l.Redundancy))
		for good := range l.Redundancy {
			levels = append(levels, good)
		}
		slices.Sort(levels)
		slices.Reverse(levels)
		for _, good := range levels {
			fmt.Fprintf(w, "  %d\t%d\t%s\n", good, l.Redundancy[good], bytesString(uint64(max(l.RedundancyBytes[good], 0))))
		}
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
