package erasure

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// VerifyShard reads one whole shard file of an object of size bytes from r
// and checks every frame's hash, for scrubbing. It returns a *BlockError
// wrapping ErrCorruptBlock or ErrShortShard for the first bad block,
// ErrTrailingData if r holds bytes past the last frame, or nil. It reads
// one frame at a time into a pooled buffer, whatever the object size.
func (c *Codec) VerifyShard(ctx context.Context, r io.Reader, size int64) error {
	if size < 0 {
		return fmt.Errorf("%w: object size %d", ErrInvalidArgument, size)
	}
	s := c.getSet()
	defer c.putSet(s)
	nb := c.NumBlocks(size)
	for b := range nb {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.setBlock(s, b, size)
		frame := s.frame(0)
		if _, err := io.ReadFull(r, frame); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = ErrShortShard
			}
			return &BlockError{Block: b, Op: "read", Err: err}
		}
		if err := c.verifyFrame(frame, b); err != nil {
			return err
		}
	}
	var one [1]byte
	n, err := io.ReadFull(r, one[:])
	switch {
	case n > 0:
		return fmt.Errorf("%w: after block %d", ErrTrailingData, nb-1)
	case err != nil && !errors.Is(err, io.EOF):
		return fmt.Errorf("erasure: verify shard: %w", err)
	}
	return nil
}
