package storage

import "time"

// listedVersion is what a listing shows of a version, and all a listing
// decodes of a head or version record: the fields ListObjects (V1, V2)
// and ListObjectVersions return. The JSON decoder skips every other field
// (metadata, tags, lock, SSE, hashes, the data key), which were most of
// a listing's decode time and allocations. Its JSON names are
// versionRecord's; TestListedMatchesFullDecode holds the two decodes
// equal on every record shape, so a field added to a listing must be
// added here and to versionRecord.listed.
type listedVersion struct {
	VersionID    string           `json:"vid"`
	Null         bool             `json:"null"`
	DeleteMarker bool             `json:"dm"`
	Size         int64            `json:"size"`
	ETag         string           `json:"etag"`
	ModTime      time.Time        `json:"mtime"`
	Checksums    []listedChecksum `json:"sums"`
	Versioned    bool             `json:"versioned"`
}

// listedChecksum is what a listing shows of a checksum: its algorithm
// and type, not its value.
type listedChecksum struct {
	Algorithm ChecksumAlgorithm `json:"a"`
	Type      string            `json:"t"`
}

// listedHead is a head record as a listing reads it.
type listedHead struct {
	Latest listedVersion `json:"latest"`
}

// listDecoder reads the listed fields of head and version records (plain
// JSON or enveloped, as decode reads them): with listScan, or where the
// scan gives up, with decode into a target of its own, reused so a page
// costs no allocation for it.
type listDecoder struct{ h listedHead }

// head reads the listed fields of a head record's latest version.
func (d *listDecoder) head(b []byte) (listedVersion, error) {
	var v listedVersion
	if js, ok := recordJSON(b); ok && scanListedHead(js, &v) == nil {
		return v, nil
	}
	d.h = listedHead{} // fields a record lacks must read as zero
	err := decode(b, &d.h)
	return d.h.Latest, err
}

// version reads the listed fields of a version record.
func (d *listDecoder) version(b []byte) (listedVersion, error) {
	var v listedVersion
	if js, ok := recordJSON(b); ok && scanListedVersion(js, &v) == nil {
		return v, nil
	}
	d.h.Latest = listedVersion{}
	err := decode(b, &d.h.Latest)
	return d.h.Latest, err
}

// recordJSON is the JSON of a record as encode stores it: all of a plain
// record, the JSON part of an envelope; ok is false for a malformed
// envelope (which decode reports).
func recordJSON(b []byte) (js []byte, ok bool) {
	if len(b) == 0 || b[0] != envelopeV1 {
		return b, true
	}
	js, _, _, err := openEnvelope(b)
	return js, err == nil
}

// listed is the listing's view of a fully decoded version: what
// listDecoder reads of its record.
func (v *versionRecord) listed() listedVersion {
	l := listedVersion{VersionID: v.VersionID, Null: v.Null, DeleteMarker: v.DeleteMarker, Size: v.Size,
		ETag: v.ETag, ModTime: v.ModTime, Versioned: v.Versioned}
	if len(v.Checksums) > 0 {
		l.Checksums = make([]listedChecksum, len(v.Checksums))
		for i, c := range v.Checksums {
			l.Checksums[i] = listedChecksum{Algorithm: c.Algorithm, Type: c.Type}
		}
	}
	return l
}

// info is the listing's ObjectInfo: the listed fields, as versionRecord.info
// sets them; the rest (metadata, tags, lock, SSE, SHA-256, part count) is
// left zero, and Checksums carry no values.
func (l *listedVersion) info(bucket, key string, latest bool) ObjectInfo {
	id := l.VersionID
	if !l.Versioned && l.Null {
		id = ""
	}
	oi := ObjectInfo{Bucket: bucket, Key: key, VersionID: id, IsLatest: latest, DeleteMarker: l.DeleteMarker,
		Size: l.Size, ETag: l.ETag, ModTime: l.ModTime, Versioned: l.Versioned, StorageClass: "STANDARD"}
	if len(l.Checksums) > 0 {
		oi.Checksums = make([]Checksum, len(l.Checksums))
		for i, c := range l.Checksums {
			oi.Checksums[i] = Checksum{Algorithm: c.Algorithm, Type: c.Type}
		}
	}
	return oi
}
