package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ReportVersion is the version of the JSON shape. Fields may be added
// within a version; a field that changes meaning or goes away bumps it.
const ReportVersion = 1

// Report is the result of a Run; it is also the --json output.
type Report struct {
	Version     int             `json:"version"`
	Endpoint    string          `json:"endpoint"`
	Client      ClientKind      `json:"client"`
	Payload     PayloadMode     `json:"payload"`
	Bucket      string          `json:"bucket"`
	Seed        uint64          `json:"seed"`
	Started     time.Time       `json:"started"`
	Interrupted bool            `json:"interrupted,omitempty"`
	Profiles    []ProfileResult `json:"profiles"`
}

// ProfileResult is one profile's measurement.
type ProfileResult struct {
	Name        string `json:"name"`
	Op          Op     `json:"op"`
	Size        int64  `json:"size_bytes"`
	Concurrency int    `json:"concurrency"`
	// Objects is the set uploaded before the timed phase (0 for put).
	Objects int `json:"objects"`
	// DurationS is the configured timed phase; ElapsedS the wall clock from
	// its start until the last worker's last request completed.
	DurationS float64 `json:"duration_s"`
	ElapsedS  float64 `json:"elapsed_s"`
	// Ops has one entry per operation kind sent (mixed: several), Total
	// sums them.
	Ops   []OpResult `json:"ops"`
	Total OpResult   `json:"total"`
	// ServerRSS is sampled with Config.ServerPID during the timed phase.
	ServerRSS *RSSResult `json:"server_rss,omitempty"`
	// Load1Start/End are the machine's 1-minute load average around the
	// timed phase (Linux; absent elsewhere).
	Load1Start float64       `json:"load1_start,omitempty"`
	Load1End   float64       `json:"load1_end,omitempty"`
	Cleanup    CleanupResult `json:"cleanup"`
	// Error is why the profile stopped early (upload or cleanup failed).
	Error string `json:"error,omitempty"`
}

// OpResult is the tally of one operation kind (PUT, GET, STAT, DELETE,
// LIST, or "total").
//
// Ops, Bytes, Objects and the latencies count successful requests only;
// failed ones are in Errors and ErrorCodes. Objects is the number of
// objects handled: one per request, or the keys returned for LIST. Rates
// are the sum of each worker's own rate (its count over its busy time), so
// the tail in which the last requests finish does not dilute them.
type OpResult struct {
	Op            string           `json:"op"`
	Ops           int64            `json:"ops"`
	Errors        int64            `json:"errors"`
	ErrorCodes    map[string]int64 `json:"error_codes,omitempty"`
	Bytes         int64            `json:"bytes"`
	Objects       int64            `json:"objects"`
	OpsPerSec     float64          `json:"ops_per_sec"`
	MiBPerSec     float64          `json:"mib_per_sec"`
	ObjectsPerSec float64          `json:"objects_per_sec"`
	LatencyMS     Latency          `json:"latency_ms"`
	// LastError is the text of one failure, to show what went wrong.
	LastError string `json:"last_error,omitempty"`
}

// Latency is in milliseconds; percentiles are within 0.4 % of exact.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// CleanupResult says what the profile's cleanup removed.
type CleanupResult struct {
	Deleted int     `json:"deleted"`
	Seconds float64 `json:"seconds"`
}

// RSSResult is a process's resident memory over the timed phase.
type RSSResult struct {
	PeakBytes int64 `json:"peak_bytes"`
	MeanBytes int64 `json:"mean_bytes"`
	Samples   int   `json:"samples"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// summarize merges the workers' tallies per kind and in total.
func summarize(workers []*worker) ([]OpResult, OpResult) {
	var ops []OpResult
	var all Histogram
	total := OpResult{Op: "total"}
	for k := range numKinds {
		var h Histogram
		res := OpResult{Op: k.String()}
		for _, w := range workers {
			rec := &w.rec[k]
			if rec.hist != nil {
				h.Merge(rec.hist)
			}
			res.Ops += rec.ops
			res.Errors += rec.errors
			res.Bytes += rec.bytes
			res.Objects += rec.objects
			for c, n := range rec.codes {
				if res.ErrorCodes == nil {
					res.ErrorCodes = map[string]int64{}
				}
				res.ErrorCodes[c] += n
			}
			if rec.lastErr != nil {
				res.LastError = rec.lastErr.Error()
			}
			if s := w.busy.Seconds(); s > 0 {
				res.OpsPerSec += float64(rec.ops) / s
				res.MiBPerSec += float64(rec.bytes) / s / (1 << 20)
				res.ObjectsPerSec += float64(rec.objects) / s
			}
		}
		if res.Ops+res.Errors == 0 {
			continue
		}
		res.LatencyMS = latencyOf(&h)
		all.Merge(&h)
		ops = append(ops, res)
		total.add(res)
	}
	total.LatencyMS = latencyOf(&all)
	return ops, total
}

func (t *OpResult) add(o OpResult) {
	t.Ops += o.Ops
	t.Errors += o.Errors
	t.Bytes += o.Bytes
	t.Objects += o.Objects
	t.OpsPerSec += o.OpsPerSec
	t.MiBPerSec += o.MiBPerSec
	t.ObjectsPerSec += o.ObjectsPerSec
	for c, n := range o.ErrorCodes {
		if t.ErrorCodes == nil {
			t.ErrorCodes = map[string]int64{}
		}
		t.ErrorCodes[c] += n
	}
	if o.LastError != "" {
		t.LastError = o.LastError
	}
}

func latencyOf(h *Histogram) Latency {
	return Latency{Mean: ms(h.Mean()), P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)),
		P99: ms(h.Quantile(0.99)), Max: ms(h.Max())}
}

// checkErrors is the first profile whose failed share is above max.
func (r *Report) checkErrors(max float64) error {
	for _, p := range r.Profiles {
		done := p.Total.Ops + p.Total.Errors
		if done == 0 || float64(p.Total.Errors) > max*float64(done) {
			return &ErrorRateError{Profile: p.Name, Errors: p.Total.Errors, Done: done, Max: max}
		}
	}
	return nil
}

// WriteTable prints the report for people: one row per profile and
// operation (mixed loads add a total row).
func (r *Report) WriteTable(out io.Writer) error {
	fmt.Fprintf(out, "endpoint %s, client %s, %s payloads, seed %d\n", r.Endpoint, r.Client, r.Payload, r.Seed)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PROFILE\tOP\tCONC\tSIZE\tOPS\tOPS/S\tMiB/S\tOBJ/S\tP50 ms\tP90 ms\tP99 ms\tMAX ms\tRSS MiB\tLOAD\tERRORS\t")
	for _, p := range r.Profiles {
		for _, o := range p.rows() {
			rss, load := "-", "-"
			if p.ServerRSS != nil {
				rss = strconv.FormatFloat(float64(p.ServerRSS.PeakBytes)/(1<<20), 'f', 0, 64)
			}
			if p.Load1Start > 0 {
				load = strconv.FormatFloat(p.Load1Start, 'f', 1, 64)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
				p.Name, o.Op, p.Concurrency, FormatSize(p.Size), o.Ops, num(o.OpsPerSec), num(o.MiBPerSec),
				num(o.ObjectsPerSec), num(o.LatencyMS.P50), num(o.LatencyMS.P90), num(o.LatencyMS.P99),
				num(o.LatencyMS.Max), rss, load, errorsText(o))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range r.Profiles {
		if p.Error != "" {
			fmt.Fprintf(out, "%s: stopped: %s\n", p.Name, p.Error)
		}
	}
	if r.Interrupted {
		_, err := fmt.Fprintln(out, "interrupted: the last profile is partial")
		return err
	}
	return nil
}

// num prints 3 significant digits, keeping integers whole.
func num(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func errorsText(o OpResult) string {
	if o.Errors == 0 {
		return "0"
	}
	codes := slices.Sorted(maps.Keys(o.ErrorCodes))
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s %d", c, o.ErrorCodes[c])
	}
	return fmt.Sprintf("%d (%s)", o.Errors, strings.Join(parts, ", "))
}

// Comparison is one profile and operation in two reports; ratios are
// other/base (so "FileSphere / null" with the null server as base).
type Comparison struct {
	Profile, Op        string
	Base, Other        OpResult
	OpsRatio, MiBRatio float64
	P50Ratio, P99Ratio float64
	BaseRSS, OtherRSS  int64 // peak bytes, 0 when not sampled
}

// rows are a profile's operations, plus the total when there are several.
func (p ProfileResult) rows() []OpResult {
	if len(p.Ops) == 1 {
		return p.Ops
	}
	return append(slices.Clone(p.Ops), p.Total)
}

func (p ProfileResult) peakRSS() int64 {
	if p.ServerRSS == nil {
		return 0
	}
	return p.ServerRSS.PeakBytes
}

// Compare matches the profiles and operations of two reports by name.
func Compare(base, other *Report) []Comparison {
	var out []Comparison
	for _, bp := range base.Profiles {
		i := slices.IndexFunc(other.Profiles, func(p ProfileResult) bool { return p.Name == bp.Name })
		if i < 0 {
			continue
		}
		op := other.Profiles[i]
		orows := op.rows()
		for _, bo := range bp.rows() {
			j := slices.IndexFunc(orows, func(o OpResult) bool { return o.Op == bo.Op })
			if j < 0 {
				continue
			}
			oo := orows[j]
			out = append(out, Comparison{Profile: bp.Name, Op: bo.Op, Base: bo, Other: oo,
				OpsRatio: ratio(oo.OpsPerSec, bo.OpsPerSec), MiBRatio: ratio(oo.MiBPerSec, bo.MiBPerSec),
				P50Ratio: ratio(oo.LatencyMS.P50, bo.LatencyMS.P50), P99Ratio: ratio(oo.LatencyMS.P99, bo.LatencyMS.P99),
				BaseRSS: bp.peakRSS(), OtherRSS: op.peakRSS()})
		}
	}
	return out
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// WriteComparison prints Compare's rows.
func WriteComparison(out io.Writer, baseName, otherName string, cs []Comparison) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "PROFILE\tOP\t%[1]s OPS/S\t%[2]s OPS/S\tRATIO\t%[1]s MiB/S\t%[2]s MiB/S\tRATIO\t%[1]s P50\t%[2]s P50\t%[1]s P99\t%[2]s P99\t%[2]s RSS MiB\t%[2]s ERRORS\t\n", baseName, otherName)
	for _, c := range cs {
		rss := "-"
		if c.OtherRSS > 0 {
			rss = strconv.FormatFloat(float64(c.OtherRSS)/(1<<20), 'f', 0, 64)
		}
		mib, mibRatio := num(c.Other.MiBPerSec), strconv.FormatFloat(c.MiBRatio, 'f', 2, 64)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", c.Profile, c.Op,
			num(c.Base.OpsPerSec), num(c.Other.OpsPerSec), c.OpsRatio, num(c.Base.MiBPerSec), mib, mibRatio,
			num(c.Base.LatencyMS.P50), num(c.Other.LatencyMS.P50), num(c.Base.LatencyMS.P99), num(c.Other.LatencyMS.P99),
			rss, c.Other.Errors)
	}
	return tw.Flush()
}
