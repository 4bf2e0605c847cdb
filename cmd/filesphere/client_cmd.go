package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/filesphere/filesphere/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// clientFlags are the flags every client verb shares; transfer verbs
// (cp, mv, mirror) also register the transfer flags.
type clientFlags struct {
	asJSON, quiet, insecure bool
	caCert, configDir       string
	jobs, partJobs          int
	partSize, threshold     string
	limitRate               string
	stdin                   io.Reader
}

func (f *clientFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object per line (see README: The filesphere client)")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bars, per-file lines or summaries")
	fs.StringVar(&f.caCert, "ca-cert", "", "PEM file of CA certificates to trust (besides the system's), for every alias")
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify TLS certificates")
	fs.StringVar(&f.configDir, "config-dir", "", "folder of config.json and upload state (default ~/.config/filesphere)")
}

func (f *clientFlags) registerTransfer(fs *pflag.FlagSet) {
	def := client.DefaultConfig()
	fs.IntVarP(&f.jobs, "parallel", "j", def.Jobs, "files transferred at once")
	fs.IntVar(&f.partJobs, "part-parallel", def.PartJobs, "parts of one multipart upload sent at once")
	fs.StringVar(&f.partSize, "part-size", client.FormatSize(def.PartSize), "multipart part size (5MiB to 5GiB)")
	fs.StringVar(&f.threshold, "multipart-threshold", client.FormatSize(def.MultipartThreshold), "files of this size and larger are uploaded in parts (resumable)")
	fs.StringVar(&f.limitRate, "limit-rate", "0", "cap on the bytes per second of all transfers together, e.g. 10MiB (0 = none)")
}

// config maps the flags onto a client.Config.
func (f *clientFlags) config(cmd *cobra.Command) (client.Config, error) {
	if err := bindEnv(cmd.Flags()); err != nil {
		return client.Config{}, &client.UsageError{Msg: err.Error()}
	}
	cfg := client.DefaultConfig()
	if f.configDir != "" {
		cfg.Dir = f.configDir
	}
	cfg.Stdout, cfg.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
	cfg.JSON, cfg.Quiet, cfg.CACertFile, cfg.Insecure = f.asJSON, f.quiet, f.caCert, f.insecure
	cfg.Progress = isTerminal(cfg.Stderr) && !f.asJSON && !f.quiet
	if cmd.Flags().Lookup("parallel") == nil {
		return cfg, nil
	}
	cfg.Jobs, cfg.PartJobs = f.jobs, f.partJobs
	var err error
	if cfg.PartSize, err = client.ParseSize(f.partSize); err != nil {
		return cfg, err
	}
	if cfg.MultipartThreshold, err = client.ParseSize(f.threshold); err != nil {
		return cfg, err
	}
	if cfg.LimitRate, err = client.ParseSize(f.limitRate); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// reportedError is an error already printed by a client verb; main only
// exits with its code.
type reportedError struct {
	err  error
	code int
}

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }

// clientRun is the RunE of a client verb: build the client from the flags,
// run fn with a context that Ctrl-C (or SIGTERM) cancels, and print any
// error as one line (a JSON object with --json) on stderr.
func clientRun(f *clientFlags, fn func(ctx context.Context, c *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		go func() {
			<-ctx.Done()
			stop() // the default again: a second Ctrl-C ends the process at once
		}()
		cfg, err := f.config(cmd)
		var c *client.Client
		if err == nil {
			c, err = client.New(cfg)
		}
		if err == nil {
			err = fn(ctx, c, args)
		}
		if err == nil {
			return nil
		}
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", context.Canceled)
		}
		if f.asJSON {
			b, _ := json.Marshal(client.NewErrorRecord(err))
			fmt.Fprintln(cmd.ErrOrStderr(), string(b))
		} else {
			fmt.Fprintln(cmd.ErrOrStderr(), "filesphere: "+client.Describe(err))
			var ue *client.UsageError
			if errors.As(err, &ue) {
				fmt.Fprintf(cmd.ErrOrStderr(), "Run '%s --help' for usage.\n", cmd.CommandPath())
			}
		}
		return &reportedError{err: err, code: client.ExitCode(err)}
	}
}

// exitCode prints err (unless a client verb already did) and returns the
// process status: the client verb's (see client.ExitCode), else 2 for a
// wrong client command line and 1 for any other error, as before.
func exitCode(w io.Writer, err error) int {
	var re *reportedError
	if errors.As(err, &re) {
		return re.code
	}
	fmt.Fprintln(w, "filesphere:", err)
	var ue *client.UsageError
	if errors.As(err, &ue) {
		fmt.Fprintln(w, "Run 'filesphere help' or add --help for usage.")
		return client.ExitUsage
	}
	return client.ExitError
}

// usageArgs wraps a cobra argument check so its complaint is a usage
// error (exit 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &client.UsageError{Msg: verbPath(cmd) + ": " + err.Error()}
		}
		return nil
	}
}

// verbPath is the command without the program name: "alias set".
func verbPath(cmd *cobra.Command) string {
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// flagUsageError makes a bad flag a usage error (exit 2).
func flagUsageError(cmd *cobra.Command, err error) error {
	return &client.UsageError{Msg: verbPath(cmd) + ": " + err.Error()}
}

// clientCommands are the client verbs beside server and admin.
func clientCommands() []*cobra.Command {
	return []*cobra.Command{newAliasCmd(), newLsCmd(), newCpCmd(false), newCpCmd(true), newRmCmd(), newMbCmd(), newRbCmd(),
		newCatCmd(), newStatCmd(), newShareCmd(), newVersionsCmd(), newRestoreCmd(), newMirrorCmd(), newDuCmd(), newFindCmd()}
}
