package s3api

import (
	"golang.org/x/sync/semaphore"
)

// uploadBudget bounds the memory that request bodies hold while they are
// read on this node: each request takes its cost before its first byte is
// read and gives it back when its handler returns. Past the bound a
// request is refused with SlowDown at once instead of queueing, so a crowd
// of slow uploads costs memory only up to the bound.
type uploadBudget struct {
	sem   *semaphore.Weighted
	total int64
}

func newUploadBudget(total int64) *uploadBudget {
	return &uploadBudget{sem: semaphore.NewWeighted(total), total: total}
}

// acquire takes cost (at most the whole budget, so any single request can
// run alone) and returns its release.
func (b *uploadBudget) acquire(cost int64) (func(), error) {
	cost = min(cost, b.total)
	if cost <= 0 {
		return func() {}, nil
	}
	if !b.sem.TryAcquire(cost) {
		return nil, apiErr(ErrSlowDown, "")
	}
	return func() { b.sem.Release(cost) }, nil
}

// bodyCost is the memory a request holds while it writes: the storage
// layer's write buffers for object data (a copy writes a new data stream of
// a size not known yet), the document for XML bodies (io.ReadAll may double
// its buffer once), plus what the SigV4 reader buffers (a whole aws-chunked
// chunk). Operations that write no data and read no body cost nothing.
func (s *Server) bodyCost(req *request) int64 {
	switch req.route.Op {
	case OpPutObject, OpUploadPart:
		return s.backend.WriteMemory(req.bodySize) + req.maxBuffered
	case OpCopyObject, OpUploadPartCopy:
		return s.backend.WriteMemory(-1)
	case OpDeleteObjects, OpCompleteMultipartUpload, OpCreateBucket, OpPutBucketVersioning, OpPutBucketCors:
		n := int64(maxXMLBody)
		if req.bodySize >= 0 {
			n = min(req.bodySize, n)
		}
		if n == 0 {
			return 0
		}
		return 2*n + req.maxBuffered
	}
	return 0
}
