package s3api

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/filesphere/filesphere/storage"
)

// S3's tag limits ("Tag restrictions" in the S3 user guide).
const (
	maxObjectTags  = storage.MaxObjectTags
	maxBucketTags  = 50
	maxTagKeyLen   = 128 // Unicode characters
	maxTagValueLen = 256
)

type xmlTag struct {
	Key   *string `xml:"Key"`
	Value *string `xml:"Value"`
}

type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	TagSet  *struct {
		Tags []xmlTag `xml:"Tag"`
	} `xml:"TagSet"`
}

// taggingOut is the GetObjectTagging/GetBucketTagging document (TagSet is
// always present, empty or not).
type taggingOut struct {
	XMLName xml.Name `xml:"Tagging"`
	NS      string   `xml:"xmlns,attr"`
	Tags    []xmlTag `xml:"TagSet>Tag"`
}

func toXMLTags(tags []storage.Tag) []xmlTag {
	out := make([]xmlTag, len(tags))
	for i := range tags {
		out[i] = xmlTag{Key: &tags[i].Key, Value: &tags[i].Value}
	}
	return out
}

// tagChar is the character set S3 allows in tag keys and values: letters,
// separators (spaces), digits and _ . : / = + - @.
func tagChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.In(r, unicode.Z) || unicode.IsNumber(r) || strings.ContainsRune("_.:/=+-@", r)
}

// checkTags applies S3's tag rules to a tag set of at most max tags.
func checkTags(tags []storage.Tag, max int, limitMsg string) error {
	if len(tags) > max {
		return apiErr(ErrBadRequest, limitMsg)
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		switch {
		case t.Key == "" || !utf8.ValidString(t.Key) || strings.IndexFunc(t.Key, func(r rune) bool { return !tagChar(r) }) >= 0:
			return apiErr(ErrInvalidTag, "The TagKey you have provided is invalid")
		case utf8.RuneCountInString(t.Key) > maxTagKeyLen:
			return apiErr(ErrInvalidTag, fmt.Sprintf("The TagKey you have provided is too long, max %d", maxTagKeyLen))
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return apiErr(ErrInvalidTag, "Your TagKey cannot be prefixed with aws:")
		case !utf8.ValidString(t.Value) || strings.IndexFunc(t.Value, func(r rune) bool { return !tagChar(r) }) >= 0:
			return apiErr(ErrInvalidTag, "The TagValue you have provided is invalid")
		case utf8.RuneCountInString(t.Value) > maxTagValueLen:
			return apiErr(ErrInvalidTag, fmt.Sprintf("The TagValue you have provided is too long, max %d", maxTagValueLen))
		case seen[t.Key]:
			return apiErr(ErrInvalidTag, "Cannot provide multiple Tags with the same key")
		}
		seen[t.Key] = true
	}
	return nil
}

func checkObjectTags(tags []storage.Tag) error {
	return checkTags(tags, maxObjectTags, "Object tags cannot be greater than 10")
}

// readTagging reads a Tagging document, whose body must carry a digest.
func readTagging(req *request) ([]storage.Tag, error) {
	var doc tagging
	if err := readDigestedXML(req, &doc); err != nil {
		return nil, err
	}
	if doc.TagSet == nil {
		return nil, apiErr(ErrMalformedXML, "")
	}
	tags := make([]storage.Tag, 0, len(doc.TagSet.Tags))
	for _, t := range doc.TagSet.Tags {
		if t.Key == nil || t.Value == nil {
			return nil, apiErr(ErrMalformedXML, "")
		}
		tags = append(tags, storage.Tag{Key: *t.Key, Value: *t.Value})
	}
	return tags, nil
}

// errBadTaggingHeader is S3's answer to an x-amz-tagging it cannot parse.
var errBadTaggingHeader = apiErr(ErrInvalidArgument,
	"The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")

// parseTaggingHeader reads x-amz-tagging ("k1=v1&k2=v2", URL-encoded),
// keeping the order the tags were given in.
func parseTaggingHeader(h http.Header) ([]storage.Tag, error) {
	v := h.Get("X-Amz-Tagging")
	if v == "" {
		return nil, nil
	}
	var tags []storage.Tag
	seen := map[string]bool{}
	for _, pair := range strings.Split(v, "&") {
		if pair == "" {
			continue
		}
		k, val, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(val)
		if err1 != nil || err2 != nil || seen[key] {
			return nil, errBadTaggingHeader
		}
		seen[key] = true
		tags = append(tags, storage.Tag{Key: key, Value: value})
	}
	if err := checkObjectTags(tags); err != nil {
		return nil, err
	}
	return tags, nil
}

// taggingCount sets x-amz-tagging-count on GET and HEAD.
func taggingCount(h http.Header, tags []storage.Tag) {
	if len(tags) > 0 {
		h.Set("X-Amz-Tagging-Count", strconv.Itoa(len(tags)))
	}
}

// objectVersion reads the versionId parameter of an object subresource.
func objectVersion(req *request) (string, error) {
	q := req.URL.Query()
	if _, ok := q["versionId"]; ok && q.Get("versionId") == "" {
		return "", apiErr(ErrInvalidArgument, "Version id cannot be the empty string")
	}
	if err := validateKey(req.route.Key); err != nil {
		return "", err
	}
	return q.Get("versionId"), nil
}

func (s *Server) putObjectTagging(ctx context.Context, req *request) (*response, error) {
	vid, err := objectVersion(req)
	if err != nil {
		return nil, err
	}
	tags, err := readTagging(req)
	if err != nil {
		return nil, err
	}
	if err := checkObjectTags(tags); err != nil {
		return nil, err
	}
	shown, err := s.backend.PutObjectTags(ctx, req.route.Bucket, req.route.Key, vid, tags)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	versionHeader(h, shown)
	return &response{header: h}, nil
}

func (s *Server) getObjectTagging(ctx context.Context, req *request) (*response, error) {
	vid, err := objectVersion(req)
	if err != nil {
		return nil, err
	}
	tags, shown, err := s.backend.GetObjectTags(ctx, req.route.Bucket, req.route.Key, vid)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	versionHeader(h, shown)
	return &response{header: h, xml: taggingOut{NS: s3NS, Tags: toXMLTags(tags)}}, nil
}

func (s *Server) deleteObjectTagging(ctx context.Context, req *request) (*response, error) {
	vid, err := objectVersion(req)
	if err != nil {
		return nil, err
	}
	shown, err := s.backend.DeleteObjectTags(ctx, req.route.Bucket, req.route.Key, vid)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	versionHeader(h, shown)
	return &response{status: http.StatusNoContent, header: h}, nil
}

// Bucket tags are a settings document the protocol layer owns: the tag
// set as JSON.
func (s *Server) putBucketTagging(ctx context.Context, req *request) (*response, error) {
	tags, err := readTagging(req)
	if err != nil {
		return nil, err
	}
	if err := checkTags(tags, maxBucketTags, "Bucket tag count cannot be greater than 50"); err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		err = s.backend.DeleteBucketConfig(ctx, req.route.Bucket, storage.ConfigTagging)
	} else {
		doc, merr := json.Marshal(tags)
		if merr != nil {
			return nil, merr
		}
		err = s.backend.PutBucketConfig(ctx, req.route.Bucket, storage.ConfigTagging, doc)
	}
	if err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}

func (s *Server) getBucketTagging(ctx context.Context, req *request) (*response, error) {
	doc, err := s.backend.GetBucketConfig(ctx, req.route.Bucket, storage.ConfigTagging)
	if err != nil {
		return nil, err
	}
	var tags []storage.Tag
	if err := json.Unmarshal(doc, &tags); err != nil {
		return nil, fmt.Errorf("s3api: stored bucket tags: %w", err)
	}
	return &response{xml: taggingOut{NS: s3NS, Tags: toXMLTags(tags)}}, nil
}

func (s *Server) deleteBucketTagging(ctx context.Context, req *request) (*response, error) {
	if err := s.backend.DeleteBucketConfig(ctx, req.route.Bucket, storage.ConfigTagging); err != nil {
		return nil, err
	}
	return &response{status: http.StatusNoContent}, nil
}
