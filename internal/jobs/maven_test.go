package jobs

import (
	"slices"
	"strings"
	"testing"
)

func TestMaven(t *testing.T) {
	f := newFakeMirror()
	f.set("/maven2/org/slf4j/slf4j-api/maven-metadata.xml", `<?xml version="1.0"?><metadata><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId>
<versioning><versions><version>1.7.36</version><version>2.0.8</version><version>2.0.9</version><version>2.1.0-SNAPSHOT</version></versions></versioning></metadata>`)
	for _, v := range []string{"2.0.8", "2.0.9"} {
		f.set("/maven2/org/slf4j/slf4j-api/"+v+"/slf4j-api-"+v+".pom", "<project><packaging>jar</packaging></project>")
		f.set("/maven2/org/slf4j/slf4j-api/"+v+"/slf4j-api-"+v+".jar", "jar")
	}
	f.set("/maven2/org/slf4j/slf4j-parent/2.0.9/slf4j-parent-2.0.9.pom", "<project><packaging>pom</packaging></project>")
	f.set("/maven2/com/corp/app/1.0/app-1.0.pom", "<project><packaging>war</packaging></project>")
	f.set("/maven2/com/corp/app/1.0/app-1.0.war", "war")
	r := newTestRunner(t, f, newFakeClock(t0), "",
		Spec{Name: "java", Kind: "maven", Schedule: "1h", Maven: &MavenArtifacts{
			Artifacts: []string{"org.slf4j:slf4j-api", "org.slf4j:slf4j-parent:2.0.9", "com.corp:app:1.0"}, Newest: 2,
		}},
	)
	if st := runOnce(t, r, "java"); st.Result != Success {
		t.Fatalf("got %s (%s), want success", st.Result, st.Error)
	}
	want := []string{
		"/maven2/com/corp/app/1.0/app-1.0.pom", "/maven2/com/corp/app/1.0/app-1.0.war",
		"/maven2/org/slf4j/slf4j-api/2.0.8/slf4j-api-2.0.8.jar", "/maven2/org/slf4j/slf4j-api/2.0.8/slf4j-api-2.0.8.pom",
		"/maven2/org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9.jar", "/maven2/org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9.pom",
		"/maven2/org/slf4j/slf4j-api/maven-metadata.xml",
		"/maven2/org/slf4j/slf4j-parent/2.0.9/slf4j-parent-2.0.9.pom",
	}
	if got := f.requested(); !slices.Equal(got, want) {
		t.Errorf("requested:\ngot  %q\nwant %q", got, want)
	}
	// A second run fetches only the metadata again.
	f.reset()
	if st := runOnce(t, r, "java"); st.Result != Success {
		t.Fatalf("second run: got %s (%s), want success", st.Result, st.Error)
	}
	if got, want := f.requested(), []string{"/maven2/org/slf4j/slf4j-api/maven-metadata.xml"}; !slices.Equal(got, want) {
		t.Errorf("second run requested:\ngot  %q\nwant %q", got, want)
	}
}

func TestMavenSpecRefused(t *testing.T) {
	for _, arts := range [][]string{nil, {"slf4j-api"}, {"org.slf4j:"}, {"org..slf4j:a"}, {"a:b:c:d"}, {"org.slf4j:../x"}} {
		_, err := Spec{Name: "j", Kind: "maven", Schedule: "1h", Maven: &MavenArtifacts{Artifacts: arts}}.syncerOf()
		if err == nil || !strings.HasPrefix(err.Error(), "maven: artifacts:") {
			t.Errorf("artifacts %q: got %v, want an error naming maven: artifacts", arts, err)
		}
	}
}
