package erasure

import (
	"encoding/hex"
	"errors"
	"testing"
)

// TestBitrotKnownAnswer pins the digests of both algorithms over a fixed
// input: the HighwayHash key is part of the on-disk format, so changing it
// (or the library's output) must fail here, not on users' old shards.
func TestBitrotKnownAnswer(t *testing.T) {
	in := []byte("FileSphere shard chunk")
	for _, tt := range []struct {
		alg  Bitrot
		want string
	}{
		{BitrotSHA256, "cc9fcb42fa18536bf0aa42272a781ddffe3ea2d007fe4caaded3648ef79d08dc"},
		{BitrotHighwayHash, "706c19b0b0e1f6a569a7db69fdb6ff94221ad8ed84d4bdbf23e132075e2bdb1d"},
	} {
		sum := frameSum(tt.alg, in)
		if got := hex.EncodeToString(sum[:]); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.alg, got, tt.want)
		}
	}
}

func TestParseBitrot(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Bitrot
		ok   bool
	}{
		{"sha256", BitrotSHA256, true},
		{"highwayhash", BitrotHighwayHash, true},
		{"", "", false},
		{"SHA256", "", false},
		{"blake3", "", false},
	} {
		got, err := ParseBitrot(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParseBitrot(%q) = %q, %v", tt.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ParseBitrot(%q): %v is not ErrInvalidArgument", tt.in, err)
		}
	}
}

func TestDefaultBitrot(t *testing.T) {
	c, err := New(2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if c.Bitrot() != DefaultBitrot || DefaultBitrot != BitrotHighwayHash {
		t.Fatalf("Bitrot() = %q, DefaultBitrot = %q", c.Bitrot(), DefaultBitrot)
	}
	for _, alg := range bitrots {
		if got := newCodec(t, 2, 2, testBlock, WithBitrot(alg)).Bitrot(); got != alg {
			t.Errorf("WithBitrot(%q): Bitrot() = %q", alg, got)
		}
	}
}

// TestBitrotMismatchRefuses reads shards with the other algorithm: every
// frame fails verification, so Decode writes nothing and reports read
// quorum, and Scrub and VerifyShard report corruption. A record that lost
// its algorithm can never yield wrong bytes.
func TestBitrotMismatchRefuses(t *testing.T) {
	size := 3*testBlock + 17
	data := randomBytes(5, size)
	for _, alg := range bitrots {
		other := BitrotSHA256
		if alg == BitrotSHA256 {
			other = BitrotHighwayHash
		}
		t.Run(string(alg), func(t *testing.T) {
			shards := encodeShards(t, newCodec(t, 2, 2, testBlock, WithBitrot(alg)), data)
			wrong := newCodec(t, 2, 2, testBlock, WithBitrot(other))
			got, _, err := decodeRange(wrong, sources(wrong, shards, nil, 0, nil), 0, int64(size), int64(size))
			if !errors.Is(err, ErrReadQuorum) || len(got) != 0 {
				t.Fatalf("decode with %s: %d bytes, err %v; want nothing and ErrReadQuorum", other, len(got), err)
			}
			rep, err := wrong.Scrub(t.Context(), sources(wrong, shards, nil, 0, nil), int64(size))
			if err != nil || rep.MinGood != 0 || !errors.Is(rep.Shards.Err(), ErrCorruptBlock) {
				t.Fatalf("scrub with %s: %+v, %v", other, rep, err)
			}
		})
	}
}
