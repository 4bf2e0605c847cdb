// Package sigv4 verifies AWS Signature Version 4 on incoming S3 requests: the
// Authorization header form, presigned URLs, and the aws-chunked streaming
// forms with per-chunk and trailer signatures, and the policy signature of
// browser-based POST uploads (VerifyPost).
//
// It knows no users and no storage: secrets come from a Lookup func, and the
// verified payload is handed back as a reader that checks the body as the
// caller consumes it. A body is only trustworthy once its reader has returned
// io.EOF; any other error means the request must be rejected and whatever was
// written from it discarded.
//
// Verify authenticates a request and returns a Result whose Body must be read
// instead of r.Body. The errors are sentinels (ErrSignatureDoesNotMatch, ...)
// wrapped with detail; each sentinel's comment names the S3 error code s3api
// answers with.
package sigv4
