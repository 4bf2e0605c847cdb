package s3api

import (
	"bufio"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/filesphere/filesphere/iam"
	"github.com/filesphere/filesphere/s3api/sigv4"
	"github.com/filesphere/filesphere/storage"
)

// Bounds on a POST upload's form, the part before the file.
const (
	// maxPostPreData is S3's limit on the fields before the file (names
	// and values).
	maxPostPreData = 20 << 10
	maxPostFields  = 256
	// postRawSlack is what may come with the field data before the file:
	// part headers, boundaries, the multipart reader's read-ahead.
	postRawSlack = 16 << 10
	// postReadBuffer buffers the body under the multipart reader, whose own
	// 4 KiB buffer would otherwise cost a socket read per 4 KiB of file.
	postReadBuffer = 64 << 10
	// maxPostTrailer is how much of what follows the file (fields S3
	// ignores, the closing boundary) is read after a success, so the
	// connection can serve the next request.
	maxPostTrailer = 64 << 10
)

// postSignatureFields are the fields of a signed form; one means all.
var postSignatureFields = []string{"policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"}

// postForm is a POST upload's form up to its file part.
type postForm struct {
	fields   map[string]string // lower-case name → value
	names    []string          // lower-case, in order
	file     *multipart.Part
	filename string
}

func (f *postForm) has(name string) bool { _, ok := f.fields[name]; return ok }

// asHeader presents the fields by their own names, for the field table.
func (f *postForm) asHeader() http.Header {
	h := http.Header{}
	for name, v := range f.fields {
		h[textproto.CanonicalMIMEHeaderKey(name)] = []string{v}
	}
	return h
}

// header presents the fields that describe the object as the headers of a
// PutObject, for the header table and the PutObject helpers.
func (f *postForm) header() http.Header {
	h := http.Header{}
	for name, v := range f.fields {
		switch name {
		case "acl":
			name = "x-amz-acl"
		case "x-amz-checksum-algorithm":
			// The algorithm to compute when no value is given, as the
			// header of a PUT with a payload says it.
			name = "x-amz-sdk-checksum-algorithm"
		}
		h[textproto.CanonicalMIMEHeaderKey(name)] = []string{v}
	}
	return h
}

// postObject stores the file of an HTML form upload (POST Object). Its
// authentication is in the form, so the form is read first, bounded in
// size and count, up to the file part, which must come last (what follows
// it is ignored, as S3 does). Then the form goes through the same steps as
// any request: the field table, the signature of the policy, the policy's
// conditions, authorization; only then does the file stream through the
// PutObject path, its size held to the policy as bytes arrive.
func (s *Server) postObject(ctx context.Context, req *request) (*response, error) {
	boundary, err := postBoundary(req.Header)
	if err != nil {
		return nil, err
	}
	if req.ContentLength > maxObjectSize+maxPostPreData+postRawSlack+maxPostTrailer {
		// No form of this length can hold an object S3 would take.
		return nil, &APIError{Code: ErrEntityTooLarge, Extra: []errorField{field("MaxSizeAllowed", fmt.Sprint(int64(maxObjectSize)))}}
	}
	release, err := s.uploads.acquire(s.backend.WriteMemory(-1) + maxPostPreData + postRawSlack + postReadBuffer)
	if err != nil {
		return nil, err
	}
	defer release()
	raw := &formReader{r: req.Body, limit: maxPostPreData + postRawSlack}
	buffered := bufio.NewReaderSize(raw, postReadBuffer)
	form, err := readForm(multipart.NewReader(buffered, boundary))
	if err != nil {
		return nil, formError(err, raw.eof)
	}
	raw.limit = -1
	if err := postFields.check("form field", form.asHeader()); err != nil {
		return nil, err
	}
	if err := s.postAuthenticate(ctx, req, form); err != nil {
		return nil, err
	}
	key, err := postKey(form)
	if err != nil {
		return nil, err
	}
	policy, err := s.checkPolicy(req, form, key)
	if err != nil {
		return nil, err
	}
	req.route.Key = key
	if err := s.authorize(ctx, req); err != nil {
		return nil, err
	}
	resp, err := s.storePost(ctx, req, form, policy)
	if err == nil {
		_, _ = io.CopyN(io.Discard, buffered, maxPostTrailer)
	}
	return resp, err
}

// checkPolicy applies a signed form's policy (nil for an unsigned form).
// Its conditions test the form's fields, except that "bucket" is the bucket
// the form is posted to, whatever a field says, and "key" is the key after
// ${filename}.
func (s *Server) checkPolicy(req *request, form *postForm, key string) (*postPolicy, error) {
	if !form.has("policy") {
		return nil, nil
	}
	policy, err := parsePostPolicy(form.fields["policy"])
	if err != nil {
		return nil, err
	}
	values := maps.Clone(form.fields)
	values["bucket"], values["key"] = req.route.Bucket, key
	return policy, policy.check(s.cfg.Now(), values, form.names)
}

// postBoundary checks the request is a multipart form and returns its
// boundary; anything else is refused before the body is read.
func postBoundary(h http.Header) (string, error) {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return "", &APIError{Code: ErrPreconditionFailed,
			Extra: []errorField{field("Condition", "Bucket POST must be of the enclosure-type multipart/form-data")}}
	}
	return params["boundary"], nil
}

// formReader bounds the bytes read from a POST body before the file part
// (limit > 0); once the file streams the limit is lifted (-1).
type formReader struct {
	r     io.Reader
	n     int64
	limit int64
	eof   bool // the body ended where it said it would
}

func (f *formReader) Read(p []byte) (int, error) {
	if f.limit > 0 {
		if f.n >= f.limit {
			return 0, preDataTooLarge()
		}
		p = p[:min(int64(len(p)), f.limit-f.n)]
	}
	n, err := f.r.Read(p)
	f.n += int64(n)
	f.eof = f.eof || err == io.EOF
	return n, err
}

func preDataTooLarge() *APIError {
	return &APIError{Code: ErrMaxPostPreDataLengthExceeded,
		Extra: []errorField{field("MaxPostPreDataLengthBytes", fmt.Sprint(maxPostPreData))}}
}

// readForm reads the fields up to the file part. Field names are
// case-insensitive; a field given twice is refused rather than guessed at.
func readForm(mr *multipart.Reader) (*postForm, error) {
	f := &postForm{fields: map[string]string{}}
	size := 0
	for {
		// Raw: the bytes stored are the bytes sent (no quoted-printable
		// decoding, which S3 does not do either).
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return nil, apiErr(ErrIncorrectNumberOfFilesInPost, "")
		}
		if err != nil {
			return nil, err
		}
		name := strings.ToLower(p.FormName())
		switch {
		case name == "":
			return nil, &APIError{Code: ErrMalformedPOSTRequest, Message: malformedPOST + " A part has no form-data name."}
		case name == "file":
			f.file, f.filename = p, p.FileName()
			return f, nil
		case f.has(name):
			return nil, invalidField(name, "The form field "+name+" is given more than once.")
		case len(f.names) == maxPostFields:
			return nil, apiErr(ErrInvalidArgument, fmt.Sprintf("A POST form may have at most %d fields before the file.", maxPostFields))
		}
		room := maxPostPreData - size - len(name)
		if room < 0 {
			return nil, preDataTooLarge()
		}
		v, err := io.ReadAll(io.LimitReader(p, int64(room)+1))
		if err != nil {
			return nil, err
		}
		if len(v) > room {
			return nil, preDataTooLarge()
		}
		size += len(name) + len(v)
		f.fields[name] = string(v)
		f.names = append(f.names, name)
	}
}

const malformedPOST = "The body of your POST request is not well-formed multipart/form-data."

// formError maps a failure to read the form: the body's own errors (a
// stalled client, the size bound) pass, a body cut short of its length is
// incomplete, and a whole body that is no form is malformed.
func formError(err error, complete bool) error {
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case !complete && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)):
		return &APIError{Code: ErrIncompleteBody, Err: err}
	}
	return &APIError{Code: ErrMalformedPOSTRequest, Err: err}
}

// invalidField is InvalidArgument naming the form field, as S3 does.
func invalidField(name, msg string) error {
	return &APIError{Code: ErrInvalidArgument, Message: msg, Extra: []errorField{field("ArgumentName", name)}}
}

// postAuthenticate sets the request's identity from the form: anonymous
// without signature fields, else the key that signed the policy.
func (s *Server) postAuthenticate(ctx context.Context, req *request, f *postForm) error {
	if f.has("awsaccesskeyid") || f.has("signature") {
		return invalidField("AWSAccessKeyId", "Signature Version 2 POST forms (AWSAccessKeyId, signature) are not accepted, please sign the policy with AWS4-HMAC-SHA256.")
	}
	signed := false
	for _, n := range postSignatureFields {
		signed = signed || f.has(n)
	}
	if !signed {
		req.id = Identity{Anonymous: true, TLS: secureTransport(req.Request, s.cfg.TrustForwardedProto)}
		return nil
	}
	for _, n := range postSignatureFields {
		if !f.has(n) {
			return invalidField(n, fmt.Sprintf("Bucket POST must contain a field named '%s'.  If it is specified, please check the order of the fields.", n))
		}
	}
	var cred *iam.Credential
	res, err := s.verifier.VerifyPostWith(sigv4.PostForm{
		Policy: f.fields["policy"], Algorithm: f.fields["x-amz-algorithm"], Credential: f.fields["x-amz-credential"],
		Date: f.fields["x-amz-date"], Signature: f.fields["x-amz-signature"], SecurityToken: f.fields["x-amz-security-token"],
	}, s.credentialLookup(ctx, &cred))
	if err != nil {
		return err
	}
	return s.identify(req, res, cred)
}

// postKey is the key field with ${filename} replaced by the file's name.
func postKey(f *postForm) (string, error) {
	key := strings.ReplaceAll(f.fields["key"], "${filename}", f.filename)
	if key == "" {
		return "", invalidField("key", "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
	}
	return key, validateKey(key)
}

// storePost streams the file through PutObject and answers as the form's
// success_action_redirect or success_action_status asks.
func (s *Server) storePost(ctx context.Context, req *request, f *postForm, policy *postPolicy) (*response, error) {
	h := f.header()
	meta, err := parseMetadata(h)
	if err != nil {
		return nil, err
	}
	spec, err := parseChecksums(h)
	if err != nil {
		return nil, err
	}
	if a := h.Get("X-Amz-Sdk-Checksum-Algorithm"); a != "" && spec.want != "" && !strings.EqualFold(a, string(spec.alg)) {
		return nil, invalidField("x-amz-checksum-algorithm", "The x-amz-checksum-algorithm field does not name the algorithm of the checksum given.")
	}
	limit := &sizeLimit{r: f.file, max: maxObjectSize}
	if policy != nil && policy.sized {
		limit.min, limit.max, limit.byPolicy = policy.minSize, min(policy.maxSize, maxObjectSize), true
	}
	body := newVerifyingReader(limit, -1, spec, nil)
	info, err := s.backend.PutObject(ctx, req.route.Bucket, req.route.Key, body,
		storage.PutOptions{Size: -1, Meta: meta, Checksum: body.checksum()})
	if err != nil {
		return nil, err
	}
	out := http.Header{"Etag": {info.ETag}, "Location": {s.objectURL(req)}}
	versionHeader(out, info.VersionID)
	setChecksumHeaders(out, info.Checksums)
	s.sseHeaders(out, info.SSE, nil, false) // the bucket's default encryption

	if to, ok := redirectURL(f); ok {
		out.Set("Location", to+"bucket="+url.QueryEscape(req.route.Bucket)+"&key="+url.QueryEscape(req.route.Key)+
			"&etag="+url.QueryEscape(info.ETag))
		return &response{status: http.StatusSeeOther, header: out}, nil
	}
	switch f.fields["success_action_status"] {
	case "200":
		return &response{status: http.StatusOK, header: out}, nil
	case "201":
		return &response{status: http.StatusCreated, header: out, xml: postResponse{
			Location: out.Get("Location"), Bucket: req.route.Bucket, Key: req.route.Key, ETag: info.ETag}}, nil
	}
	// 204 is the default, and what S3 answers for a value it does not know.
	return &response{status: http.StatusNoContent, header: out}, nil
}

// redirectURL returns the form's success_action_redirect (or the older
// redirect) ready for the query S3 appends; a value that is not an
// absolute http(s) URL is ignored, as S3 ignores what it cannot interpret.
func redirectURL(f *postForm) (string, bool) {
	v, ok := f.fields["success_action_redirect"]
	if !ok {
		v = f.fields["redirect"]
	}
	u, err := url.Parse(v)
	if v == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return "", false
	}
	if u.RawQuery != "" || strings.HasSuffix(v, "?") {
		return strings.TrimSuffix(v, "?") + "&", true
	}
	return v + "?", true
}

// objectURL is the uploaded object's URL, in the request's addressing
// style.
func (s *Server) objectURL(req *request) string {
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	path := "/" + url.PathEscape(req.route.Key)
	if strings.Trim(req.URL.Path, "/") != "" { // path style: /bucket
		path = "/" + req.route.Bucket + path
	}
	return scheme + "://" + req.Host + path
}

// postResponse is the document of success_action_status 201.
type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

// sizeLimit holds a file to [min, max] bytes as it streams: one byte past
// max fails at once, and a file ending short of min fails at its end, so
// storage discards it either way.
type sizeLimit struct {
	r        io.Reader
	n        int64
	min, max int64
	byPolicy bool // the bounds are the policy's content-length-range
}

func (l *sizeLimit) Read(p []byte) (int, error) {
	if int64(len(p)) > l.max-l.n+1 {
		p = p[:l.max-l.n+1]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		e := &APIError{Code: ErrEntityTooLarge, Extra: []errorField{field("MaxSizeAllowed", fmt.Sprint(l.max))}}
		if l.byPolicy {
			e.Message = "Your proposed upload exceeds the maximum allowed size"
		}
		return 0, e
	}
	if err == io.EOF && l.n < l.min {
		return n, &APIError{Code: ErrEntityTooSmall, Message: "Your proposed upload is smaller than the minimum allowed size",
			Extra: []errorField{field("ProposedSize", fmt.Sprint(l.n)), field("MinSizeAllowed", fmt.Sprint(l.min))}}
	}
	return n, err
}
