package oci

import (
	"encoding/json"
	"mime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifestTypes are the media types a manifest is served with.
var manifestTypes = map[types.MediaType]bool{
	types.OCIImageIndex:               true,
	types.OCIManifestSchema1:          true,
	types.DockerManifestList:          true,
	types.DockerManifestSchema2:       true,
	types.DockerManifestSchema1:       true,
	types.DockerManifestSchema1Signed: true,
}

// mediaTypeOf returns the media type of a manifest, always one of
// manifestTypes (the OCI and Docker specs' manifest types): its own
// mediaType field, else the type upstream served it with (header, may be
// empty), else what its fields say it is. Any other type, such as
// text/html, is never served: the manifest's bytes are upstream's, and a
// browser must not take them for a page of the mirror's origin.
func mediaTypeOf(data []byte, header string) types.MediaType {
	var m struct {
		SchemaVersion int             `json:"schemaVersion"`
		MediaType     types.MediaType `json:"mediaType"`
		Manifests     json.RawMessage `json:"manifests"`
		Config        json.RawMessage `json:"config"`
		Signatures    json.RawMessage `json:"signatures"`
	}
	_ = json.Unmarshal(data, &m) // A digest-checked manifest is served as it is.
	if manifestTypes[m.MediaType] {
		return m.MediaType
	}
	if mt, _, err := mime.ParseMediaType(header); err == nil && manifestTypes[types.MediaType(mt)] {
		return types.MediaType(mt)
	}
	switch {
	case m.SchemaVersion == 1 && m.Signatures != nil:
		return types.DockerManifestSchema1Signed
	case m.SchemaVersion == 1:
		return types.DockerManifestSchema1
	case m.Manifests != nil:
		return types.OCIImageIndex
	default:
		return types.OCIManifestSchema1
	}
}

// tagRecord is what a tag resolves to, stored as the tag's metadata: an
// OCI descriptor of the manifest.
type tagRecord = v1.Descriptor

// safeMediaType returns mt when it is a manifest type of the specs, else
// the type data's fields say it is: a tag recorded before types were
// checked is served safely too.
func safeMediaType(mt types.MediaType, data []byte) types.MediaType {
	if manifestTypes[mt] {
		return mt
	}
	return mediaTypeOf(data, "")
}
