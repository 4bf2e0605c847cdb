package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/filesphere/filesphere/s3api"
	"github.com/spf13/cobra"
)

func newLifecycleCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lifecycle",
		Short: "Bucket lifecycle (expiration) worker",
	}
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the lifecycle worker's state (from the leader): passes, steps by action, lag, next due, rescans",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := f.call(cmd, http.MethodGet, "/lifecycle/status")
			if err != nil {
				return err
			}
			if asJSON {
				_, err = cmd.OutOrStdout().Write(body)
				return err
			}
			var st s3api.AdminLifecycleStatus
			if err := json.Unmarshal(body, &st); err != nil {
				return fmt.Errorf("lifecycle status: reading the answer: %w", err)
			}
			return printLifecycleStatus(cmd.OutOrStdout(), st)
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print the JSON answer (for scripts)")
	cmd.AddCommand(status)
	return cmd
}

// printLifecycleStatus writes the lifecycle worker's state for people.
func printLifecycleStatus(out io.Writer, st s3api.AdminLifecycleStatus) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Lifecycle worker of the cluster (leader %s, a day lasts %s)\n", st.Leader, st.Day)
	state := "idle"
	if st.Running {
		state = "running"
	}
	fmt.Fprintf(w, "  passes\t%s, %d done\n", state, st.Passes)
	if l := st.Last; l != nil {
		fmt.Fprintf(w, "  last pass\t%s (took %s): %d due, %s, %d failed, %d re-planned, lag %s\n",
			l.Started.Local().Format(time.DateTime), l.Duration, l.Due, actionList(l.Actions), l.Failed, l.Rescanned, seconds(l.LagSeconds))
	}
	totals := map[string]int{}
	for k, n := range st.Totals {
		totals[k] = int(n)
	}
	fmt.Fprintf(w, "  since start\t%s\n", actionList(totals))
	if st.NextDue != nil {
		fmt.Fprintf(w, "  next due\t%s\n", st.NextDue.Local().Format(time.DateTime))
	} else {
		fmt.Fprintf(w, "  next due\tnothing scheduled\n")
	}
	for _, r := range st.Rescans {
		fmt.Fprintf(w, "  rescan\t%s: %s, %d visited, %d re-planned, since %s\n", r.Bucket, r.Phase, r.Scanned, r.Changed,
			r.Started.Local().Format(time.DateTime))
	}
	if st.Error != "" {
		fmt.Fprintf(w, "  error\t%s\n", st.Error)
	}
	return w.Flush()
}

// actionList writes steps by action: "2 delete_marker, 1 noncurrent".
func actionList(m map[string]int) string {
	if len(m) == 0 {
		return "no steps"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d %s", m[k], k)
	}
	return s
}
