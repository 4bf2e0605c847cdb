package s3api

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// The list results are the largest documents the server renders (a page
// of 1000 keys is a few hundred KiB), and encoding/xml's reflection,
// escaping and per-field time formatting were a third of the CPU a list
// request costs. These types append themselves to a byte slice instead,
// producing exactly the bytes xml.Marshal produces for the same value
// (listxml_test.go holds the two equal); render prefers this path.

// xmlAppender is a response document that encodes itself without
// reflection. appendXML appends the document (without the XML header).
type xmlAppender interface {
	appendXML(b []byte) []byte
}

// xmlBufs holds render buffers; one grows to the size of a full page once
// and is reused. Buffers above maxPooledXML are dropped so one page of
// very long keys does not stay pinned.
var xmlBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const maxPooledXML = 4 << 20

func getXMLBuf() *[]byte { return xmlBufs.Get().(*[]byte) }

func putXMLBuf(p *[]byte, b []byte) {
	if cap(b) > maxPooledXML {
		return
	}
	*p = b[:0]
	xmlBufs.Put(p)
}

// xmlPlain marks the ASCII bytes encoding/xml writes as they are.
var xmlPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"'&<>` {
		t[c] = false
	}
	return t
}()

// appendEscaped escapes s as encoding/xml's EscapeString (and EscapeText)
// do: the five markup characters and \t \n \r as character references,
// and each invalid UTF-8 byte or character outside XML's range as U+FFFD.
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if xmlPlain[c] {
				i++
				continue
			}
			var esc string
			switch c {
			case '"':
				esc = "&#34;"
			case '\'':
				esc = "&#39;"
			case '&':
				esc = "&amp;"
			case '<':
				esc = "&lt;"
			case '>':
				esc = "&gt;"
			case '\t':
				esc = "&#x9;"
			case '\n':
				esc = "&#xA;"
			case '\r':
				esc = "&#xD;"
			default: // other C0 controls are not XML characters
				esc = "\uFFFD"
			}
			b = append(b, s[last:i]...)
			b = append(b, esc...)
			i++
			last = i
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 || !xmlCharInRange(r) {
			b = append(b, s[last:i]...)
			b = append(b, "\uFFFD"...)
			i += w
			last = i
			continue
		}
		i += w
	}
	return append(b, s[last:]...)
}

// xmlCharInRange is XML's Char production, as encoding/xml checks it.
func xmlCharInRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

func appendOpen(b []byte, name string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	return append(b, '>')
}

func appendClose(b []byte, name string) []byte {
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

// appendElem writes <name>escaped value</name>, also for an empty value.
func appendElem(b []byte, name, v string) []byte {
	b = appendOpen(b, name)
	b = appendEscaped(b, v)
	return appendClose(b, name)
}

// appendElemOmit is appendElem for an ",omitempty" string.
func appendElemOmit(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendElem(b, name, v)
}

func appendIntElem(b []byte, name string, v int64) []byte {
	b = appendOpen(b, name)
	b = strconv.AppendInt(b, v, 10)
	return appendClose(b, name)
}

func appendBoolElem(b []byte, name string, v bool) []byte {
	b = appendOpen(b, name)
	b = strconv.AppendBool(b, v)
	return appendClose(b, name)
}

func appendTimeElem(b []byte, name string, t s3Time) []byte {
	b = appendOpen(b, name)
	b = t.appendText(b)
	return appendClose(b, name)
}

// appendText is MarshalText without the allocations: the common case (a
// four-digit year) is written digit by digit; other years go through
// AppendFormat, which signs and widens them as Format does.
func (t s3Time) appendText(b []byte) []byte {
	u := time.Time(t).UTC()
	year, month, day := u.Date()
	if year < 0 || year > 9999 {
		return u.AppendFormat(b, s3TimeLayout)
	}
	hour, min, sec := u.Clock()
	ms := u.Nanosecond() / 1e6
	return append(b,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+min/10), byte('0'+min%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// appendRootOpen writes <name xmlns="ns">: the documents carry their
// namespace as a plain xmlns attribute, which encoding/xml writes even
// when empty.
func appendRootOpen(b []byte, name, ns string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, ` xmlns="`...)
	b = appendEscaped(b, ns)
	return append(b, `">`...)
}

func (o owner) appendXML(b []byte, name string) []byte {
	b = appendOpen(b, name)
	b = appendElem(b, "ID", o.ID)
	b = appendElem(b, "DisplayName", o.DisplayName)
	return appendClose(b, name)
}

func appendCommonPrefixes(b []byte, cps []commonPrefix) []byte {
	for _, cp := range cps {
		b = append(b, "<CommonPrefixes>"...)
		b = appendElem(b, "Prefix", cp.Prefix)
		b = append(b, "</CommonPrefixes>"...)
	}
	return b
}

func (e *objectEntry) appendXML(b []byte) []byte {
	b = append(b, "<Contents>"...)
	b = appendElem(b, "Key", e.Key)
	b = appendTimeElem(b, "LastModified", e.LastModified)
	b = appendElem(b, "ETag", e.ETag)
	for _, a := range e.ChecksumAlgorithm {
		b = appendElemOmit(b, "ChecksumAlgorithm", a) // omitempty applies to each element
	}
	b = appendElemOmit(b, "ChecksumType", e.ChecksumType)
	b = appendIntElem(b, "Size", e.Size)
	if e.Owner != nil {
		b = e.Owner.appendXML(b, "Owner")
	}
	b = appendElem(b, "StorageClass", e.StorageClass)
	return append(b, "</Contents>"...)
}

func (r listBucketResult) appendXML(b []byte) []byte {
	b = appendRootOpen(b, "ListBucketResult", r.NS)
	b = appendElem(b, "Name", r.Name)
	b = appendElem(b, "Prefix", r.Prefix)
	if r.Marker != nil {
		b = appendElem(b, "Marker", *r.Marker)
	}
	b = appendElemOmit(b, "NextMarker", r.NextMarker)
	b = appendElemOmit(b, "StartAfter", r.StartAfter)
	b = appendElemOmit(b, "ContinuationToken", r.ContToken)
	b = appendElemOmit(b, "NextContinuationToken", r.NextContToken)
	if r.KeyCount != nil {
		b = appendIntElem(b, "KeyCount", int64(*r.KeyCount))
	}
	b = appendIntElem(b, "MaxKeys", int64(r.MaxKeys))
	b = appendElemOmit(b, "Delimiter", r.Delimiter)
	b = appendElemOmit(b, "EncodingType", r.EncodingType)
	b = appendBoolElem(b, "IsTruncated", r.IsTruncated)
	for i := range r.Contents {
		b = r.Contents[i].appendXML(b)
	}
	b = appendCommonPrefixes(b, r.CommonPrefixes)
	return append(b, "</ListBucketResult>"...)
}

func (e *versionEntry) appendXML(b []byte) []byte {
	// The element is named by XMLName; encoding/xml names a nameless one
	// after the field holding it (listVersionsResult.Entries).
	name := e.XMLName.Local
	if name == "" {
		name = "Entries"
	}
	b = append(b, '<')
	b = append(b, name...)
	if e.XMLName.Space != "" {
		b = append(b, ` xmlns="`...)
		b = appendEscaped(b, e.XMLName.Space)
		b = append(b, '"')
	}
	b = append(b, '>')
	b = appendElem(b, "Key", e.Key)
	b = appendElem(b, "VersionId", e.VersionID)
	b = appendBoolElem(b, "IsLatest", e.IsLatest)
	b = appendTimeElem(b, "LastModified", e.LastModified)
	b = appendElemOmit(b, "ETag", e.ETag)
	for _, a := range e.ChecksumAlgorithm {
		b = appendElemOmit(b, "ChecksumAlgorithm", a) // omitempty applies to each element
	}
	if e.Size != nil {
		b = appendIntElem(b, "Size", *e.Size)
	}
	b = e.Owner.appendXML(b, "Owner")
	b = appendElemOmit(b, "StorageClass", e.StorageClass)
	return appendClose(b, name)
}

func (r listVersionsResult) appendXML(b []byte) []byte {
	b = appendRootOpen(b, "ListVersionsResult", r.NS)
	b = appendElem(b, "Name", r.Name)
	b = appendElem(b, "Prefix", r.Prefix)
	b = appendElem(b, "KeyMarker", r.KeyMarker)
	b = appendElem(b, "VersionIdMarker", r.VersionIDMarker)
	b = appendElemOmit(b, "NextKeyMarker", r.NextKeyMarker)
	b = appendElemOmit(b, "NextVersionIdMarker", r.NextVersionIDMarker)
	b = appendIntElem(b, "MaxKeys", int64(r.MaxKeys))
	b = appendElemOmit(b, "Delimiter", r.Delimiter)
	b = appendElemOmit(b, "EncodingType", r.EncodingType)
	b = appendBoolElem(b, "IsTruncated", r.IsTruncated)
	for i := range r.Entries {
		b = r.Entries[i].appendXML(b)
	}
	b = appendCommonPrefixes(b, r.CommonPrefixes)
	return append(b, "</ListVersionsResult>"...)
}

func (f *checksumFields) appendXML(b []byte) []byte {
	b = appendElemOmit(b, "ChecksumCRC32", f.ChecksumCRC32)
	b = appendElemOmit(b, "ChecksumCRC32C", f.ChecksumCRC32C)
	b = appendElemOmit(b, "ChecksumSHA1", f.ChecksumSHA1)
	b = appendElemOmit(b, "ChecksumSHA256", f.ChecksumSHA256)
	b = appendElemOmit(b, "ChecksumCRC64NVME", f.ChecksumCRC64NVME)
	return appendElemOmit(b, "ChecksumType", f.ChecksumType)
}

func (r listPartsResult) appendXML(b []byte) []byte {
	b = appendRootOpen(b, "ListPartsResult", r.NS)
	b = appendElem(b, "Bucket", r.Bucket)
	b = appendElem(b, "Key", r.Key)
	b = appendElem(b, "UploadId", r.UploadID)
	b = r.Initiator.appendXML(b, "Initiator")
	b = r.Owner.appendXML(b, "Owner")
	b = appendElem(b, "StorageClass", r.StorageClass)
	b = appendIntElem(b, "PartNumberMarker", int64(r.PartNumberMarker))
	b = appendIntElem(b, "NextPartNumberMarker", int64(r.NextPartNumberMarker))
	b = appendIntElem(b, "MaxParts", int64(r.MaxParts))
	b = appendBoolElem(b, "IsTruncated", r.IsTruncated)
	b = appendElemOmit(b, "ChecksumAlgorithm", r.ChecksumAlgorithm)
	b = appendElemOmit(b, "ChecksumType", r.ChecksumType)
	for i := range r.Parts {
		p := &r.Parts[i]
		b = append(b, "<Part>"...)
		b = appendIntElem(b, "PartNumber", int64(p.PartNumber))
		b = appendTimeElem(b, "LastModified", p.LastModified)
		b = appendElem(b, "ETag", p.ETag)
		b = appendIntElem(b, "Size", p.Size)
		b = p.checksumFields.appendXML(b)
		b = append(b, "</Part>"...)
	}
	return append(b, "</ListPartsResult>"...)
}

func (r listMultipartUploadsResult) appendXML(b []byte) []byte {
	b = appendRootOpen(b, "ListMultipartUploadsResult", r.NS)
	b = appendElem(b, "Bucket", r.Bucket)
	b = appendElem(b, "KeyMarker", r.KeyMarker)
	b = appendElem(b, "UploadIdMarker", r.UploadIDMarker)
	b = appendElem(b, "NextKeyMarker", r.NextKeyMarker)
	b = appendElem(b, "NextUploadIdMarker", r.NextUploadIDMarker)
	b = appendElem(b, "Prefix", r.Prefix)
	b = appendElemOmit(b, "Delimiter", r.Delimiter)
	b = appendIntElem(b, "MaxUploads", int64(r.MaxUploads))
	b = appendElemOmit(b, "EncodingType", r.EncodingType)
	b = appendBoolElem(b, "IsTruncated", r.IsTruncated)
	for i := range r.Uploads {
		u := &r.Uploads[i]
		b = append(b, "<Upload>"...)
		b = appendElem(b, "Key", u.Key)
		b = appendElem(b, "UploadId", u.UploadID)
		b = u.Initiator.appendXML(b, "Initiator")
		b = u.Owner.appendXML(b, "Owner")
		b = appendElem(b, "StorageClass", u.StorageClass)
		b = appendTimeElem(b, "Initiated", u.Initiated)
		b = append(b, "</Upload>"...)
	}
	b = appendCommonPrefixes(b, r.CommonPrefixes)
	return append(b, "</ListMultipartUploadsResult>"...)
}
