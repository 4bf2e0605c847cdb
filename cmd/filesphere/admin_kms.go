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

// newKMSCmd is `filesphere admin kms key add|list|status|rotate|disable|enable`.
func newKMSCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "kms", Short: "Manage the built-in KMS"}
	key := &cobra.Command{Use: "key", Short: "Manage the named keys SSE-KMS objects are encrypted under (never deleted)"}
	var asJSON bool
	key.PersistentFlags().BoolVar(&asJSON, "json", false, "print the raw JSON")
	one := func(use, short, method, path, done string) *cobra.Command {
		return &cobra.Command{
			Use: use + " NAME", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				body, err := f.call(cmd, method, path+"?name="+url.QueryEscape(args[0]))
				if err != nil {
					return err
				}
				if asJSON {
					_, err = cmd.OutOrStdout().Write(body)
					return err
				}
				var k s3api.AdminKMSKey
				if err := json.Unmarshal(body, &k); err != nil {
					return fmt.Errorf("kms key %s: reading the answer: %w", use, err)
				}
				if done == "" {
					return printKeys(cmd.OutOrStdout(), []s3api.AdminKMSKey{k})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "key %s %s: %s, version %d (%s)\n", k.Name, done, k.State, k.Current, k.ARN)
				return nil
			},
		}
	}
	list := &cobra.Command{
		Use: "list", Short: "List the keys, their state and versions", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body, err := f.call(cmd, http.MethodGet, "/kms/key/list")
			if err != nil {
				return err
			}
			if asJSON {
				_, err = cmd.OutOrStdout().Write(body)
				return err
			}
			var ks s3api.AdminKMSKeys
			if err := json.Unmarshal(body, &ks); err != nil {
				return fmt.Errorf("kms key list: reading the answer: %w", err)
			}
			return printKeys(cmd.OutOrStdout(), ks.Keys)
		},
	}
	key.AddCommand(
		one("add", "Create a key (1-64 characters of A-Z a-z 0-9 . _ -)", http.MethodPost, "/kms/key/create", "created"),
		list,
		one("status", "Show one key", http.MethodGet, "/kms/key/status", ""),
		one("rotate", "Add a key version: new objects use it, older ones stay readable", http.MethodPost, "/kms/key/rotate", "rotated"),
		one("disable", "Disable a key: its objects cannot be read or written until it is enabled", http.MethodPost, "/kms/key/disable", "disabled"),
		one("enable", "Enable a disabled key", http.MethodPost, "/kms/key/enable", "enabled"),
	)
	cmd.AddCommand(key)
	return cmd
}

func printKeys(out io.Writer, keys []s3api.AdminKMSKey) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSTATE\tVERSION\tCREATED\tUPDATED\tARN")
	for _, k := range keys {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\n", k.Name, k.State, k.Current, k.Created.Format("2006-01-02 15:04:05Z07:00"),
			k.Updated.Format("2006-01-02 15:04:05Z07:00"), k.ARN)
	}
	return w.Flush()
}
