package s3api

// errMissingDigest is S3's answer to a request that must carry a
// Content-MD5 or checksum and does not.
var errMissingDigest = apiErr(ErrInvalidRequest, "Missing required header for this request: Content-MD5 OR x-amz-checksum-*")

// readDigestedXML reads an XML body that S3 requires a Content-MD5 or
// x-amz-checksum-* (header or trailer) for, verifying it while reading.
func readDigestedXML(req *request, v any) error {
	spec, err := parseChecksums(req.Header)
	if err != nil {
		return err
	}
	if !spec.digest() {
		return errMissingDigest
	}
	if err := verifyBody(req); err != nil {
		return err
	}
	return readXML(req, v)
}

// digest reports whether the request names a Content-MD5 or a checksum
// value (in a header or a trailer) that its body is verified against.
func (cs checksumSpec) digest() bool { return cs.md5 != nil || cs.want != "" || cs.inTrailer }
