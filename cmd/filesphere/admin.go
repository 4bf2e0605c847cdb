package main

import (
	"github.com/spf13/cobra"
)

// adminFlags reach a running server.
type adminFlags struct {
	endpoint  string
	accessKey string
	secretKey string
}

func newAdminCmd() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Administer a running FileSphere server",
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return bindEnv(cmd.Flags())
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.endpoint, "endpoint", "http://127.0.0.1:9000", "URL of a FileSphere server")
	pf.StringVar(&f.accessKey, "access-key", "", "access key (default $FILESPHERE_ROOT_USER)")
	pf.StringVar(&f.secretKey, "secret-key", "", "secret key (default $FILESPHERE_ROOT_PASSWORD)")
	return cmd
}
