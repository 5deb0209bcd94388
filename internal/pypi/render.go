package pypi

import (
	"bytes"
	"encoding/json"
	"html"
	"net/url"
)

// The JSON that the mirror serves (PEP 691, 700, 714, 740).

type outMeta struct {
	APIVersion string `json:"api-version"`
}

type outFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython string            `json:"requires-python,omitempty"`
	Yanked         any               `json:"yanked,omitempty"`
	// CoreMetadata is PEP 714's key. The older "dist-info-metadata" is
	// never emitted in JSON: pip 22.3 to 23.1 fail hard on it (PEP 714).
	CoreMetadata any    `json:"core-metadata,omitempty"`
	GPGSig       *bool  `json:"gpg-sig,omitempty"`
	Size         *int64 `json:"size,omitempty"`
	UploadTime   string `json:"upload-time,omitempty"`
	Provenance   string `json:"provenance,omitempty"`
}

type outProject struct {
	Meta     outMeta   `json:"meta"`
	Name     string    `json:"name"`
	Versions []string  `json:"versions"`
	Files    []outFile `json:"files"`
}

type outIndex struct {
	Meta     outMeta    `json:"meta"`
	Projects []outEntry `json:"projects"`
}

type outEntry struct {
	Name string `json:"name"`
}

// fileURL is the URL of f relative to its project page,
// /pypi/simple/<project>/.
func fileURL(project string, f *File) string {
	return "../../files/" + project + "/" + f.sha256() + "/" + url.PathEscape(f.Filename)
}

// renderProject renders p as a project page in format f, with file URLs
// pointing at the mirror.
func renderProject(p *Project, f format) []byte {
	if f.json {
		return renderProjectJSON(p)
	}
	var b bytes.Buffer
	name := html.EscapeString(p.Name)
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.0\">\n")
	b.WriteString("    <title>Links for " + name + "</title>\n  </head>\n  <body>\n    <h1>Links for " + name + "</h1>\n")
	for i := range p.Files {
		file := &p.Files[i]
		b.WriteString(`    <a href="` + html.EscapeString(fileURL(p.Name, file)+"#sha256="+file.sha256()) + `"`)
		if file.RequiresPython != "" {
			b.WriteString(` data-requires-python="` + html.EscapeString(file.RequiresPython) + `"`)
		}
		if file.Yanked {
			b.WriteString(` data-yanked="` + html.EscapeString(file.YankedReason) + `"`)
		}
		if file.CoreMetadata != nil {
			md := html.EscapeString("sha256=" + file.CoreMetadata["sha256"])
			b.WriteString(` data-core-metadata="` + md + `" data-dist-info-metadata="` + md + `"`)
		}
		if file.GPGSig != nil {
			if *file.GPGSig {
				b.WriteString(` data-gpg-sig="true"`)
			} else {
				b.WriteString(` data-gpg-sig="false"`)
			}
		}
		if file.Provenance != "" {
			b.WriteString(` data-provenance="` + html.EscapeString(file.Provenance) + `"`)
		}
		b.WriteString(">" + html.EscapeString(file.Filename) + "</a><br />\n")
	}
	b.WriteString("  </body>\n</html>\n")
	return b.Bytes()
}

func renderProjectJSON(p *Project) []byte {
	out := outProject{Meta: outMeta{APIVersion: "1.1"}, Name: p.Name, Versions: p.Versions, Files: make([]outFile, 0, len(p.Files))}
	if out.Versions == nil {
		out.Versions = []string{}
	}
	for i := range p.Files {
		f := &p.Files[i]
		o := outFile{
			Filename:       f.Filename,
			URL:            fileURL(p.Name, f),
			Hashes:         f.Hashes,
			RequiresPython: f.RequiresPython,
			GPGSig:         f.GPGSig,
			UploadTime:     f.UploadTime,
			Provenance:     f.Provenance,
		}
		if f.Yanked {
			o.Yanked = true
			if f.YankedReason != "" {
				o.Yanked = f.YankedReason
			}
		}
		if f.CoreMetadata != nil {
			o.CoreMetadata = f.CoreMetadata
		}
		if f.Size >= 0 {
			o.Size = &f.Size
		} else {
			// PEP 700 makes size required from version 1.1 on.
			out.Meta.APIVersion = "1.0"
		}
		out.Files = append(out.Files, o)
	}
	data, _ := json.Marshal(out) // Maps of strings and plain values always marshal.
	return data
}

// Index is the index of projects in the form the mirror stores.
type Index struct {
	// Projects lists project names as upstream spells them, each
	// normalised name once, first upstream first.
	Projects []string `json:"projects"`
}

// renderIndex renders the index of projects in format f.
func renderIndex(ix *Index, f format) []byte {
	if f.json {
		out := outIndex{Meta: outMeta{APIVersion: "1.0"}, Projects: make([]outEntry, 0, len(ix.Projects))}
		for _, n := range ix.Projects {
			out.Projects = append(out.Projects, outEntry{Name: n})
		}
		data, _ := json.Marshal(out)
		return data
	}
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"1.0\">\n    <title>Simple index</title>\n  </head>\n  <body>\n")
	for _, n := range ix.Projects {
		b.WriteString(`    <a href="` + html.EscapeString(Normalize(n)) + `/">` + html.EscapeString(n) + "</a><br />\n")
	}
	b.WriteString("  </body>\n</html>\n")
	return b.Bytes()
}
