package storage

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/storage/sse"
)

// maxParts is S3's limit on parts per upload.
const maxParts = 10000

// CreateMultipartUpload implements Multipart. The bucket's revision guards
// the new record, so an upload never outlives a bucket deleted meanwhile.
func (e *Engine) CreateMultipartUpload(ctx context.Context, bucket, key string, opts PutOptions) (string, error) {
	if err := e.checkUploadLock(ctx, bucket, opts); err != nil {
		return "", err
	}
	ctype, err := UploadChecksumType(opts.ChecksumAlgorithm, opts.ChecksumType)
	if err != nil {
		return "", err
	}
	if !ValidObjectKey(key) {
		if _, _, err := e.getBucket(ctx, bucket); err != nil {
			return "", err
		}
		return "", ErrInvalidObjectName
	}
	u := uploadRecord{UploadID: newID(), Key: key, Meta: opts.Meta, ChecksumAlgorithm: opts.ChecksumAlgorithm, ChecksumType: ctype,
		Tags: opts.Tags, Lock: opts.Lock}
	// One object key for the whole upload: every part is sealed under it
	// (with its own part number and IV), so parts cannot carry other keys.
	enc, err := e.writeEncryption(ctx, bucket, opts.SSE)
	if err != nil {
		return "", err
	}
	if enc != nil {
		if u.SSE, _, err = e.sealNew(ctx, bucket, key, enc); err != nil {
			return "", err
		}
	}
	for range retries {
		_, brev, lc, err := e.currentLifecycle(ctx, bucket)
		if err != nil {
			return "", err
		}
		u.Initiated = e.cfg.Now().UTC()
		var val []byte
		u.Due, val = e.uploadDueOf(lc, bucket, u)
		ops := []meta.Op{meta.Put(uploadKey(bucket, key, u.UploadID), encode(u))}
		ops = append(ops, dueOps("", u.Due, val)...)
		err = e.txn(ctx, meta.Txn{
			Compares: []meta.Compare{{Key: bucketKey(bucket), Revision: brev}},
			Ops:      ops,
		})
		if !errors.Is(err, errRetry) {
			return u.UploadID, err
		}
	}
	return "", ErrConflict
}

// UploadChecksumType is the checksum type of an upload created with alg and
// the requested type t: each algorithm's default when t is empty, and
// ErrChecksumMismatch for a pair S3 does not allow (a type without an
// algorithm, FULL_OBJECT of a digest that does not combine, COMPOSITE
// CRC64NVME).
func UploadChecksumType(alg ChecksumAlgorithm, t string) (string, error) {
	switch {
	case alg == "" && t == "":
		return "", nil
	case alg == "":
		return "", fmt.Errorf("%w: checksum type %s without an algorithm", ErrChecksumMismatch, t)
	case t == "" && alg == ChecksumCRC64NVME:
		return ChecksumFullObject, nil
	case t == "":
		return ChecksumComposite, nil
	case t == ChecksumFullObject && !CanCombine(alg), t == ChecksumComposite && alg == ChecksumCRC64NVME:
		return "", fmt.Errorf("%w: the %s checksum type is not supported for %s", ErrChecksumMismatch, t, alg)
	case t != ChecksumFullObject && t != ChecksumComposite:
		return "", fmt.Errorf("%w: checksum type %q", ErrChecksumMismatch, t)
	}
	return t, nil
}

// getUpload reads an upload record and its revision.
func (e *Engine) getUpload(ctx context.Context, bucket, key, id string) (uploadRecord, uint64, error) {
	var u uploadRecord
	if _, _, err := e.getBucket(ctx, bucket); err != nil {
		return u, 0, err
	}
	if !ValidObjectKey(key) || id == "" || strings.ContainsAny(id, "/\x00") {
		return u, 0, &UploadNotFoundError{Bucket: bucket, Key: key, UploadID: id}
	}
	ent, err := e.kv.Get(ctx, uploadKey(bucket, key, id))
	if errors.Is(err, meta.ErrNotFound) {
		return u, 0, &UploadNotFoundError{Bucket: bucket, Key: key, UploadID: id}
	}
	if err != nil {
		return u, 0, err
	}
	if err := decode(ent.Value, &u); err != nil {
		return u, 0, err
	}
	if u.ChecksumAlgorithm != "" && u.ChecksumType == "" {
		u.ChecksumType = ChecksumComposite // recorded before types were
	}
	return u, ent.Revision, nil
}

// UploadPart implements Multipart.
func (e *Engine) UploadPart(ctx context.Context, bucket, key, uploadID string, n int, r io.Reader, opts PartOptions) (PartInfo, error) {
	return e.storePart(ctx, bucket, key, uploadID, n, r, opts.Size, opts.Digest, opts.CustomerKey, func() []Checksum {
		if opts.Checksum != nil && opts.Checksum.Algorithm != "" {
			return []Checksum{{Algorithm: opts.Checksum.Algorithm, Value: opts.Checksum.Value}}
		}
		return nil
	})
}

// uploadObjectKey returns the object key of an encrypted upload. An SSE-C
// upload takes parts only with its customer key; a customer key for any
// other upload is refused.
func (e *Engine) uploadObjectKey(ctx context.Context, bucket, key string, u uploadRecord, customer *sse.Key) (sse.Key, error) {
	ok, err := e.openKey(ctx, bucket, key, u.SSE, customer, true)
	switch {
	case errors.Is(err, ErrSSECKeyRequired):
		return ok, ErrSSEUploadKeyRequired
	case errors.Is(err, ErrSSECKeyMismatch), errors.Is(err, ErrSSENotApplicable):
		return ok, ErrSSEUploadMismatch
	}
	return ok, err
}

// storePart writes a part. In an upload created with a checksum algorithm
// every part gets that checksum, computed as the bytes stream (a client's
// own, already verified, is the same value), so the object's checksum can
// always be made from its parts'. dg is the caller's Digest of r, or nil;
// when it lacks the upload's checksum one Digest here computes that with
// the ETag and content hash, in one pass. customer is the part's SSE-C key.
func (e *Engine) storePart(ctx context.Context, bucket, key, uploadID string, n int, r io.Reader, size int64, dg *Digest, customer *sse.Key, given func() []Checksum) (PartInfo, error) {
	if n < 1 || n > maxParts {
		return PartInfo{}, ErrInvalidPartNumber
	}
	u, _, err := e.getUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return PartInfo{}, err
	}
	ok, err := e.uploadObjectKey(ctx, bucket, key, u, customer)
	if err != nil {
		return PartInfo{}, err
	}
	enc, err := e.streamFor(u.SSE, ok, n) // the real part number, bound into the stream key
	if err != nil {
		return PartInfo{}, err
	}
	if u.ChecksumAlgorithm != "" && (!dg.content() || dg.ChecksumAlgorithm() != u.ChecksumAlgorithm) {
		dg = NewDigest(DigestSpec{MD5: true, SHA256: true, Checksum: u.ChecksumAlgorithm})
		r = io.TeeReader(r, dg)
	}
	d, err := e.writeData(ctx, hashKey(bucket, key), r, size, dg, enc)
	if err != nil {
		return PartInfo{}, err
	}
	d.Checksums, d.Name = given(), bucket+"/"+key
	if u.ChecksumAlgorithm != "" {
		for _, c := range d.Checksums {
			if c.Algorithm != u.ChecksumAlgorithm {
				e.deleteData(d)
				return PartInfo{}, fmt.Errorf("%w: part checksum %s, upload created with %s", ErrChecksumMismatch, c.Algorithm, u.ChecksumAlgorithm)
			}
		}
		d.Checksums = []Checksum{{Algorithm: u.ChecksumAlgorithm, Value: base64.StdEncoding.EncodeToString(dg.Checksum())}}
	}
	d.Number = n
	for range retries {
		_, urev, err := e.getUpload(ctx, bucket, key, uploadID)
		if err != nil {
			e.deleteData(d)
			return PartInfo{}, err
		}
		var old *dataRecord
		prev, err := e.kv.Get(ctx, partKey(uploadID, n))
		prevRev := uint64(0)
		if err == nil {
			var p dataRecord
			if err := decode(prev.Value, &p); err == nil {
				old = &p
			}
			prevRev = prev.Revision
		} else if !errors.Is(err, meta.ErrNotFound) {
			e.deleteData(d)
			return PartInfo{}, err
		}
		ops := []meta.Op{meta.Put(partKey(uploadID, n), encode(d))}
		if op, ok := e.dirtyOp(partKey(uploadID, n), []dataRecord{d}, dirtyWrite); ok {
			ops = append(ops, op)
		}
		err = e.txn(ctx, meta.Txn{
			Compares: []meta.Compare{{Key: uploadKey(bucket, key, uploadID), Revision: urev}, {Key: partKey(uploadID, n), Revision: prevRev}},
			Ops:      ops,
		})
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrCommitUnknown) {
				e.deleteData(d)
			}
			return PartInfo{}, err
		}
		if old != nil {
			e.deleteData(*old)
		}
		pi := d.partInfo()
		pi.SSE = u.SSE.info()
		return pi, nil
	}
	e.deleteData(d)
	return PartInfo{}, ErrConflict
}

func (d dataRecord) partInfo() PartInfo {
	return PartInfo{Number: d.Number, ETag: d.ETag, Size: d.Size, ModTime: d.ModTime, Checksums: d.Checksums}
}

// UploadPartCopy implements Multipart: the source is decrypted with its
// key and the part sealed under the upload's.
func (e *Engine) UploadPartCopy(ctx context.Context, src CopySource, bucket, key, uploadID string, n int, opts CopyOptions) (PartInfo, error) {
	u, _, err := e.getUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return PartInfo{}, err
	}
	var customer *sse.Key
	if opts.SSE != nil {
		if opts.SSE.Type != SSEC {
			return PartInfo{}, fmt.Errorf("%w: a part takes its upload's encryption", ErrInvalidArgument)
		}
		customer = &opts.SSE.CustomerKey
	}
	if _, err := e.uploadObjectKey(ctx, bucket, key, u, customer); err != nil {
		return PartInfo{}, err // before the source is read
	}
	v, latest, err := e.resolve(ctx, src.Bucket, src.Key, src.VersionID)
	if err != nil {
		return PartInfo{}, err
	}
	if err := CheckConditions(v.info(src.Bucket, src.Key, latest), src.Cond); err != nil {
		return PartInfo{}, err
	}
	sok, err := e.openKey(ctx, src.Bucket, src.Key, v.SSE, src.CustomerKey, true)
	if err != nil {
		return PartInfo{}, err
	}
	rr := &ResolvedRange{Start: 0, Length: v.Size, Size: v.Size}
	if src.Range != nil {
		if src.Range.Start >= v.Size || src.Range.End >= v.Size {
			return PartInfo{}, &RangeError{Size: v.Size}
		}
		if rr, err = ResolveRange(src.Range, v.Size); err != nil {
			return PartInfo{}, err
		}
	}
	rc, err := e.openVersion(ctx, src.Bucket, src.Key, v, rr, sok)
	if err != nil {
		return PartInfo{}, err
	}
	defer rc.Close()
	return e.storePart(ctx, bucket, key, uploadID, n, rc, rr.Length, nil, customer, func() []Checksum { return nil })
}

// listUploadParts reads every part record of an upload in number order.
func (e *Engine) listUploadParts(ctx context.Context, uploadID string, after, limit int) ([]dataRecord, error) {
	ents, err := e.kv.List(ctx, partPrefix(uploadID), partKey(uploadID, after+1), limit)
	if err != nil {
		return nil, err
	}
	out := make([]dataRecord, 0, len(ents))
	for _, ent := range ents {
		var d dataRecord
		if err := decode(ent.Value, &d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// CompleteMultipartUpload implements Multipart. Completing an upload that
// was already completed, with the same part list, answers what the first
// completion made while that version exists (clients retry a completion
// whose answer they lost).
func (e *Engine) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []CompletePart, opts CompleteOptions) (ObjectInfo, error) {
	u, urev, err := e.getUpload(ctx, bucket, key, uploadID)
	var unf *UploadNotFoundError
	if errors.As(err, &unf) && uploadID != "" {
		info, found, cerr := e.completedUpload(ctx, bucket, key, uploadID, parts, opts)
		if cerr != nil || found {
			return info, cerr
		}
	}
	if err != nil {
		return ObjectInfo{}, err
	}
	if opts.ChecksumType != "" && opts.ChecksumType != u.ChecksumType {
		return ObjectInfo{}, fmt.Errorf("%w: the upload was created with checksum type %q, not %s", ErrChecksumMismatch, u.ChecksumType, opts.ChecksumType)
	}
	if opts.CustomerKey != nil {
		if _, err := e.uploadObjectKey(ctx, bucket, key, u, opts.CustomerKey); err != nil {
			return ObjectInfo{}, err
		}
	}
	stored, err := e.listUploadParts(ctx, uploadID, 0, 0)
	if err != nil {
		return ObjectInfo{}, err
	}
	chosen, err := e.selectParts(stored, parts)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := checkPartsSealed(u, chosen); err != nil {
		return ObjectInfo{}, err
	}
	// Parts queued for repair take their queue entries along: the version's
	// part list gets one, and the parts' go with the parts.
	queued, err := e.carryDirtyParts(ctx, uploadID, chosen)
	if err != nil {
		return ObjectInfo{}, err
	}
	v := versionRecord{Meta: u.Meta, Multipart: true, Parts: chosen, PartsCount: len(chosen), UploadID: uploadID, Tags: u.Tags, Lock: u.Lock,
		SSE: u.SSE}
	md5s := md5.New()
	for _, p := range chosen {
		v.Size += p.Size
		raw, _ := hex.DecodeString(strings.Trim(p.ETag, `"`))
		md5s.Write(raw)
	}
	v.ETag = fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(md5s.Sum(nil)), len(chosen))
	v.Checksums = multipartChecksum(u.ChecksumAlgorithm, u.ChecksumType, chosen)
	if err := matchObjectChecksum(opts.Checksum, v.Checksums); err != nil {
		return ObjectInfo{}, err
	}
	pcmps, err := e.partCompares(ctx, uploadID, chosen)
	if err != nil {
		return ObjectInfo{}, err
	}
	if err := e.completeContent(ctx, bucket, key, u, chosen, &v); err != nil {
		return ObjectInfo{}, err
	}
	ops := []meta.Op{meta.Delete(uploadKey(bucket, key, uploadID))}
	if u.Due != "" {
		ops = append(ops, meta.Delete(u.Due))
	}
	for _, p := range stored {
		ops = append(ops, meta.Delete(partKey(uploadID, p.Number)))
	}
	ops = append(ops, queued...)
	pre := writeConditions(opts.IfNoneMatchStar, opts.IfMatch, bucket, key)
	v, err = e.commitVersion(ctx, bucket, key, v, pre, meta.Txn{
		Compares: append([]meta.Compare{{Key: uploadKey(bucket, key, uploadID), Revision: urev}}, pcmps...),
		Ops:      ops,
	})
	if err != nil {
		if v.Dedup && !errors.Is(err, ErrCommitUnknown) {
			e.deleteData(freshStreams(v.fresh)...)
		}
		return ObjectInfo{}, err
	}
	if v.Dedup {
		e.deleteData(stored...) // the content is in chunks now
	} else {
		e.deleteData(unusedParts(stored, chosen)...)
	}
	return v.info(bucket, key, true), nil
}

// completedUpload finds the version an earlier completion of uploadID made;
// found is false when there is none or the part list differs.
func (e *Engine) completedUpload(ctx context.Context, bucket, key, uploadID string, parts []CompletePart, opts CompleteOptions) (ObjectInfo, bool, error) {
	vs, err := e.listKeyVersions(ctx, bucket, key)
	if err != nil {
		return ObjectInfo{}, false, err
	}
	for i, ve := range vs {
		if ve.rec.UploadID != uploadID {
			continue
		}
		done, err := e.loadParts(ctx, ve.rec)
		if err != nil {
			return ObjectInfo{}, false, err
		}
		if len(done) != len(parts) {
			return ObjectInfo{}, false, nil
		}
		for j, p := range done {
			cp := parts[j]
			if cp.Number != p.Number || strings.Trim(cp.ETag, `" `) != strings.Trim(p.ETag, `"`) || !partChecksumsMatch(cp.Checksums, p.Checksums) {
				return ObjectInfo{}, false, nil
			}
		}
		if err := matchObjectChecksum(opts.Checksum, ve.rec.Checksums); err != nil {
			return ObjectInfo{}, true, err
		}
		return ve.rec.info(bucket, key, i == 0), true, nil
	}
	return ObjectInfo{}, false, nil
}

// selectParts checks the client's part list against what was uploaded.
func (e *Engine) selectParts(stored []dataRecord, parts []CompletePart) ([]dataRecord, error) {
	byNum := make(map[int]dataRecord, len(stored))
	for _, p := range stored {
		byNum[p.Number] = p
	}
	chosen := make([]dataRecord, 0, len(parts))
	for i, cp := range parts {
		if i > 0 && cp.Number <= parts[i-1].Number {
			return nil, ErrInvalidPartOrder
		}
		p, ok := byNum[cp.Number]
		if !ok || strings.Trim(cp.ETag, `" `) != strings.Trim(p.ETag, `"`) || !partChecksumsMatch(cp.Checksums, p.Checksums) {
			return nil, fmt.Errorf("%w: part %d", ErrInvalidPart, cp.Number)
		}
		chosen = append(chosen, p)
	}
	for _, p := range chosen[:len(chosen)-1] {
		if p.Size < e.cfg.MinPartSize {
			return nil, fmt.Errorf("%w: part %d is %d bytes", ErrEntityTooSmall, p.Number, p.Size)
		}
	}
	return chosen, nil
}

// checkPartsSealed refuses to complete an upload whose parts are not all
// sealed as the upload says (each under its own part number), so an object
// never mixes clear and sealed parts or parts of other streams.
func checkPartsSealed(u uploadRecord, parts []dataRecord) error {
	for _, p := range parts {
		if (u.SSE == nil) != (p.SSE == nil) || p.SSE != nil && p.SSE.Part != uint32(p.Number) {
			return fmt.Errorf("%w: part %d is not sealed as the upload", ErrInvalidPart, p.Number)
		}
	}
	return nil
}

func unusedParts(stored, chosen []dataRecord) []dataRecord {
	used := map[string]bool{}
	for _, p := range chosen {
		used[p.DataID] = true
	}
	var out []dataRecord
	for _, p := range stored {
		if p.DataID != "" && !used[p.DataID] {
			out = append(out, p)
		}
	}
	return out
}

// multipartChecksum is the checksum of a multipart object from its parts':
// COMPOSITE, the checksum of the concatenated binary part checksums
// suffixed with the part count; FULL_OBJECT, the CRC of all the bytes,
// combined from the parts' CRCs and sizes. Nil when the upload has no
// algorithm or a part lacks its checksum (parts stored before every part
// got one).
func multipartChecksum(alg ChecksumAlgorithm, ctype string, parts []dataRecord) []Checksum {
	if alg == "" {
		return nil
	}
	sums := make([]string, len(parts))
	for i, p := range parts {
		j := slices.IndexFunc(p.Checksums, func(c Checksum) bool { return c.Algorithm == alg })
		if j < 0 {
			return nil
		}
		sums[i] = p.Checksums[j].Value
	}
	if ctype == ChecksumFullObject {
		pieces := make([]crcPiece, len(parts))
		for i, p := range parts {
			pieces[i] = crcPiece{sum: sums[i], size: p.Size}
		}
		v, ok := combineCRCs(alg, pieces)
		if !ok {
			return nil
		}
		return []Checksum{{Algorithm: alg, Value: v, Type: ChecksumFullObject}}
	}
	h := NewChecksumHash(alg)
	if h == nil {
		return nil
	}
	for _, s := range sums {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil
		}
		h.Write(raw)
	}
	v := base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts))
	return []Checksum{{Algorithm: alg, Value: v, Type: ChecksumComposite}}
}

// partChecksumsMatch reports whether every checksum the client names for a
// part is the one stored with it.
func partChecksumsMatch(given, stored []Checksum) bool {
	for _, g := range given {
		if !slices.ContainsFunc(stored, func(s Checksum) bool { return s.Algorithm == g.Algorithm && s.Value == g.Value }) {
			return false
		}
	}
	return true
}

// matchObjectChecksum checks the client's checksum of a completed upload
// against the one computed from its parts: a composite one with or
// without its "-<parts>" suffix, a full-object one exactly.
func matchObjectChecksum(want *Checksum, got []Checksum) error {
	if want == nil {
		return nil
	}
	for _, c := range got {
		if c.Algorithm != want.Algorithm {
			continue
		}
		ok := want.Value == c.Value
		if c.Type == ChecksumComposite {
			value, parts, _ := strings.Cut(c.Value, "-")
			wv, wparts, suffixed := strings.Cut(want.Value, "-")
			ok = wv == value && (!suffixed || wparts == parts)
		}
		if !ok {
			return fmt.Errorf("%w: %s of the object is %s, the request says %s", ErrBadDigest, c.Algorithm, c.Value, want.Value)
		}
		return nil
	}
	return fmt.Errorf("%w: the upload was not created with checksum algorithm %s", ErrInvalidArgument, want.Algorithm)
}

// AbortMultipartUpload implements Multipart.
func (e *Engine) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	return e.abortUploadIf(ctx, bucket, key, uploadID, nil, nil)
}

// abortUploadIf aborts an upload if check (given the upload record) allows
// and cmps hold.
func (e *Engine) abortUploadIf(ctx context.Context, bucket, key, uploadID string, cmps []meta.Compare, check func(uploadRecord) error) error {
	u, urev, err := e.getUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(u); err != nil {
			return err
		}
	}
	stored, err := e.listUploadParts(ctx, uploadID, 0, 0)
	if err != nil {
		return err
	}
	ops := []meta.Op{meta.Delete(uploadKey(bucket, key, uploadID))}
	if u.Due != "" {
		ops = append(ops, meta.Delete(u.Due))
	}
	for _, p := range stored {
		ops = append(ops, meta.Delete(partKey(uploadID, p.Number)))
	}
	cmps = append([]meta.Compare{{Key: uploadKey(bucket, key, uploadID), Revision: urev}}, cmps...)
	err = e.txn(ctx, meta.Txn{Compares: cmps, Ops: ops})
	if errors.Is(err, errRetry) {
		return &UploadNotFoundError{Bucket: bucket, Key: key, UploadID: uploadID}
	}
	if err != nil {
		return err
	}
	e.deleteData(stored...)
	return nil
}

// ListParts implements Multipart.
func (e *Engine) ListParts(ctx context.Context, bucket, key, uploadID string, opts ListPartsOptions) (ListPartsResult, error) {
	u, _, err := e.getUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return ListPartsResult{}, err
	}
	res := ListPartsResult{Meta: u.Meta, ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType, Initiated: u.Initiated,
		SSE: u.SSE.info()}
	if opts.MaxParts <= 0 {
		return res, nil
	}
	ps, err := e.listUploadParts(ctx, uploadID, opts.PartNumberMarker, opts.MaxParts+1)
	if err != nil {
		return res, err
	}
	if len(ps) > opts.MaxParts {
		ps, res.IsTruncated = ps[:opts.MaxParts], true
	}
	for _, p := range ps {
		res.Parts = append(res.Parts, p.partInfo())
		res.NextPartNumberMarker = p.Number
	}
	return res, nil
}

// ListMultipartUploads implements Multipart.
func (e *Engine) ListMultipartUploads(ctx context.Context, bucket string, opts ListUploadsOptions) (ListUploadsResult, error) {
	var res ListUploadsResult
	if _, _, err := e.getBucket(ctx, bucket); err != nil {
		return res, err
	}
	if opts.MaxUploads <= 0 {
		return res, nil
	}
	base := uploadPrefix(bucket)
	sc := newScanner(e.kv, base, opts.Prefix, opts.Delimiter, "", false)
	sc.expect(opts.MaxUploads + 1)
	if opts.KeyMarker != "" {
		start := base + opts.KeyMarker + "\x00\xff"
		if opts.UploadIDMarker != "" {
			start = uploadKey(bucket, opts.KeyMarker, opts.UploadIDMarker) + "\x00"
		}
		if start > sc.start {
			sc.start = start
		}
	}
	var buf []meta.Entry
	for {
		it, ok, err := sc.next(ctx, &buf)
		if err != nil || !ok {
			return res, err
		}
		if len(res.Uploads)+len(res.CommonPrefixes) == opts.MaxUploads {
			res.IsTruncated = true
			return res, nil
		}
		if it.cp != "" {
			res.CommonPrefixes = append(res.CommonPrefixes, it.cp)
			res.NextKeyMarker, res.NextUploadIDMarker = it.cp, ""
			continue
		}
		var u uploadRecord
		if err := decode(it.ent.Value, &u); err != nil {
			return res, err
		}
		res.Uploads = append(res.Uploads, UploadInfo{Key: u.Key, UploadID: u.UploadID, Initiated: u.Initiated})
		res.NextKeyMarker, res.NextUploadIDMarker = u.Key, u.UploadID
	}
}
