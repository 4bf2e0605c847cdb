package s3api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/filesphere/filesphere/iam/policy"
	"github.com/filesphere/filesphere/storage"
)

// A bucket's access settings are settings documents beside the bucket
// (storage.ConfigPolicy, …), in formats s3api owns: the bucket policy as
// the JSON the owner put, the others as the JSON of the types below. They
// are read on every request to the bucket (one storage call) and parsed or
// compiled once per document revision.

// accessKinds are the documents authorization reads, in this order.
var accessKinds = []storage.ConfigKind{storage.ConfigPolicy, storage.ConfigPublicAccessBlock, storage.ConfigOwnership, storage.ConfigACL}

// publicAccessBlock is a bucket's PublicAccessBlockConfiguration.
type publicAccessBlock struct {
	BlockPublicAcls       bool `json:"block_public_acls,omitempty"`
	IgnorePublicAcls      bool `json:"ignore_public_acls,omitempty"`
	BlockPublicPolicy     bool `json:"block_public_policy,omitempty"`
	RestrictPublicBuckets bool `json:"restrict_public_buckets,omitempty"`
}

// Object ownership settings (OwnershipControls).
const (
	ownerEnforced  = "BucketOwnerEnforced"
	ownerPreferred = "BucketOwnerPreferred"
	objectWriter   = "ObjectWriter"
)

// ownershipDoc is a bucket's OwnershipControls; no document means
// BucketOwnerEnforced (ACLs disabled), as for new buckets in S3.
type ownershipDoc struct {
	ObjectOwnership string `json:"object_ownership"`
}

// bucketSettings are the parsed documents, shared by the requests that
// read the same revisions.
type bucketSettings struct {
	revs   [4]uint64
	policy *policy.Policy // nil: no bucket policy
	public bool           // the policy grants public access (policyStatus)
	// objectTags: the policy has a condition on s3:ExistingObjectTag/*.
	objectTags bool
	pab        publicAccessBlock
	ownership  string
	acl        *accessList // nil: the owner's full control
}

// bucketAccess is one request's view of a bucket.
type bucketAccess struct {
	info storage.BucketInfo
	*bucketSettings
}

// aclsEnabled reports whether the bucket's ACLs count (ownership other
// than BucketOwnerEnforced).
func (b *bucketAccess) aclsEnabled() bool {
	return b != nil && b.ownership != ownerEnforced
}

// policyFor is the bucket policy that bears on the caller's action: none
// for the owner's root managing the policy itself (S3 lets it do so even
// when the policy denies it), and none for an anonymous caller when
// RestrictPublicBuckets holds and the policy is public.
func (b *bucketAccess) policyFor(id *Identity, action string) *policy.Policy {
	if b == nil || b.policy == nil {
		return nil
	}
	switch action {
	case "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy":
		if id.Principal.Type == policy.PrincipalAccount {
			return nil
		}
	}
	if id.Anonymous && b.public && b.pab.RestrictPublicBuckets {
		return nil
	}
	return b.policy
}

// bucketCache keeps recently used buckets' access settings. An entry is
// valid while the storage settings generation it was read under stays the
// same; the generation is read from the local replica at most every
// genCheck, so a change made through another node counts here once this
// replica applied it, plus at most genCheck. A change made through this
// node counts at once: forget drops the entry, and a load that raced with
// the change is not kept (epoch). Entries are read linearizably.
type bucketCache struct {
	mu      sync.Mutex
	m       map[string]cachedBucket
	max     int
	epoch   uint64 // bumped by forget
	gen     atomic.Pointer[genReading]
	started time.Time
}

type cachedBucket struct {
	access *bucketAccess
	gen    uint64
}

// genReading is one reading of the settings generation and when (in
// monotonic time since started) it was taken.
type genReading struct {
	gen uint64
	at  time.Duration
}

// genCheck bounds how long a generation reading is reused.
const genCheck = 10 * time.Millisecond

func (c *bucketCache) init(max int) {
	c.m, c.max, c.started = make(map[string]cachedBucket), max, time.Now()
}

func (c *bucketCache) generation(ctx context.Context, backend storage.BucketConfigs) (uint64, error) {
	now := time.Since(c.started)
	if r := c.gen.Load(); r != nil && now-r.at < genCheck {
		return r.gen, nil
	}
	g, err := backend.BucketConfigGeneration(ctx)
	if err != nil {
		return 0, err
	}
	c.gen.Store(&genReading{gen: g, at: now})
	return g, nil
}

// load returns bucket's access settings, from the cache while valid.
func (c *bucketCache) load(ctx context.Context, backend storage.BucketConfigs, bucket string) (*bucketAccess, error) {
	gen, err := c.generation(ctx, backend)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	e, ok := c.m[bucket]
	epoch := c.epoch
	c.mu.Unlock()
	if ok && e.gen == gen {
		return e.access, nil
	}
	info, docs, err := backend.GetBucketConfigs(ctx, bucket, accessKinds...)
	if err != nil {
		return nil, err
	}
	var revs [4]uint64
	for i := range docs {
		revs[i] = docs[i].Revision
	}
	var st *bucketSettings
	if ok && e.access.revs == revs {
		st = e.access.bucketSettings // unchanged documents: keep the parse
	} else if st, err = parseSettings(bucket, docs, revs); err != nil {
		return nil, err
	}
	b := &bucketAccess{info: info, bucketSettings: st}
	c.mu.Lock()
	if c.epoch == epoch {
		if len(c.m) >= c.max {
			c.m = make(map[string]cachedBucket)
		}
		c.m[bucket] = cachedBucket{access: b, gen: gen}
	}
	c.mu.Unlock()
	return b, nil
}

// forget drops a bucket's entry after this node changed its settings, and
// keeps loads that started before from storing what they read.
func (c *bucketCache) forget(bucket string) {
	c.mu.Lock()
	delete(c.m, bucket)
	c.epoch++
	c.mu.Unlock()
}

// parseSettings parses stored documents; one that no longer parses is an
// internal error (it was validated when written), never ignored.
func parseSettings(bucket string, docs []storage.ConfigDoc, revs [4]uint64) (*bucketSettings, error) {
	st := &bucketSettings{revs: revs, ownership: ownerEnforced}
	for _, d := range docs {
		if d.Doc == nil {
			continue
		}
		var err error
		switch d.Kind {
		case storage.ConfigPolicy:
			if st.policy, err = policy.Parse(d.Doc, policy.KindResource); err == nil {
				st.public = policyIsPublic(st.policy.Document())
				st.objectTags = bytes.Contains(bytes.ToLower(d.Doc), []byte("s3:existingobjecttag/"))
			}
		case storage.ConfigPublicAccessBlock:
			err = json.Unmarshal(d.Doc, &st.pab)
		case storage.ConfigOwnership:
			var o ownershipDoc
			if err = json.Unmarshal(d.Doc, &o); err == nil {
				st.ownership = o.ObjectOwnership
			}
		case storage.ConfigACL:
			st.acl = new(accessList)
			err = json.Unmarshal(d.Doc, st.acl)
		}
		if err != nil {
			return nil, fmt.Errorf("s3api: stored %s of bucket %s: %w", d.Kind, bucket, err)
		}
	}
	return st, nil
}
