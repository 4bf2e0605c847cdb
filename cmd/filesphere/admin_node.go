package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

func newNodeCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Manage one node"}
	var wait time.Duration
	drain := &cobra.Command{
		Use:   "drain NODE",
		Short: "Move everything off a node, then remove it; says when it is safe to turn off",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/.filesphere/admin/v1/node/drain?node=" + url.QueryEscape(args[0])
			if _, err := f.call(cmd.Context(), http.MethodPost, path); err != nil {
				return err
			}
			fmt.Printf("node %s is draining: its shards are moving to the other nodes\n", args[0])
			deadline := time.Now().Add(wait)
			for {
				body, err := f.call(cmd.Context(), http.MethodGet, path)
				if err != nil {
					return err
				}
				var st struct {
					ReferencedShards int  `json:"referenced_shards"`
					SafeToTurnOff    bool `json:"safe_to_turn_off"`
				}
				if err := json.Unmarshal(body, &st); err != nil {
					return err
				}
				if st.SafeToTurnOff {
					fmt.Printf("node %s holds no data and was removed: safe to turn off\n", args[0])
					return nil
				}
				fmt.Printf("  %d shards still on %s\n", st.ReferencedShards, args[0])
				if time.Now().After(deadline) {
					return fmt.Errorf("drain of %s not finished after %s; run the command again to keep watching", args[0], wait)
				}
				time.Sleep(2 * time.Second)
			}
		},
	}
	drain.Flags().DurationVar(&wait, "wait", time.Hour, "how long to wait for the drain to finish")
	cmd.AddCommand(drain)
	return cmd
}

func newHealStatusCmd(f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show repair progress: redundancy levels, healed, failed, rate and ETA",
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := f.call(cmd.Context(), http.MethodGet, "/.filesphere/admin/v1/heal/status")
			if err != nil {
				return err
			}
			fmt.Println(string(body))
			return nil
		},
	}
}
