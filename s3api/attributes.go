package s3api

import (
	"context"
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/filesphere/filesphere/storage"
)

// objectAttributes are the values of x-amz-object-attributes.
var objectAttributes = []string{"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"}

// parseObjectAttributes reads the comma-separated x-amz-object-attributes.
func parseObjectAttributes(h http.Header) (map[string]bool, error) {
	want := map[string]bool{}
	for _, v := range h.Values("X-Amz-Object-Attributes") {
		for a := range strings.SplitSeq(v, ",") {
			if a = strings.TrimSpace(a); a == "" {
				continue
			}
			if !slices.Contains(objectAttributes, a) {
				return nil, apiErr(ErrInvalidArgument, "Invalid attribute name specified.")
			}
			want[a] = true
		}
	}
	if len(want) == 0 {
		return nil, apiErr(ErrInvalidRequest, "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	}
	return want, nil
}

type objectPartAttributes struct {
	checksumFields
	PartNumber int   `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
}

// objectPartsAttributes is <ObjectParts>: only PartsCount for an upload
// whose parts have no checksums (as S3 answers), else a page of parts.
type objectPartsAttributes struct {
	IsTruncated          *bool                  `xml:"IsTruncated,omitempty"`
	MaxParts             *int                   `xml:"MaxParts,omitempty"`
	NextPartNumberMarker *int                   `xml:"NextPartNumberMarker,omitempty"`
	PartNumberMarker     *int                   `xml:"PartNumberMarker,omitempty"`
	Parts                []objectPartAttributes `xml:"Part"`
	PartsCount           int                    `xml:"PartsCount"`
}

type getObjectAttributesResult struct {
	XMLName      xml.Name               `xml:"GetObjectAttributesResponse"`
	NS           string                 `xml:"xmlns,attr"`
	ETag         string                 `xml:"ETag,omitempty"`
	Checksum     *checksumFields        `xml:"Checksum,omitempty"`
	ObjectParts  *objectPartsAttributes `xml:"ObjectParts,omitempty"`
	StorageClass string                 `xml:"StorageClass,omitempty"`
	ObjectSize   *int64                 `xml:"ObjectSize,omitempty"`
}

// maxAttributeParts is the page size of ObjectParts (as ListParts).
const maxAttributeParts = 1000

func (s *Server) getObjectAttributes(ctx context.Context, req *request) (*response, error) {
	want, err := parseObjectAttributes(req.Header)
	if err != nil {
		return nil, err
	}
	q := req.URL.Query()
	if _, ok := q["versionId"]; ok && q.Get("versionId") == "" {
		return nil, apiErr(ErrInvalidArgument, "Version id cannot be the empty string")
	}
	// S3 ignores a max-parts it cannot read.
	maxParts := maxAttributeParts
	if n, err := strconv.Atoi(req.Header.Get("X-Amz-Max-Parts")); err == nil && n >= 0 && n < maxParts {
		maxParts = n
	}
	marker := 0
	if v := req.Header.Get("X-Amz-Part-Number-Marker"); v != "" {
		if marker, err = strconv.Atoi(v); err != nil || marker < 0 {
			return nil, apiErr(ErrInvalidArgument, "Argument part-number-marker must be an integer between 0 and 2147483647")
		}
	}
	ck, err := customerKey(req, objectPrefix)
	if err != nil {
		return nil, err
	}
	info, err := s.backend.HeadObject(ctx, req.route.Bucket, req.route.Key,
		storage.GetOptions{VersionID: q.Get("versionId"), Parts: want["ObjectParts"], CustomerKey: ck})
	if err != nil {
		return nil, err
	}
	out := getObjectAttributesResult{NS: s3NS}
	if want["ETag"] {
		out.ETag = strings.Trim(info.ETag, `"`) // unquoted here, as S3 sends it
	}
	if want["Checksum"] && len(info.Checksums) > 0 {
		c := checksumXML(info.Checksums)
		out.Checksum = &c
	}
	if want["ObjectParts"] && info.PartsCount > 0 {
		out.ObjectParts = partsPage(info, marker, maxParts)
	}
	if want["StorageClass"] {
		out.StorageClass = info.StorageClass
	}
	if want["ObjectSize"] {
		out.ObjectSize = &info.Size
	}
	h := http.Header{"Last-Modified": {info.ModTime.UTC().Format(http.TimeFormat)}}
	versionHeader(h, info.VersionID)
	return &response{header: h, xml: out}, nil
}

// partsPage is one page of a multipart object's parts after marker. S3
// lists the parts only of an object uploaded with a checksum algorithm;
// of others it gives the count alone.
func partsPage(info storage.ObjectInfo, marker, maxParts int) *objectPartsAttributes {
	op := &objectPartsAttributes{PartsCount: info.PartsCount}
	if len(info.Checksums) == 0 {
		return op
	}
	truncated, next := false, 0
	for _, p := range info.Parts {
		if p.Number <= marker {
			continue
		}
		if len(op.Parts) == maxParts {
			truncated = true
			break
		}
		sums := checksumXML(p.Checksums)
		sums.ChecksumType = "" // parts have no type of their own
		op.Parts = append(op.Parts, objectPartAttributes{checksumFields: sums, PartNumber: p.Number, Size: p.Size})
		next = p.Number
	}
	op.IsTruncated, op.MaxParts, op.PartNumberMarker, op.NextPartNumberMarker = &truncated, &maxParts, &marker, &next
	return op
}
