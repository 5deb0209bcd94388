package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/gomirror/gomirror/internal/store"
)

// DefaultEndpoint is the endpoint of a store URL without one: Amazon S3.
const DefaultEndpoint = "https://s3.amazonaws.com"

// partSize is the size of each part of a multipart upload, and the most
// that Put holds in memory for content of unknown size. Content up to this
// size is uploaded with one request.
const partSize = 16 << 20

var (
	_ store.Store      = (*Store)(nil)
	_ store.Walker     = (*Store)(nil)
	_ store.FilePutter = (*Store)(nil)
)

// Store is a [store.Store] on an S3 bucket. It is safe for concurrent use.
type Store struct {
	core   minio.Core
	bucket string
	prefix string // "" or ending in "/"
	logger *slog.Logger
}

// location is a parsed store URL.
type location struct {
	bucket   string
	prefix   string
	endpoint *url.URL
	region   string
}

// New connects to the store that rawURL names, creating its bucket if
// needed. getenv reads credentials (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, or AWS_SHARED_CREDENTIALS_FILE,
// AWS_PROFILE and HOME for the shared credentials file); nil means
// os.Getenv. A nil logger discards logs. The error names the part of the
// URL that is wrong, or says why the bucket cannot be reached.
func New(ctx context.Context, rawURL string, getenv func(string) string, logger *slog.Logger) (*Store, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	loc, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	creds, err := resolveCredentials(getenv)
	if err != nil {
		return nil, err
	}
	client, err := minio.New(loc.endpoint.Host, &minio.Options{
		Creds:  creds,
		Secure: loc.endpoint.Scheme == "https",
		Region: loc.region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 store: %w", plainError(err))
	}
	s := &Store{core: minio.Core{Client: client}, bucket: loc.bucket, prefix: loc.prefix, logger: logger}
	if err := s.ensureBucket(ctx, loc.region); err != nil {
		return nil, err
	}
	return s, nil
}

// parseURL parses s3://BUCKET[/PREFIX]?endpoint=URL&region=R. Its errors
// name the bad part and never show a password.
func parseURL(rawURL string) (location, error) {
	var loc location
	bad := func(format string, args ...any) (location, error) {
		return location{}, fmt.Errorf("s3 store URL: "+format, args...)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return bad("not a valid URL: %v", errors.Unwrap(err))
	}
	if u.Scheme != "s3" {
		return bad("scheme is %q, want s3://BUCKET[/PREFIX]?endpoint=URL", u.Scheme)
	}
	if u.Opaque != "" {
		return bad("want s3://BUCKET[/PREFIX]?endpoint=URL")
	}
	if u.User != nil {
		return bad("credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or use the shared credentials file")
	}
	if u.Fragment != "" {
		return bad("unexpected fragment #%s", u.Fragment)
	}
	loc.bucket = u.Host
	if loc.bucket == "" {
		return bad("no bucket")
	}
	if err := s3utils.CheckValidBucketNameStrict(loc.bucket); err != nil {
		return bad("bucket %q: %v", loc.bucket, err)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		if err := store.CheckName(p); err != nil {
			return bad("prefix %q is not a clean relative path without dot elements", p)
		}
		loc.prefix = p + "/"
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query: %v", err)
	}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if k != "endpoint" && k != "region" {
			return bad("unknown parameter %q (want endpoint or region)", k)
		}
		if len(q[k]) > 1 {
			return bad("parameter %q given %d times", k, len(q[k]))
		}
	}
	loc.region = q.Get("region")
	endpoint := q.Get("endpoint")
	if !q.Has("endpoint") {
		endpoint = DefaultEndpoint
	}
	ep, err := url.Parse(endpoint)
	if err != nil {
		return bad("endpoint is not a valid URL: %v", errors.Unwrap(err))
	}
	switch {
	case ep.User != nil:
		return bad("endpoint: credentials do not belong in the URL")
	case ep.Scheme != "http" && ep.Scheme != "https":
		return bad("endpoint %q: want http://HOST[:PORT] or https://HOST[:PORT]", endpoint)
	case ep.Host == "" || ep.Hostname() == "":
		return bad("endpoint %q has no host", endpoint)
	case ep.Path != "" && ep.Path != "/", ep.RawQuery != "", ep.Fragment != "":
		return bad("endpoint %q: want only a scheme, host and port", endpoint)
	}
	loc.endpoint = ep
	return loc, nil
}

// resolveCredentials finds the credentials the way the AWS tools do: the
// environment first, then the shared credentials file.
func resolveCredentials(getenv func(string) string) (*credentials.Credentials, error) {
	id := cmpOr(getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_ACCESS_KEY"))
	secret := cmpOr(getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SECRET_KEY"))
	switch {
	case id != "" && secret != "":
		return credentials.NewStaticV4(id, secret, getenv("AWS_SESSION_TOKEN")), nil
	case id != "":
		return nil, errors.New("s3 store: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
	case secret != "":
		return nil, errors.New("s3 store: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
	}
	file := getenv("AWS_SHARED_CREDENTIALS_FILE")
	if file == "" {
		home := getenv("HOME")
		if home == "" {
			return nil, errors.New("s3 store: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_SHARED_CREDENTIALS_FILE")
		}
		file = filepath.Join(home, ".aws", "credentials")
	}
	profile := cmpOr(getenv("AWS_PROFILE"), "default")
	creds := credentials.New(&credentials.FileAWSCredentials{Filename: file, Profile: profile})
	v, err := creds.Get()
	if err == nil && (v.AccessKeyID == "" || v.SecretAccessKey == "") {
		err = errors.New("no aws_access_key_id and aws_secret_access_key")
	}
	if err != nil {
		return nil, fmt.Errorf("s3 store: no credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, and profile %q in %s: %v", profile, file, plainError(err))
	}
	return creds, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ensureBucket creates the bucket unless it exists.
func (s *Store) ensureBucket(ctx context.Context, region string) error {
	exists, err := s.core.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3 store: checking bucket %s: %w", s.bucket, plainError(err))
	}
	if exists {
		return nil
	}
	err = s.core.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
	if err != nil && minio.ToErrorResponse(err).Code != minio.BucketAlreadyOwnedByYou {
		return fmt.Errorf("s3 store: creating bucket %s: %w", s.bucket, plainError(err))
	}
	s.logger.Info("created S3 bucket", "bucket", s.bucket)
	return nil
}

// Check reports whether the bucket exists and the credentials can see it.
// It is meant for readiness checks.
func (s *Store) Check(ctx context.Context) error {
	exists, err := s.core.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3 store: checking bucket %s: %w", s.bucket, plainError(err))
	}
	if !exists {
		return fmt.Errorf("s3 store: bucket %s does not exist", s.bucket)
	}
	return nil
}

// Get fetches name with one GET request. The reader also implements
// io.Seeker, which fetches from the new position on the next Read, and
// Stat, which reports the object's size and last modification. The reader
// uses ctx for the requests it makes. The error matches fs.ErrNotExist when
// there is no such object, and store.ErrInvalidName for a bad name.
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := store.CheckName(name); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	body, info, _, err := s.core.GetObject(ctx, s.bucket, s.prefix+name, minio.GetObjectOptions{})
	if err != nil {
		return nil, pathError("get", name, err)
	}
	return &object{
		ctx:  ctx,
		s:    s,
		name: name,
		etag: info.ETag,
		info: fileInfo{name: path.Base(name), size: info.Size, modTime: info.LastModified},
		body: body,
	}, nil
}

// Put uploads content to name. Content up to 16 MiB goes up in one PUT,
// larger content in a multipart upload; content of unknown size (not an
// *os.File, nor a reader with a Len method such as *bytes.Reader) is read
// into memory up to that size first to tell which. Either way S3 makes the object
// visible only once it is whole. When ctx is canceled or content fails,
// nothing changes at name.
func (s *Store) Put(ctx context.Context, name string, content io.Reader) error {
	if err := store.CheckName(name); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return &fs.PathError{Op: "put", Path: name, Err: err}
	}
	r, size, err := sized(ctx, content)
	if err != nil {
		return &fs.PathError{Op: "put", Path: name, Err: err}
	}
	return s.upload(ctx, name, r, size)
}

// PutFile uploads the whole content of the temporary file f to name, as
// Put does, whatever f's offset; the bucket is not on the local file
// system, so f is left at its path, open, with its offset unchanged. Errors
// are those of Put.
func (s *Store) PutFile(ctx context.Context, name string, f *os.File) error {
	if err := store.CheckName(name); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return &fs.PathError{Op: "put", Path: name, Err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		return &fs.PathError{Op: "put", Path: name, Err: err}
	}
	if !fi.Mode().IsRegular() {
		return &fs.PathError{Op: "put", Path: name, Err: errors.New("not a regular file")}
	}
	return s.upload(ctx, name, io.NewSectionReader(f, 0, fi.Size()), fi.Size())
}

// upload puts the object name with content r of the given size, -1 when
// unknown.
func (s *Store) upload(ctx context.Context, name string, r io.Reader, size int64) error {
	_, err := s.core.Client.PutObject(ctx, s.bucket, s.prefix+name, r, size, minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		PartSize:    partSize,
	})
	if err != nil {
		return pathError("put", name, err)
	}
	return nil
}

// sized returns content as a reader of known size when it can tell it or
// the content is small, else with size -1. The returned reader reads from
// content's current position.
func sized(ctx context.Context, content io.Reader) (io.Reader, int64, error) {
	if size, ok := remaining(content); ok {
		// A seekable reader lets the uploader retry, and a SectionReader
		// lets it send the parts of large content in parallel.
		if ra, ok := content.(interface {
			io.ReaderAt
			io.Seeker
		}); ok {
			if off, err := ra.Seek(0, io.SeekCurrent); err == nil {
				return io.NewSectionReader(ra, off, size), size, nil
			}
		}
		return struct{ io.Reader }{content}, size, nil
	}
	r := ctxReader{ctx, content}
	head, err := readUpTo(r, partSize+1)
	if err != nil {
		return nil, 0, err
	}
	if len(head) <= partSize {
		return bytes.NewReader(head), int64(len(head)), nil
	}
	return io.MultiReader(bytes.NewReader(head), r), -1, nil
}

// remaining reports how many bytes are left to read from r, when r can
// tell: a regular *os.File, or a reader with a Len method such as
// *bytes.Reader.
func remaining(r io.Reader) (int64, bool) {
	switch c := r.(type) {
	case *os.File:
		fi, err := c.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		off, err := c.Seek(0, io.SeekCurrent)
		if err != nil || off > fi.Size() {
			return 0, false
		}
		return fi.Size() - off, true
	case interface{ Len() int }:
		return int64(c.Len()), true
	}
	return 0, false
}

// readUpTo reads from r until EOF or until it has read limit bytes.
func readUpTo(r io.Reader, limit int) ([]byte, error) {
	buf := make([]byte, 0, min(limit, 64<<10))
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), limit-len(buf)))
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// Delete removes name. Deleting a missing name is not an error.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := store.CheckName(name); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := s.core.RemoveObject(ctx, s.bucket, s.prefix+name, minio.RemoveObjectOptions{}); err != nil {
		return pathError("delete", name, err)
	}
	return nil
}

// Walk calls fn for each name that starts with prefix; a prefix ending in
// "/" lists a directory, and "" lists everything. It lists the bucket, so
// only maintenance commands should call it. Objects whose keys are not
// valid store names are skipped.
func (s *Store) Walk(ctx context.Context, prefix string, fn func(name string) error) error {
	if prefix != "" {
		if err := store.CheckName(strings.TrimSuffix(prefix, "/")); err != nil {
			return fmt.Errorf("walk: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // Stops the listing if fn fails.
	for obj := range s.core.Client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("walk %q: %w", prefix, plainError(obj.Err))
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("walk %q: %w", prefix, err)
		}
		name := strings.TrimPrefix(obj.Key, s.prefix)
		if err := store.CheckName(name); err != nil {
			s.logger.Debug("skipping object that is not a store name", "bucket", s.bucket, "key", obj.Key)
			continue
		}
		if err := fn(name); err != nil {
			return fmt.Errorf("walk %q: %w", prefix, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("walk %q: %w", prefix, err)
	}
	return nil
}

// pathError reports err for name under op. A missing object matches
// fs.ErrNotExist, a server out of space or a bucket over its quota
// store.ErrFull.
func pathError(op, name string, err error) error {
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == minio.NoSuchKey:
		err = fs.ErrNotExist
	case isFull(resp):
		err = fmt.Errorf("%w: %w", store.ErrFull, plainError(err))
	default:
		err = plainError(err)
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// isFull reports whether an S3 error response says that the server or the
// bucket has no room left: 507 Insufficient Storage, or a code for it from
// MinIO (full drives, bucket quota) or other S3 servers (Ceph's quota).
func isFull(resp minio.ErrorResponse) bool {
	switch resp.Code {
	case "XMinioStorageFull", "StorageFull", "XMinioAdminBucketQuotaExceeded", "QuotaExceeded":
		return true
	}
	return resp.StatusCode == http.StatusInsufficientStorage
}

// plainError turns an S3 error response into an error that does not carry
// the SDK's types. Other errors, such as those of the context, the network
// or the content being uploaded, pass unchanged.
func plainError(err error) error {
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		return err
	}
	msg := resp.Code
	if resp.Message != "" {
		msg += ": " + resp.Message
	}
	if resp.StatusCode != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", resp.StatusCode)
	}
	return errors.New("s3: " + msg)
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
