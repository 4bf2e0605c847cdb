package s3api

import "net/http"

// accessSubresources are the bucket subresources of access control, each
// with its operation per method.
var accessSubresources = []struct {
	sub string
	ops map[string]Operation
}{
	{"policy", map[string]Operation{http.MethodGet: OpGetBucketPolicy, http.MethodPut: OpPutBucketPolicy, http.MethodDelete: OpDeleteBucketPolicy}},
	{"policyStatus", map[string]Operation{http.MethodGet: OpGetBucketPolicyStatus}},
	{"publicAccessBlock", map[string]Operation{http.MethodGet: OpGetPublicAccessBlock, http.MethodPut: OpPutPublicAccessBlock, http.MethodDelete: OpDeletePublicAccessBlock}},
	{"ownershipControls", map[string]Operation{http.MethodGet: OpGetBucketOwnershipControls, http.MethodPut: OpPutBucketOwnershipControls, http.MethodDelete: OpDeleteBucketOwnershipControls}},
}

// classifyBucketAccess classifies a bucket request naming an access
// subresource; ok is false for other requests.
func classifyBucketAccess(method string, q map[string][]string) (Operation, bool) {
	for _, a := range accessSubresources {
		if _, ok := q[a.sub]; !ok {
			continue
		}
		if op, ok := a.ops[method]; ok {
			return op, true
		}
		return OpMethodNotAllowed, true
	}
	return "", false
}
