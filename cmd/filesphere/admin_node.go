package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/filesphere/filesphere/s3api"
	"github.com/spf13/cobra"
)

func newNodeCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Manage one node"}
	var wait, every time.Duration
	drain := &cobra.Command{
		Use:   "drain NODE",
		Short: "Move everything off a node; the leader removes it once empty; says when it is safe to turn off",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			path := "/node/drain?node=" + url.QueryEscape(id)
			st, err := drainCall(f, cmd, http.MethodPost, path)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "node %s is draining: %d shards to move to the other nodes\n", id, st.ReferencedShards)
			deadline := time.Now().Add(wait)
			for {
				// Polling only reads: the leader removes the node after
				// the repair pass that moved its last shard.
				st, err := drainCall(f, cmd, http.MethodGet, path)
				switch {
				case err != nil:
					return err
				case st.SafeToTurnOff:
					fmt.Fprintf(out, "node %s holds no data and was removed from the cluster: safe to turn off\n", id)
					return nil
				case !st.Draining:
					return fmt.Errorf("node drain: node %s is no longer draining", id)
				}
				fmt.Fprintf(out, "  %d shards still on %s\n", st.ReferencedShards, id)
				if time.Now().After(deadline) {
					return fmt.Errorf("node drain: %s not finished after %s; run the command again to keep watching", id, wait)
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(every):
				}
			}
		},
	}
	drain.Flags().DurationVar(&wait, "wait", time.Hour, "how long to wait for the drain to finish")
	drain.Flags().DurationVar(&every, "poll", 2*time.Second, "how often to ask how far the drain is")
	cmd.AddCommand(drain)
	return cmd
}

func drainCall(f *adminFlags, cmd *cobra.Command, method, path string) (s3api.AdminDrainStatus, error) {
	var st s3api.AdminDrainStatus
	body, err := f.call(cmd, method, path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, fmt.Errorf("node drain: reading the answer: %w", err)
	}
	return st, nil
}
