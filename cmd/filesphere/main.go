// Command filesphere is the FileSphere object store: the server, the
// admin client and the S3 client verbs (alias, ls, cp, ...). It wires packages together and owns no storage logic.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		os.Exit(exitCode(os.Stderr, err))
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "filesphere",
		Short:         "FileSphere: an S3-compatible, erasure-coded object store",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServerCmd(), newAdminCmd(), newBenchCmd(), newLoginCmd(), newCredentialsCmd())
	root.AddCommand(clientCommands()...)
	return root
}

// bindEnv lets every flag be set from FILESPHERE_<FLAG> (dashes become
// underscores); an explicit flag wins over the environment.
func bindEnv(fs *pflag.FlagSet) error {
	var firstErr error
	fs.VisitAll(func(f *pflag.Flag) {
		env := "FILESPHERE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		f.Usage += " [$" + env + "]"
		if f.Changed {
			return
		}
		if v, ok := os.LookupEnv(env); ok {
			if err := fs.Set(f.Name, v); err != nil && firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", env, err)
			}
		}
	})
	return firstErr
}
