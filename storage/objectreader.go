package storage

import "io"

// WriteTo writes the rest of the object to w. An erasure-coded stream
// hands the codec's verified chunks to w as they are, in large writes and
// without copying them first (erasure.Pipe), so io.Copy(w, or) costs no
// copy of its own.
func (o *ObjectReader) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := o.ReadCloser.(io.WriterTo); ok {
		return wt.WriteTo(w)
	}
	return io.Copy(w, o.ReadCloser)
}
