package meta

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

var sampleTxns = []Txn{
	{},
	{Ops: []Op{Put("k", []byte("v"))}},
	{Ops: []Op{Put("k", nil)}},
	{Compares: []Compare{{Key: "a", Revision: 0}, {Key: "b", Revision: 1<<64 - 1}}},
	{
		Compares: []Compare{{Key: "s/bucket/\x00", Revision: 300}},
		Ops:      []Op{Put("s/日本", bytes.Repeat([]byte{0xff}, 200)), Delete("i/user"), Put("\xff", []byte{})},
	},
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for i, txn := range sampleTxns {
		b := EncodeTxn(txn)
		got, err := DecodeTxn(b)
		if err != nil {
			t.Fatalf("%d: decode: %v", i, err)
		}
		if !bytes.Equal(EncodeTxn(got), b) {
			t.Fatalf("%d: re-encoding differs", i)
		}
		if len(got.Compares) != len(txn.Compares) || len(got.Ops) != len(txn.Ops) {
			t.Fatalf("%d: got %+v want %+v", i, got, txn)
		}
		for j := range txn.Compares {
			if got.Compares[j] != txn.Compares[j] {
				t.Fatalf("%d: compare %d = %+v want %+v", i, j, got.Compares[j], txn.Compares[j])
			}
		}
		for j, op := range txn.Ops {
			g := got.Ops[j]
			if g.Kind != op.Kind || g.Key != op.Key || !bytes.Equal(g.Value, op.Value) {
				t.Fatalf("%d: op %d = %+v want %+v", i, j, g, op)
			}
		}
	}
}

func TestEncodeIsCompactAndStable(t *testing.T) {
	b := EncodeTxn(Txn{Compares: []Compare{{Key: "a", Revision: 5}}, Ops: []Op{Put("k", []byte("v")), Delete("d")}})
	want := []byte{commandVersion, 1, 1, 'a', 5, 2, byte(OpPut), 1, 'k', 1, 'v', byte(OpDelete), 1, 'd'}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoding = %v; want %v", b, want)
	}
	// A Delete's value is not encoded.
	if a, b := EncodeTxn(Txn{Ops: []Op{Delete("d")}}), EncodeTxn(Txn{Ops: []Op{{Kind: OpDelete, Key: "d", Value: []byte("x")}}}); !bytes.Equal(a, b) {
		t.Fatal("delete value was encoded")
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := EncodeTxn(sampleTxns[4])
	cases := map[string][]byte{
		"empty":           {},
		"bad version":     {2, 0, 0},
		"version 0":       {0, 0, 0},
		"truncated":       valid[:len(valid)-1],
		"trailing":        append(append([]byte{}, valid...), 0),
		"no op count":     {1, 0},
		"huge compares":   {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"huge ops":        {1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"huge key len":    {1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0},
		"huge value len":  {1, 0, 1, byte(OpPut), 1, 'k', 0xff, 0xff, 0xff, 0xff, 0x0f},
		"unknown kind":    {1, 0, 1, 9, 1, 'k'},
		"kind zero":       {1, 0, 1, 0, 1, 'k'},
		"non-minimal":     {1, 0x80, 0x00, 0},
		"varint overflow": {1, 0, 1, byte(OpPut), 1, 'k', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"count too big":   {1, 2, 0, 0},
	}
	for name, b := range cases {
		if _, err := DecodeTxn(b); !errors.Is(err, ErrBadCommand) {
			t.Errorf("%s: err = %v; want ErrBadCommand", name, err)
		}
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	b := EncodeTxn(Txn{Ops: []Op{Put("k", []byte("value"))}})
	txn, err := DecodeTxn(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if txn.Ops[0].Key != "k" || string(txn.Ops[0].Value) != "value" {
		t.Fatalf("decoded txn aliases input: %+v", txn)
	}
}

func FuzzDecodeTxn(f *testing.F) {
	for _, txn := range sampleTxns {
		f.Add(EncodeTxn(txn))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{1, 0x80, 0x00, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		txn, err := DecodeTxn(data)
		if err != nil {
			if !errors.Is(err, ErrBadCommand) {
				t.Fatalf("error does not wrap ErrBadCommand: %v", err)
			}
			return
		}
		// Canonical: what decodes re-encodes to the same bytes...
		enc := EncodeTxn(txn)
		if !bytes.Equal(enc, data) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", data, enc)
		}
		// ...and decodes to the same Txn.
		again, err := DecodeTxn(enc)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(txn, again) {
			t.Fatalf("re-decode differs: %+v vs %+v", txn, again)
		}
	})
}
