package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/filesphere/filesphere/s3api"
	"github.com/spf13/cobra"
)

func newClusterCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Inspect and change cluster membership"}
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Show nodes, drives, Raft role and term, ring version and health",
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := f.call(cmd, http.MethodGet, "/cluster/status")
			if err != nil {
				return err
			}
			if asJSON {
				_, err = cmd.OutOrStdout().Write(body)
				return err
			}
			var st s3api.AdminClusterStatus
			if err := json.Unmarshal(body, &st); err != nil {
				return fmt.Errorf("cluster status: reading the answer: %w", err)
			}
			return printStatus(cmd.OutOrStdout(), st)
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print the raw JSON")
	remove := &cobra.Command{
		Use:   "remove NODE",
		Short: "Remove a node from the cluster membership",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := f.call(cmd, http.MethodPost, "/cluster/remove?node="+url.QueryEscape(args[0])); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "node %s removed from the cluster\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(status, remove)
	return cmd
}

func printStatus(out io.Writer, st s3api.AdminClusterStatus) error {
	health := "healthy"
	if !st.Healthy {
		health = "DEGRADED"
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "cluster %s: leader %s (%s), ring version %d\n", health, st.Leader, st.LeaderAddr, st.RingVersion)
	fmt.Fprintf(w, "this node %s: raft %s, term %s, commit index %s, applied %d\n\n", st.NodeID, st.RaftState, st.Term, st.CommitIndex, st.Applied)
	fmt.Fprintln(w, "NODE\tS3 ADDRESS\tCLUSTER ADDRESS\tDRIVE\tONLINE\tFREE\tTOTAL")
	for _, n := range st.Nodes {
		for _, d := range n.Drives {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%s\t%s\n", n.ID, n.APIAddr, n.ClusterAddr, d.ID, d.Online, bytesString(d.FreeBytes), bytesString(d.TotalBytes))
		}
	}
	return w.Flush()
}

func bytesString(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
