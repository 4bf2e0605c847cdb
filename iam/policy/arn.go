package policy

import (
	"errors"
	"strings"
)

// ARN is an Amazon Resource Name, arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE.
// The resource part may itself contain colons and slashes.
type ARN struct {
	Partition, Service, Region, Account, Resource string
}

var errNotARN = errors.New("not an ARN (arn:partition:service:region:account:resource)")

// ParseARN splits s into its parts. Partition, service and resource must
// be non-empty; region and account may be empty (as in S3 ARNs).
func ParseARN(s string) (ARN, error) {
	p, ok := splitARN(s)
	if !ok || p[1] == "" || p[2] == "" || p[5] == "" {
		return ARN{}, errNotARN
	}
	return ARN{Partition: p[1], Service: p[2], Region: p[3], Account: p[4], Resource: p[5]}, nil
}

func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// S3BucketARN and S3ObjectARN name S3 resources as policies do.
func S3BucketARN(bucket string) string { return "arn:aws:s3:::" + bucket }

// S3ObjectARN is the ARN of an object key in bucket.
func S3ObjectARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }

// arnParts is an ARN split in six: "arn" and the five parts.
type arnParts [6]string

// splitARN splits at the first five colons without allocating.
func splitARN(s string) (p arnParts, ok bool) {
	rest := s
	for i := 0; i < 5; i++ {
		var found bool
		p[i], rest, found = strings.Cut(rest, ":")
		if !found {
			return p, false
		}
	}
	p[5] = rest
	return p, p[0] == "arn"
}

// arnPattern is a Resource entry or an Arn* condition value: "*" or six
// patterns, one per part; wildcards never cross a colon between parts.
type arnPattern struct {
	any   bool
	parts [6]pattern
}

// compileARNPattern compiles s. Variables (when enabled) may appear in any
// part; their values are literal and never split the ARN.
func compileARNPattern(s string, vars bool) (arnPattern, error) {
	if s == "*" {
		return arnPattern{any: true}, nil
	}
	pieces, err := tokenize(s, vars, true)
	if err != nil {
		return arnPattern{}, err
	}
	var ap arnPattern
	part := 0
	var cur []piece
	for _, pc := range pieces {
		if pc.kind != pLit || part == 5 {
			cur = append(cur, pc)
			continue
		}
		text := pc.text
		for part < 5 {
			before, after, found := strings.Cut(text, ":")
			if !found {
				break
			}
			if before != "" {
				cur = append(cur, piece{kind: pLit, text: before})
			}
			ap.parts[part] = finishPattern(cur)
			cur, part, text = nil, part+1, after
		}
		if text != "" {
			cur = append(cur, piece{kind: pLit, text: text})
		}
	}
	if part != 5 {
		return arnPattern{}, errNotARN
	}
	ap.parts[5] = finishPattern(cur)
	if p := &ap.parts[0]; !(p.static && !p.wild && p.lit == "arn") {
		return arnPattern{}, errNotARN
	}
	for _, i := range []int{1, 2, 5} {
		if len(ap.parts[i].pieces) == 0 {
			return arnPattern{}, errNotARN
		}
	}
	return ap, nil
}

// finishPattern builds a pattern from pieces already split to one part.
func finishPattern(ps []piece) pattern {
	p := pattern{pieces: ps, static: true}
	for _, pc := range ps {
		switch pc.kind {
		case pVar:
			p.static = false
		case pStar, pOne:
			p.wild = true
		}
	}
	if p.static && !p.wild {
		for _, pc := range ps {
			p.lit += pc.text
		}
	}
	return p
}

func (ap *arnPattern) match(a *arnParts, ec *evalCtx) bool {
	if ap.any {
		return true
	}
	for i := range ap.parts {
		if !ap.parts[i].match(a[i], ec) {
			return false
		}
	}
	return true
}

// MatchARN reports whether arn matches pattern, as a Resource entry would:
// "*" matches anything; otherwise each part matches separately with * and
// ? wildcards, case-sensitively. Variables are not substituted.
func MatchARN(pattern, arn string) bool {
	ap, err := compileARNPattern(pattern, false)
	if err != nil {
		return false
	}
	if ap.any {
		return true
	}
	parts, ok := splitARN(arn)
	return ok && ap.match(&parts, nil)
}
