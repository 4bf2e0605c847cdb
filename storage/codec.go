package storage

import "github.com/filesphere/filesphere/erasure"

// newCodec builds the codec for a stream's recorded geometry and hash.
func newCodec(ec ECInfo) (*erasure.Codec, error) {
	return erasure.New(ec.Data, ec.Parity, erasure.WithBlockSize(ec.BlockSize), erasure.WithBitrot(ec.bitrot()))
}

// newECInfo is what new writes record.
func (c EngineConfig) newECInfo() ECInfo {
	return ECInfo{Data: c.DataShards, Parity: c.ParityShards, BlockSize: c.BlockSize, Bitrot: c.Bitrot}
}
