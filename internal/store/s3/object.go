package s3

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"

	"github.com/minio/minio-go/v7"
)

// object is the reader that Get returns: the body of one GET, which Seek
// replaces with a ranged GET on the next Read. Seeking without reading, as
// http.ServeContent does to learn the size, makes no request.
type object struct {
	ctx  context.Context // For the requests that Read makes after a Seek.
	s    *Store
	name string
	etag string // The version being read; a changed object fails the read.
	info fileInfo

	body    io.ReadCloser // nil after a failed request
	pos     int64         // offset of the next Read
	bodyPos int64         // offset of the next byte of body
	closed  bool
}

func (o *object) Read(p []byte) (int, error) {
	if o.closed {
		return 0, &fs.PathError{Op: "read", Path: o.name, Err: fs.ErrClosed}
	}
	if o.pos >= o.info.size {
		return 0, io.EOF
	}
	if o.body == nil || o.bodyPos != o.pos {
		if err := o.reopen(); err != nil {
			return 0, err
		}
	}
	n, err := o.body.Read(p)
	o.pos += int64(n)
	o.bodyPos += int64(n)
	if err == io.EOF && o.pos < o.info.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// reopen replaces the body with one that starts at pos.
func (o *object) reopen() error {
	if o.body != nil {
		o.body.Close()
		o.body = nil
	}
	var opts minio.GetObjectOptions
	if o.pos > 0 {
		opts.SetRange(o.pos, 0)
	}
	if o.etag != "" {
		opts.SetMatchETag(o.etag)
	}
	body, _, _, err := o.s.core.GetObject(o.ctx, o.s.bucket, o.s.prefix+o.name, opts)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "PreconditionFailed" {
			err = errors.New("object changed while being read")
		}
		return pathError("read", o.name, err)
	}
	o.body, o.bodyPos = body, o.pos
	return nil
}

func (o *object) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = o.pos + offset
	case io.SeekEnd:
		abs = o.info.size + offset
	default:
		return 0, &fs.PathError{Op: "seek", Path: o.name, Err: fs.ErrInvalid}
	}
	if abs < 0 {
		return 0, &fs.PathError{Op: "seek", Path: o.name, Err: errors.New("negative position")}
	}
	o.pos = abs
	return abs, nil
}

// Stat reports the size and last modification of the object.
func (o *object) Stat() (fs.FileInfo, error) { return o.info, nil }

func (o *object) Close() error {
	o.closed = true
	if o.body == nil {
		return nil
	}
	err := o.body.Close()
	o.body = nil
	return err
}

// fileInfo describes an object.
type fileInfo struct {
	name    string
	size    int64
	modTime time.Time
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() fs.FileMode  { return 0o444 }
func (fi fileInfo) ModTime() time.Time { return fi.modTime }
func (fi fileInfo) IsDir() bool        { return false }
func (fi fileInfo) Sys() any           { return nil }
