package erasure_test

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/filesphere/filesphere/erasure"
)

// Encode a 3 MiB object into 2+2 shards, lose two of them, and still read
// a range that crosses a block boundary.
func ExampleCodec_Decode() {
	ctx := context.Background()
	codec, err := erasure.New(2, 2, erasure.WithBlockSize(1<<20))
	if err != nil {
		panic(err)
	}
	object := bytes.Repeat([]byte("filesphere "), 3<<20/11)
	shards := make([]*bytes.Buffer, codec.Shards())
	dst := make([]io.Writer, codec.Shards())
	for i := range shards {
		shards[i] = new(bytes.Buffer)
		dst[i] = shards[i]
	}
	size := int64(len(object))
	if _, _, err := codec.Encode(ctx, bytes.NewReader(object), dst, size, codec.Shards()); err != nil {
		panic(err)
	}
	fmt.Println("shard file size:", codec.ShardFileSize(size) == int64(shards[0].Len()))

	src := make([]erasure.ShardSource, codec.Shards())
	for i, b := range shards {
		if i == 0 || i == 3 {
			continue // two drives lost: nil sources
		}
		data := b.Bytes()
		src[i] = func(_ context.Context, off, length int64) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data[off : off+length])), nil
		}
	}
	var out bytes.Buffer
	offset, length := int64(1<<20-5), int64(10)
	serrs, err := codec.Decode(ctx, &out, src, offset, length, size)
	if err != nil {
		panic(err)
	}
	fmt.Println("range intact:", bytes.Equal(out.Bytes(), object[offset:offset+length]))
	// Only the shards the read needed are tried: shard 3 was never opened.
	fmt.Println("shards found missing:", serrs.Failed())
	// Output:
	// shard file size: true
	// range intact: true
	// shards found missing: [0]
}
