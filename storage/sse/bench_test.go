package sse

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// onlyReader hides WriterTo/ReaderFrom so every variant streams through
// io.Copy's buffer, as a request body does.
type onlyReader struct{ io.Reader }

type onlyWriter struct{ io.Writer }

// BenchmarkStream compares, in one run, a plain io.Copy with encrypting
// (Reader and Writer) and decrypting the same bytes, per suite and size.
func BenchmarkStream(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 20} {
		plain := randBytes(size, 1)
		name := fmt.Sprintf("%dKiB", size>>10)
		b.Run("copy/"+name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := io.Copy(onlyWriter{io.Discard}, onlyReader{bytes.NewReader(plain)}); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, s := range suites {
			key, p := testKey(1), testParams(b, s, 0)
			ct := encrypt(b, key, p, plain)
			b.Run(fmt.Sprintf("encrypt-reader/%v/%s", s, name), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					r, err := NewReader(onlyReader{bytes.NewReader(plain)}, key, p, int64(size))
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(onlyWriter{io.Discard}, r); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("encrypt-writer/%v/%s", s, name), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					w, err := NewWriter(onlyWriter{io.Discard}, key, p)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(w, onlyReader{bytes.NewReader(plain)}); err != nil {
						b.Fatal(err)
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("decrypt/%v/%s", s, name), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					r, err := NewDecryptReader(onlyReader{bytes.NewReader(ct)}, key, p, int64(size), 0, int64(size))
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(onlyWriter{io.Discard}, r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRangedRead is a 1 MiB range in the middle of a 64 MiB object:
// only the packages it touches are fetched and opened.
func BenchmarkRangedRead(b *testing.B) {
	const size = 64 << 20
	plain := randBytes(size, 2)
	key, p := testKey(1), testParams(b, AES256GCM, 0)
	ct := encrypt(b, key, p, plain)
	off, length := int64(size/2+123), int64(1<<20)
	cr, _ := RangeOf(size, off, length)
	b.SetBytes(length)
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewDecryptReader(bytes.NewReader(ct[cr.Offset:cr.Offset+cr.Length]), key, p, size, off, length)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(onlyWriter{io.Discard}, r); err != nil {
			b.Fatal(err)
		}
	}
}
