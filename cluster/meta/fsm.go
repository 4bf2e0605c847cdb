package meta

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
)

// DefaultLockTimeout is how long opening an FSM waits by default for the
// database file lock held by another process (or another open in this one)
// before failing.
const DefaultLockTimeout = 10 * time.Second

// Option configures OpenFSM and OpenLocal.
type Option func(*options)

type options struct {
	lockTimeout time.Duration
	deferSync   bool
}

func buildOptions(opts []Option) options {
	o := options{lockTimeout: DefaultLockTimeout}
	for _, fn := range opts {
		fn(&o)
	}
	return o
}

// WithLockTimeout sets how long opening waits for the file lock; d <= 0
// means DefaultLockTimeout (never wait forever).
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.lockTimeout = d
		}
	}
}

// WithLogDurability is for an FSM fed from a durable, replayable log (the
// Raft log): commits are not fsynced, since every applied command is already
// on stable storage in the log, and the log, not this database, is what an
// acknowledgement waits for. That saves the database's two fdatasyncs per
// applied batch.
//
// A database written without fsync is consistent after the process dies
// (kill -9: the page cache keeps every write) but may be torn after a power
// loss (bbolt's meta page can reach the disk before the pages it points to).
// So the FSM cannot tell which of the two happened, and trusts its file only
// after a clean Close: OpenFSM creates a marker file (path + UncleanSuffix,
// fsynced) before the first unsynced commit, and Close fsyncs the database
// and removes it. A marker found on open means the last run did not close
// cleanly; the file is then discarded unopened and the FSM starts empty
// (Recovered reports it), to be rebuilt by RecoverFSM from the newest
// snapshot and by Raft replaying the log after it.
func WithLogDurability() Option {
	return func(o *options) { o.deferSync = true }
}

// UncleanSuffix names the marker of an FSM opened WithLogDurability that is
// (or was, when it crashed) open: path + UncleanSuffix.
const UncleanSuffix = ".unclean"

// Command is one log entry handed to the FSM.
type Command struct {
	// Index is the log index of the entry. It becomes the revision of every
	// key the command writes. Indexes must increase; gaps are allowed.
	Index uint64
	// Data is an encoded Txn (EncodeTxn).
	Data []byte
}

// Result is the outcome of one Command.
type Result struct {
	Index uint64
	// Revision is Index if the Txn was applied, else 0.
	Revision uint64
	// Skipped is true if Index <= the applied index: the command was applied
	// before (e.g. log replay after a restart) and nothing was done.
	Skipped bool
	// Err is nil when applied. A deterministic rejection — a
	// *CompareFailedError, or an error wrapping ErrBadCommand or
	// ErrInvalidTxn — changes no data but consumes the index, identically on
	// every replica. Any other error is a storage failure: nothing in the
	// batch was applied and the applied index did not move.
	Err error
}

// FSM is the deterministic state machine of the metadata store over one bbolt
// file. Applying the same commands in the same order yields the same state on
// every replica.
//
// The applied index is written in the same bbolt transaction as the data the
// commands changed (as etcd's consistent index), so after a crash the state
// and the applied index agree, and commands at or below the applied index are
// skipped when the log is replayed.
//
// Apply and ApplyBatch may be called concurrently with reads; writes are
// serialized. Reads see only committed state.
type FSM struct {
	path string
	opts options

	applyMu sync.Mutex   // serializes ApplyBatch so applied moves in order
	mu      sync.RWMutex // write-locked by Restore and Close, which replace db
	db      *bbolt.DB
	applied atomic.Uint64
	waiters appliedWaiters // wakes WaitApplied when applied moves (wait.go)

	// recovered: opened WithLogDurability after an unclean stop, so the old
	// file was discarded and the state starts empty.
	recovered bool
}

func boltOptions(o options, readOnly bool) *bbolt.Options {
	return &bbolt.Options{
		Timeout: o.lockTimeout,
		// Every commit is fsynced, unless the log is the durability point
		// (WithLogDurability).
		NoSync:   o.deferSync,
		ReadOnly: readOnly,
		// As etcd: the freelist is rebuilt on open instead of being written
		// on every commit; the hashmap freelist keeps allocation cheap.
		NoFreelistSync: true,
		FreelistType:   bbolt.FreelistMapType,
	}
}

// OpenFSM opens (creating if needed) the FSM database at path.
func OpenFSM(path string, opts ...Option) (*FSM, error) {
	o := buildOptions(opts)
	recovered := false
	if o.deferSync {
		var err error
		if recovered, err = markUnclean(path); err != nil {
			return nil, fmt.Errorf("meta: open %s: %w", path, err)
		}
	}
	db, applied, err := openDB(path, o)
	if err != nil {
		return nil, err
	}
	f := &FSM{path: path, opts: o, db: db, recovered: recovered}
	f.applied.Store(applied)
	return f, nil
}

// markUnclean discards the database if the marker of an unclean stop is
// there (reporting true), then makes sure the marker exists durably.
func markUnclean(path string) (discarded bool, err error) {
	marker := path + UncleanSuffix
	if _, err := os.Lstat(marker); err == nil {
		// Not opened: a torn file may not even be safe to read.
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, err
		}
		discarded = true
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	m, err := os.OpenFile(marker, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return false, err
	}
	err = m.Sync()
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	return discarded, err
}

// Recovered reports whether OpenFSM found the marker of an unclean stop and
// started from an empty state (see WithLogDurability).
func (f *FSM) Recovered() bool { return f.recovered }

func openDB(path string, o options) (*bbolt.DB, uint64, error) {
	db, err := bbolt.Open(path, 0o600, boltOptions(o, false))
	if err != nil {
		return nil, 0, fmt.Errorf("meta: open %s: %w", path, err)
	}
	var applied uint64
	err = db.Update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			m, err := tx.CreateBucket(bucketMeta)
			if err != nil {
				return err
			}
			if err := m.Put(keyFormat, []byte{formatVersion}); err != nil {
				return err
			}
			if _, err := tx.CreateBucketIfNotExists(bucketData); err != nil {
				return err
			}
		}
		var err error
		applied, err = checkLayout(tx)
		return err
	})
	if err != nil {
		db.Close()
		return nil, 0, fmt.Errorf("meta: open %s: %w", path, err)
	}
	return db, applied, nil
}

// checkLayout verifies the buckets and format and returns the applied index.
func checkLayout(tx *bbolt.Tx) (uint64, error) {
	m := tx.Bucket(bucketMeta)
	if m == nil || tx.Bucket(bucketData) == nil {
		return 0, errors.New("not a metadata database: buckets missing")
	}
	if f := m.Get(keyFormat); len(f) != 1 || f[0] != formatVersion {
		return 0, fmt.Errorf("unsupported format %v (want %d)", f, formatVersion)
	}
	v := m.Get(keyAppliedIndex)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	default:
		return 0, fmt.Errorf("corrupt applied index (%d bytes)", len(v))
	}
}

// Close closes the database. Later calls fail with ErrClosed.
func (f *FSM) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db == nil {
		return nil
	}
	var err error
	if f.opts.deferSync {
		err = f.db.Sync()
	}
	err = errors.Join(err, f.db.Close())
	f.db = nil
	f.waiters.wake()
	if f.opts.deferSync && err == nil {
		// Only a database that reached the disk whole is trusted next time.
		if rerr := os.Remove(f.path + UncleanSuffix); rerr == nil {
			err = syncDir(filepath.Dir(f.path))
		} else if !errors.Is(rerr, os.ErrNotExist) {
			err = rerr
		}
	}
	return err
}

// AppliedIndex is the index of the last applied (or rejected) command.
func (f *FSM) AppliedIndex() uint64 { return f.applied.Load() }

// Apply applies one command; see ApplyBatch.
func (f *FSM) Apply(index uint64, cmd []byte) Result {
	return f.ApplyBatch([]Command{{Index: index, Data: cmd}})[0]
}

// ApplyBatch applies cmds in order in one bbolt transaction (one fsync, none
// WithLogDurability) and
// returns one Result per command. Each command is atomic on its own: a
// failed compare rejects that command only. Commands with an index at or
// below the applied index are skipped.
func (f *FSM) ApplyBatch(cmds []Command) []Result {
	res := make([]Result, len(cmds))
	for i, c := range cmds {
		res[i].Index = c.Index
	}
	if len(cmds) == 0 {
		return res
	}
	f.applyMu.Lock()
	defer f.applyMu.Unlock()
	f.mu.RLock()
	defer f.mu.RUnlock()

	applied := f.applied.Load()
	last := applied
	for i, c := range cmds {
		if c.Index <= last {
			res[i].Skipped = true
			continue
		}
		last = c.Index
	}
	if last == applied { // all replayed: no transaction, no fsync
		return res
	}
	if f.db == nil {
		return failAll(res, ErrClosed)
	}
	err := f.db.Update(func(tx *bbolt.Tx) error {
		data := tx.Bucket(bucketData)
		for i, c := range cmds {
			if res[i].Skipped {
				continue
			}
			rev, rejected, err := applyTxn(data, c)
			if err != nil {
				return err
			}
			res[i].Revision, res[i].Err = rev, rejected
		}
		var idx [8]byte
		binary.BigEndian.PutUint64(idx[:], last)
		return tx.Bucket(bucketMeta).Put(keyAppliedIndex, idx[:])
	})
	if err != nil {
		return failAll(res, fmt.Errorf("meta: apply: %w", err))
	}
	f.applied.Store(last)
	f.waiters.wake()
	return res
}

func failAll(res []Result, err error) []Result {
	for i := range res {
		res[i] = Result{Index: res[i].Index, Err: err}
	}
	return res
}

// applyTxn applies one command inside tx. A deterministic rejection is
// returned as rejected; err is a storage failure that aborts the batch.
func applyTxn(data *bbolt.Bucket, c Command) (rev uint64, rejected, err error) {
	t, derr := DecodeTxn(c.Data)
	if derr != nil {
		return 0, derr, nil
	}
	if verr := t.Validate(); verr != nil {
		return 0, verr, nil
	}
	// Compares first, against the state before this command.
	for _, cmp := range t.Compares {
		actual, _, err := decodeStored(data.Get([]byte(cmp.Key)))
		if err != nil {
			return 0, nil, fmt.Errorf("key %q: %w", cmp.Key, err)
		}
		if actual != cmp.Revision {
			return 0, &CompareFailedError{Key: cmp.Key, Want: cmp.Revision, Actual: actual}, nil
		}
	}
	// Ops were validated, so a failure here is a storage failure.
	for _, op := range t.Ops {
		switch op.Kind {
		case OpPut:
			v := make([]byte, revisionSize+len(op.Value))
			binary.BigEndian.PutUint64(v, c.Index)
			copy(v[revisionSize:], op.Value)
			if err := data.Put([]byte(op.Key), v); err != nil {
				return 0, nil, err
			}
		case OpDelete:
			if err := data.Delete([]byte(op.Key)); err != nil {
				return 0, nil, err
			}
		}
	}
	return c.Index, nil, nil
}

// decodeStored splits a stored value; a nil v is an absent key (revision 0).
func decodeStored(v []byte) (rev uint64, val []byte, err error) {
	if v == nil {
		return 0, nil, nil
	}
	if len(v) < revisionSize {
		return 0, nil, fmt.Errorf("corrupt stored value (%d bytes)", len(v))
	}
	return binary.BigEndian.Uint64(v), v[revisionSize:], nil
}

// maxListPrealloc bounds the room List makes for its entries up front (a
// listing page's worth), so a large limit over few keys costs little.
const maxListPrealloc = 1024

// entry copies a stored key/value out of a bbolt transaction.
func entry(k, v []byte) (Entry, error) {
	rev, val, err := decodeStored(v)
	if err != nil {
		return Entry{}, fmt.Errorf("meta: key %q: %w", k, err)
	}
	return Entry{Key: string(k), Value: bytes.Clone(val), Revision: rev}, nil
}

// view runs fn in a read transaction of the current database.
func (f *FSM) view(fn func(tx *bbolt.Tx) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return ErrClosed
	}
	return f.db.View(fn)
}

// Get returns the committed entry at key or ErrNotFound.
func (f *FSM) Get(key string) (Entry, error) {
	var e Entry
	err := f.view(func(tx *bbolt.Tx) error {
		var err error
		e, err = getIn(tx.Bucket(bucketData), key)
		return err
	})
	return e, err
}

// GetMany returns the committed entries at keys, in their order, read in
// one transaction (one point in time); a missing key's entry has only its
// Key (Revision 0: no stored key has it).
func (f *FSM) GetMany(keys []string) ([]Entry, error) {
	out := make([]Entry, len(keys))
	err := f.view(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketData)
		for i, key := range keys {
			e, err := getIn(b, key)
			switch {
			case errors.Is(err, ErrNotFound):
				e = Entry{Key: key}
			case err != nil:
				return err
			}
			out[i] = e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// View calls fn with a Reader over one read transaction (see Viewer).
func (f *FSM) View(fn func(Reader) error) error {
	return f.view(func(tx *bbolt.Tx) error {
		return fn(txReader{tx.Bucket(bucketData)})
	})
}

// txReader is a Reader over one bbolt transaction's data bucket.
type txReader struct{ b *bbolt.Bucket }

func (r txReader) Get(key string) (Entry, error) { return getIn(r.b, key) }

func getIn(b *bbolt.Bucket, key string) (Entry, error) {
	if key == "" {
		return Entry{}, ErrNotFound
	}
	v := b.Get([]byte(key))
	if v == nil {
		return Entry{}, ErrNotFound
	}
	rev, val, err := decodeStored(v)
	if err != nil {
		return Entry{}, fmt.Errorf("meta: key %q: %w", key, err)
	}
	return Entry{Key: key, Value: bytes.Clone(val), Revision: rev}, nil
}

// List returns up to limit committed entries whose key has prefix and is >=
// start, in byte order; limit <= 0 means no limit. It seeks to the first
// candidate key, so a page costs O(log n + limit) whatever the size.
func (f *FSM) List(prefix, start string, limit int) ([]Entry, error) {
	var out []Entry
	if limit > 0 {
		out = make([]Entry, 0, min(limit, maxListPrealloc))
	}
	err := f.view(func(tx *bbolt.Tx) error {
		seek := prefix
		if start > seek {
			seek = start
		}
		p := []byte(prefix)
		c := tx.Bucket(bucketData).Cursor()
		for k, v := c.Seek([]byte(seek)); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			e, err := entry(k, v)
			if err != nil {
				return err
			}
			out = append(out, e)
			if limit > 0 && len(out) >= limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// Snapshot writes a consistent copy of the whole database (data and applied
// index of one point in time) to w. Applies may continue meanwhile.
func (f *FSM) Snapshot(w io.Writer) error {
	return f.view(func(tx *bbolt.Tx) error {
		_, err := tx.WriteTo(w)
		return err
	})
}

// Restore replaces the whole state with a snapshot written by Snapshot. The
// snapshot is written to a temporary file beside the database, fsynced and
// checked, then renamed over the database, so a crash leaves either the old
// or the new state, never a mix. On error before the swap the old state is
// kept.
func (f *FSM) Restore(r io.Reader) error {
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(f.path)+".restore-*")
	if err != nil {
		return fmt.Errorf("meta: restore: %w", err)
	}
	tmpName := tmp.Name()
	keep := false
	defer func() {
		if !keep {
			os.Remove(tmpName)
		}
	}()
	_, err = io.Copy(tmp, r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("meta: restore: write %s: %w", tmpName, err)
	}
	if err := checkFile(tmpName, f.opts); err != nil {
		return fmt.Errorf("meta: restore: bad snapshot: %w", err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db == nil {
		return ErrClosed
	}
	if err := f.db.Close(); err != nil {
		return fmt.Errorf("meta: restore: close: %w", err)
	}
	f.db = nil
	if err := os.Rename(tmpName, f.path); err != nil {
		// Keep serving the old state.
		db, applied, oerr := openDB(f.path, f.opts)
		if oerr == nil {
			f.db = db
			f.applied.Store(applied)
		}
		return errors.Join(fmt.Errorf("meta: restore: rename: %w", err), oerr)
	}
	keep = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("meta: restore: %w", err)
	}
	db, applied, err := openDB(f.path, f.opts)
	if err != nil {
		return fmt.Errorf("meta: restore: reopen: %w", err)
	}
	f.db = db
	f.applied.Store(applied)
	f.waiters.wake()
	return nil
}

// checkFile opens a database file read-only and checks its layout.
func checkFile(path string, o options) error {
	db, err := bbolt.Open(path, 0o600, boltOptions(o, true))
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bbolt.Tx) error {
		_, err := checkLayout(tx)
		return err
	})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
