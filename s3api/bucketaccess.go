package s3api

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

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
	revs      [4]uint64
	policy    *policy.Policy // nil: no bucket policy
	public    bool           // the policy grants public access (policyStatus)
	pab       publicAccessBlock
	ownership string
	acl       *accessList // nil: the owner's full control
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

// bucketCache keeps the parsed settings of recently used buckets.
type bucketCache struct {
	mu  sync.Mutex
	m   map[string]*bucketSettings
	max int
}

func (c *bucketCache) init(max int) {
	c.m, c.max = make(map[string]*bucketSettings), max
}

// load reads bucket's settings documents and returns them parsed, reusing
// the cached parse when no document changed.
func (c *bucketCache) load(ctx context.Context, backend storage.BucketConfigs, bucket string) (*bucketAccess, error) {
	info, docs, err := backend.GetBucketConfigs(ctx, bucket, accessKinds...)
	if err != nil {
		return nil, err
	}
	var revs [4]uint64
	for i := range docs {
		revs[i] = docs[i].Revision
	}
	c.mu.Lock()
	st, ok := c.m[bucket]
	c.mu.Unlock()
	if ok && st.revs == revs {
		return &bucketAccess{info: info, bucketSettings: st}, nil
	}
	if st, err = parseSettings(bucket, docs, revs); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		c.m = make(map[string]*bucketSettings)
	}
	c.m[bucket] = st
	c.mu.Unlock()
	return &bucketAccess{info: info, bucketSettings: st}, nil
}

// forget drops a bucket's cached settings (after this node changed them,
// so that an unchanged revision can never be mistaken for the new one).
func (c *bucketCache) forget(bucket string) {
	c.mu.Lock()
	delete(c.m, bucket)
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
