package cluster

import (
	"context"
	"errors"

	"github.com/filesphere/filesphere/cluster/meta"
	"github.com/filesphere/filesphere/cluster/rpc"
	"github.com/hashicorp/raft"
)

// forwarder adapts the rpc client to meta.Forwarder.
type forwarder struct{ c *rpc.Client }

func (f forwarder) ForwardTxn(ctx context.Context, addr raft.ServerAddress, _ raft.ServerID, cmd []byte) (uint64, error) {
	return f.c.ForwardTxn(ctx, f.c.URL(string(addr)), cmd)
}

func (f forwarder) ReadIndex(ctx context.Context, addr raft.ServerAddress, _ raft.ServerID) (uint64, error) {
	return f.c.ReadIndex(ctx, f.c.URL(string(addr)))
}

// PeerTerm makes forwarder a meta.TermForwarder.
func (f forwarder) PeerTerm(ctx context.Context, addr raft.ServerAddress, _ raft.ServerID) (uint64, error) {
	return f.c.Term(ctx, f.c.URL(string(addr)))
}

// localReader reads the local replica without a leader round trip.
type localReader struct{ f *meta.FSM }

func (l localReader) Get(_ context.Context, key string) (meta.Entry, error) { return l.f.Get(key) }
func (l localReader) List(_ context.Context, prefix, start string, limit int) ([]meta.Entry, error) {
	return l.f.List(prefix, start, limit)
}
func (l localReader) Txn(context.Context, meta.Txn) (uint64, error) {
	return 0, errors.New("cluster: local reader is read-only")
}
