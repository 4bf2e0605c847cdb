package s3api

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzXMLBodies feeds arbitrary bytes to every XML request body the API
// parses: it must never panic, and what it accepts must be within limits.
func FuzzXMLBodies(f *testing.F) {
	seeds := []string{
		`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"a"</ETag></Part></CompleteMultipartUpload>`,
		`<Delete><Quiet>true</Quiet><Object><Key>a</Key><VersionId>v</VersionId></Object></Delete>`,
		`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`,
		`<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`,
		`<Delete><Object><Key>&lt;&amp;</Key></Object>`,
		`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Delete>&a;</Delete>`,
		`<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>k</KMSMasterKeyID></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		targets := []any{&completeMultipartUpload{}, &deleteRequest{}, &versioningConfiguration{}, &createBucketConfiguration{}, &encryptionConfig{}}
		for _, v := range targets {
			req := &request{Request: httptest.NewRequest("POST", "/b", nil), body: io.NopCloser(strings.NewReader(string(data)))}
			err := readXML(req, v)
			if err == nil && len(data) > maxXMLBody {
				t.Fatalf("accepted a %d-byte body over the limit", len(data))
			}
			if err != nil {
				if ae := toAPIError(err); ae.Code != ErrMalformedXML {
					t.Fatalf("parse error mapped to %s, want MalformedXML", ae.Code)
				}
			}
		}
	})
}
