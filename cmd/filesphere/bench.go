package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/filesphere/filesphere/client/bench"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// benchFlags are the settings every bench load shares.
type benchFlags struct {
	endpoints                       []string
	accessKey, secretKey, region    string
	bucket, client, payload, caCert string
	insecure, asJSON, quiet         bool
	duration, requestTimeout        time.Duration
	maxErrors                       string
	listMaxKeys, serverPID          int
	seed                            uint64
}

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure any S3 endpoint: put, get, mixed and list loads, or a named profile set",
		Long: `Load an S3 endpoint and report throughput (ops/s, MiB/s, objects/s), latency
percentiles (p50/p90/p99/max) and errors by code, as a table or --json.

get, mixed and list first upload their object set (--objects, not timed). Everything the
run creates is deleted at the end, also on Ctrl-C (a second Ctrl-C exits at once): the
objects under its prefix, and the bucket when the run created it. The exit status is
non-zero when a profile's share of failed requests is above --max-errors.

Requests are path-style and SigV4-signed: --payload signed hashes each body (as SDKs
do over plain HTTP), unsigned sends UNSIGNED-PAYLOAD. No checksum headers are sent.
Credentials: --access-key/--secret-key, else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
(and AWS_SESSION_TOKEN).`,
	}
	for _, op := range bench.Ops {
		cmd.AddCommand(newBenchLoadCmd(op))
	}
	cmd.AddCommand(newBenchSuiteCmd(), newBenchCompareCmd())
	return cmd
}

var loadHelp = map[bench.Op]string{
	bench.OpPut:   "PUT new objects back to back",
	bench.OpGet:   "GET random objects of an uploaded set",
	bench.OpMixed: "GET/STAT/PUT/DELETE on an uploaded set (weights: --mix)",
	bench.OpList:  "page through the listing of an uploaded set",
}

func newBenchLoadCmd(op bench.Op) *cobra.Command {
	f := &benchFlags{}
	var size string
	var conc, objects int
	var mix string
	cmd := &cobra.Command{
		Use:   string(op) + " [flags]",
		Short: loadHelp[op],
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := bench.ParseSize(size)
			if err != nil {
				return err
			}
			cfg, err := f.config(cmd.Flags())
			if err != nil {
				return err
			}
			if cfg.Mix, err = bench.ParseMix(mix); err != nil {
				return err
			}
			cfg.Profiles = []bench.Profile{{Op: op, Size: n, Concurrency: conc, Objects: objects}}
			return runBench(cmd, f, cfg)
		},
	}
	fs := cmd.Flags()
	f.register(fs, bench.DefaultConfig().Duration)
	defSize := "4KiB"
	if op == bench.OpList {
		defSize = "1KiB"
	}
	fs.StringVar(&size, "size", defSize, "object size (4KiB, 1MiB, 64MiB, 4096)")
	fs.IntVar(&conc, "concurrent", 32, "workers, each with one request in flight")
	if op != bench.OpPut {
		fs.IntVar(&objects, "objects", 0, "objects uploaded before the timed phase (default: list 5000; get/mixed 1 GiB worth, 2 per worker to 1000)")
	}
	fs.StringVar(&mix, "mix", bench.DefaultMix().String(), "operation weights of the mixed load")
	if op != bench.OpMixed {
		_ = fs.MarkHidden("mix")
	}
	return cmd
}

func newBenchSuiteCmd() *cobra.Command {
	f := &benchFlags{}
	var set string
	var only []string
	cmd := &cobra.Command{
		Use:   "suite [flags]",
		Short: "Run a named profile set and print one table",
		Long: `Run a named profile set one profile after another and print one table.

standard is the team's reference measurement (see README "Benchmarking"): put-64MiB and
get-64MiB at concurrency 8, put-4KiB and get-4KiB at 32, mixed-1MiB at 16, list-5000 at 8.
Run it against FileSphere and against the null server with --json and compare the two
reports with "filesphere bench compare". quick is a small, short set for make bench.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			profiles, err := bench.ProfileSet(set)
			if err != nil {
				return err
			}
			if profiles, err = bench.SelectProfiles(profiles, only); err != nil {
				return err
			}
			cfg, err := f.config(cmd.Flags())
			if err != nil {
				return err
			}
			cfg.Profiles = profiles
			return runBench(cmd, f, cfg)
		},
	}
	fs := cmd.Flags()
	f.register(fs, bench.SuiteDefaultDuration)
	fs.StringVar(&set, "set", "standard", "profile set: "+strings.Join(bench.ProfileSetNames(), ", "))
	fs.StringSliceVar(&only, "profiles", nil, "run only these profiles of the set (comma-separated names)")
	return cmd
}

func newBenchCompareCmd() *cobra.Command {
	var names []string
	cmd := &cobra.Command{
		Use:   "compare BASE.json OTHER.json",
		Short: "Compare two --json reports profile by profile (ratios are OTHER/BASE)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var reps [2]*bench.Report
			for i, p := range args {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				reps[i] = &bench.Report{}
				if err := json.Unmarshal(b, reps[i]); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
				if reps[i].Version != bench.ReportVersion {
					return fmt.Errorf("%s: report version %d, this binary reads %d", p, reps[i].Version, bench.ReportVersion)
				}
			}
			if len(names) != 2 {
				return errors.New("--names takes two labels, e.g. null,filesphere")
			}
			cs := bench.Compare(reps[0], reps[1])
			if len(cs) == 0 {
				return errors.New("the reports have no profile in common")
			}
			return bench.WriteComparison(cmd.OutOrStdout(), names[0], names[1], cs)
		},
	}
	cmd.Flags().StringSliceVar(&names, "names", []string{"base", "other"}, "column labels of the two reports")
	return cmd
}

func (f *benchFlags) register(fs *pflag.FlagSet, d time.Duration) {
	def := bench.DefaultConfig()
	fs.StringSliceVar(&f.endpoints, "endpoint", []string{"http://127.0.0.1:9000"}, "S3 endpoint URL; several (comma-separated or repeated) nodes of one store share the load in turn")
	fs.StringVar(&f.accessKey, "access-key", "", "access key (default $AWS_ACCESS_KEY_ID)")
	fs.StringVar(&f.secretKey, "secret-key", "", "secret key (default $AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&f.region, "region", def.Region, "region to sign for")
	fs.StringVar(&f.bucket, "bucket", "", "bucket to use (default: a new one, removed at the end)")
	fs.StringVar(&f.client, "client", string(def.Client), "S3 client: http (net/http + SigV4 signer) or sdk (aws-sdk-go-v2)")
	fs.StringVar(&f.payload, "payload", string(def.Payload), "PUT payload signing: signed (SHA-256 of each body) or unsigned (UNSIGNED-PAYLOAD)")
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify the endpoint's TLS certificate")
	fs.StringVar(&f.caCert, "ca-cert", "", "PEM file of CA certificates to trust for the endpoint")
	fs.DurationVar(&f.duration, "duration", d, "timed phase of each profile")
	fs.DurationVar(&f.requestTimeout, "request-timeout", def.RequestTimeout, "limit per request (0 = none)")
	fs.StringVar(&f.maxErrors, "max-errors", "0", "highest tolerated share of failed requests per profile, e.g. 0.01 or 1%")
	fs.IntVar(&f.listMaxKeys, "list-max-keys", def.ListMaxKeys, "page size of listings")
	fs.IntVar(&f.serverPID, "server-pid", 0, "pid of a local server whose resident memory to sample (Linux)")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of key choice and the mixed schedule (default random, reported)")
	fs.BoolVar(&f.asJSON, "json", false, "print the report as JSON (see client/bench docs for the shape)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress messages on stderr")
}

// config maps the flags (and the AWS environment) onto a bench.Config.
func (f *benchFlags) config(fs *pflag.FlagSet) (bench.Config, error) {
	if err := bindEnv(fs); err != nil {
		return bench.Config{}, err
	}
	cfg := bench.DefaultConfig()
	ak, sk, token := f.accessKey, f.secretKey, ""
	if ak == "" && sk == "" {
		ak, sk, token = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")
	}
	if (ak == "") != (sk == "") {
		return cfg, errors.New("give both an access key and a secret key")
	}
	maxErr, err := parseShare(f.maxErrors)
	if err != nil {
		return cfg, err
	}
	logger := logrus.New()
	logger.SetOutput(os.Stderr)
	logger.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
	if f.quiet {
		logger.SetLevel(logrus.WarnLevel)
	}
	if len(f.endpoints) == 0 {
		return cfg, errors.New("give an --endpoint")
	}
	cfg.Endpoint, cfg.Endpoints = f.endpoints[0], f.endpoints[1:]
	cfg.AccessKey, cfg.SecretKey, cfg.SessionToken = ak, sk, token
	cfg.Region, cfg.Bucket, cfg.Insecure, cfg.CACertFile = f.region, f.bucket, f.insecure, f.caCert
	cfg.Client, cfg.Payload = bench.ClientKind(f.client), bench.PayloadMode(f.payload)
	cfg.Duration, cfg.RequestTimeout, cfg.MaxErrors = f.duration, f.requestTimeout, maxErr
	cfg.ListMaxKeys, cfg.ServerPID, cfg.Seed = f.listMaxKeys, f.serverPID, f.seed
	cfg.Log = logrus.NewEntry(logger)
	return cfg, nil
}

// parseShare reads "0.01" or "1%".
func parseShare(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if pct {
		v /= 100
	}
	if err != nil || v < 0 || v > 1 {
		return 0, fmt.Errorf("--max-errors %q: want a share such as 0.01 or 1%%", s)
	}
	return v, nil
}

// runBench runs the load with the first Ctrl-C (or SIGTERM) cancelling it
// and a second one ending the process, prints the report and returns the
// run's error.
func runBench(cmd *cobra.Command, f *benchFlags, cfg bench.Config) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		select {
		case <-sig:
			signal.Stop(sig) // the default again: the next signal ends the process
			cfg.Log.Warn("interrupted: cleaning up (Ctrl-C again to exit now)")
			cancel()
		case <-ctx.Done():
		}
	}()
	rep, err := bench.Run(ctx, cfg)
	if rep != nil {
		if perr := printReport(cmd.OutOrStdout(), rep, f.asJSON); perr != nil && err == nil {
			err = perr
		}
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	return err
}

func printReport(out io.Writer, rep *bench.Report, asJSON bool) error {
	if !asJSON {
		return rep.WriteTable(out)
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
