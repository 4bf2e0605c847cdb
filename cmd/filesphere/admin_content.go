package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/filesphere/filesphere/client"
	"github.com/filesphere/filesphere/s3api"
	"github.com/filesphere/filesphere/storage"
	"github.com/spf13/cobra"
)

func newVerifyCmd(f *adminFlags) *cobra.Command {
	var rate string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify [BUCKET[/PREFIX]]",
		Short: "Re-read stored objects end to end and check each against its recorded SHA-256",
		Long: `Re-read every version (noncurrent ones too) of a bucket, of the keys under a prefix, or of
every bucket, through the same path as a GET (erasure decoding with bitrot checks, SSE-S3
decryption, the chunks of deduplicated objects), and compare the SHA-256 of the bytes with
the one recorded when the version was written. Bitrot frames catch damage on a drive; this
catches anything that would make a read return other bytes than were written.

Progress goes to stderr about every second; the report to stdout. Versions without a
recorded hash (SSE-KMS, SSE-C, or written before hashes were kept) are counted, not read.
The command fails (exit 1) when a version is mismatched or unreadable.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			if len(args) == 1 {
				bucket, prefix, _ := strings.Cut(args[0], "/")
				q.Set("bucket", bucket)
				if prefix != "" {
					q.Set("prefix", prefix)
				}
			}
			if rate != "" {
				n, err := client.ParseSize(rate)
				if err != nil {
					return fmt.Errorf("--rate: %w", err)
				}
				q.Set("rate", fmt.Sprint(n))
			}
			rep, err := f.verify(cmd, q)
			if err != nil {
				return err
			}
			if asJSON {
				if err := json.NewEncoder(cmd.OutOrStdout()).Encode(rep); err != nil {
					return err
				}
			} else if err := printVerifyReport(cmd.OutOrStdout(), rep); err != nil {
				return err
			}
			if rep.Mismatched+rep.Unreadable > 0 {
				return fmt.Errorf("verify: %d mismatched, %d unreadable", rep.Mismatched, rep.Unreadable)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&rate, "rate", "", "read at most this many bytes per second (e.g. 100MiB); default no limit")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON (for scripts)")
	return cmd
}

// verify runs a verification, printing its progress on stderr.
func (f *adminFlags) verify(cmd *cobra.Command, q url.Values) (storage.VerifyReport, error) {
	path := "/verify"
	if len(q) > 0 {
		path += "?" + strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	hc := *f.client
	hc.Timeout = 0 // a verification takes what the data takes; progress keeps it alive
	resp, err := f.send(cmd.Context(), &hc, http.MethodPost, path)
	if err != nil {
		return storage.VerifyReport{}, fmt.Errorf("verify: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return storage.VerifyReport{}, fmt.Errorf("verify: %w", responseError(resp, body))
	}
	errw := cmd.ErrOrStderr()
	tty := isTerminal(errw)
	var lastShown time.Time
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var l s3api.AdminVerifyLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return storage.VerifyReport{}, fmt.Errorf("verify: reading the answer: %w", err)
		}
		switch {
		case l.Error != nil:
			return storage.VerifyReport{}, fmt.Errorf("verify: %s: %s", l.Error.Code, l.Error.Message)
		case l.Report != nil:
			if tty {
				fmt.Fprintln(errw)
			}
			return *l.Report, nil
		case l.Progress != nil:
			p := l.Progress
			line := fmt.Sprintf("verify: %d versions, %s read, %d failed (in %s)", p.Checked, client.FormatSize(p.Bytes), p.Failed, p.Bucket)
			if tty {
				fmt.Fprintf(errw, "\r%s\033[K", line)
			} else if time.Since(lastShown) >= 10*time.Second {
				fmt.Fprintln(errw, line)
				lastShown = time.Now()
			}
		}
	}
	if err := sc.Err(); err != nil {
		return storage.VerifyReport{}, fmt.Errorf("verify: %w", err)
	}
	return storage.VerifyReport{}, errors.New("verify: the answer ended before the report")
}

// printVerifyReport writes a verification's report for people.
func printVerifyReport(out io.Writer, r storage.VerifyReport) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Verification started %s, took %s\n", r.Started.Local().Format(time.DateTime), r.Duration)
	fmt.Fprintf(w, "  checked\t%d versions, %s\n", r.Checked, client.FormatSize(r.Bytes))
	fmt.Fprintf(w, "  ok\t%d\n", r.OK)
	fmt.Fprintf(w, "  mismatched\t%d\n", r.Mismatched)
	for _, n := range r.MismatchedNames {
		fmt.Fprintf(w, "    \t%s\n", n)
	}
	fmt.Fprintf(w, "  unreadable\t%d\n", r.Unreadable)
	for _, n := range r.UnreadableNames {
		fmt.Fprintf(w, "    \t%s\n", n)
	}
	fmt.Fprintf(w, "  without a hash\t%d (SSE-KMS, SSE-C, or stored before hashes were kept)\n", r.Unhashed)
	return w.Flush()
}

func newDedupCmd(f *adminFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dedup",
		Short: "Per-bucket deduplication of new objects (content-defined chunks stored once)",
		Long: `Deduplication stores each new unencrypted object of a bucket as content-defined chunks
(about 1 MiB), each kept once per bucket. Objects stored before it was enabled, and
encrypted objects, are stored as in any bucket. Disabling it stores new objects plainly
again; the deduplicated ones stay as they are.`,
	}
	var asJSON bool
	set := func(state string) *cobra.Command {
		return &cobra.Command{
			Use:   state[:len(state)-1] + " BUCKET",
			Short: strings.ToUpper(state[:1]) + state[1:len(state)-1] + " deduplication of the bucket's new objects",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				q := url.Values{"bucket": {args[0]}, "state": {state}}
				body, err := f.call(cmd, http.MethodPost, "/dedup?"+q.Encode())
				if err != nil {
					return err
				}
				return printDedup(cmd.OutOrStdout(), body, asJSON)
			},
		}
	}
	status := &cobra.Command{
		Use:   "status BUCKET",
		Short: "Show whether a bucket deduplicates, its logical and stored bytes, the ratio and chunks pending collection",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := f.call(cmd, http.MethodGet, "/dedup?"+url.Values{"bucket": {args[0]}}.Encode())
			if err != nil {
				return err
			}
			return printDedup(cmd.OutOrStdout(), body, asJSON)
		},
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the JSON answer (for scripts)")
	cmd.AddCommand(set("enabled"), set("disabled"), status)
	return cmd
}

// printDedup writes a bucket's deduplication status.
func printDedup(out io.Writer, body []byte, asJSON bool) error {
	if asJSON {
		_, err := out.Write(body)
		return err
	}
	var st storage.DedupStatus
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("dedup: reading the answer: %w", err)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	state := "disabled"
	if st.Enabled {
		state = "enabled"
	}
	fmt.Fprintf(w, "Deduplication of bucket %s: %s\n", st.Bucket, state)
	fmt.Fprintf(w, "  logical\t%s (the deduplicated objects' content)\n", client.FormatSize(st.LogicalBytes))
	fmt.Fprintf(w, "  stored\t%s in %d chunks (before erasure coding)\n", client.FormatSize(st.StoredBytes), st.Chunks-st.PendingGC)
	fmt.Fprintf(w, "  ratio\t%.2f\n", st.Ratio)
	fmt.Fprintf(w, "  pending collection\t%d chunks, %s\n", st.PendingGC, client.FormatSize(st.PendingGCBytes))
	return w.Flush()
}
