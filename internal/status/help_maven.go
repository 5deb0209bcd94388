package status

// mavenHelp is the setup guide of the Maven mirror.
func mavenHelp(id, base string) helpPage {
	repo := base + "/maven2/"
	settings := "<settings>\n  <mirrors>\n    <mirror>\n      <id>gomirror</id>\n      <mirrorOf>central</mirrorOf>\n      <url>" + repo + "</url>\n    </mirror>\n  </mirrors>\n</settings>"
	return helpPage{ID: id, Name: "Maven", Intro: "Resolve Maven artifacts through this mirror of Maven Central. Every file was checked against its repository's sha512, sha256 or sha1 before the mirror stored it, and the checksum files Maven reads are computed from what was checked.",
		Snippets: []snippet{
			{Title: "Maven", File: "~/.m2/settings.xml", Intro: "Inside <settings>, in <mirrors>; use <mirrorOf>*</mirrorOf> to send every repository through the mirror.", Code: settings},
			{Title: "Gradle", File: "settings.gradle.kts", Code: "dependencyResolutionManagement {\n    repositories {\n        maven { url = uri(\"" + repo + "\") }\n    }\n}"},
			{Title: "With gomirror's client", Intro: "Saves ~/.m2/settings.xml; gomirror restore maven puts it back byte for byte.", Code: "gomirror use maven " + base},
		}}
}
