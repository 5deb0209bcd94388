package status

func init() {
	wantHelp["maven"] = []string{"<url>http://mirror.example:8080/maven2/</url>", "<mirrorOf>central</mirrorOf>", "gomirror use maven http://mirror.example:8080"}
}
