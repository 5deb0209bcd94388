package status

func init() {
	wantHelp["cargo"] = []string{
		`registry = "sparse+http://mirror.example:8080/cargo/index/"`,
		`replace-with = "gomirror"`,
		"gomirror use cargo http://mirror.example:8080",
	}
}
