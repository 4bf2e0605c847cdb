package main

import "github.com/filesphere/filesphere/erasure"

// bitrotFlag is --bitrot: the frame hash of new writes, checked when set
// (from the command line or FILESPHERE_BITROT) so a typo fails at once.
type bitrotFlag struct{ alg erasure.Bitrot }

func (b *bitrotFlag) String() string { return string(b.alg) }
func (b *bitrotFlag) Type() string   { return "sha256|highwayhash" }

func (b *bitrotFlag) Set(s string) error {
	alg, err := erasure.ParseBitrot(s)
	if err != nil {
		return err
	}
	b.alg = alg
	return nil
}
