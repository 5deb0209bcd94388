// Package s3 stores gomirror's files in an S3-compatible object store, so
// that several gomirror replicas can share one copy.
//
// A store is named by a URL, s3://BUCKET[/PREFIX]?endpoint=URL&region=R,
// and each store name becomes the object key PREFIX/NAME. Credentials come
// from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or from the shared
// credentials file, never from the URL.
//
// Serving a stored file costs one GET. Only [Store.Walk], which
// maintenance commands use, lists the bucket.
package s3
