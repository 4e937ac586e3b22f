package sessiongate_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessiongate/sessiongate/internal/readme"
)

// TestReadmeQuickStartCommandsAreTested fails when a command in the README's
// Quick start is not one that the tests run exactly as printed: the demo
// line (cmd/sessiongate's browser test runs it), `make test` (CI runs it)
// and the build lines (scripts/check-install.sh runs them, through
// `make check-install`, which CI runs).
func TestReadmeQuickStartCommandsAreTested(t *testing.T) {
	cmds, err := readme.QuickStart("README.md")
	if err != nil {
		t.Fatal(err)
	}
	ci := lines(t, filepath.Join(".ci", "run"))
	script := lines(t, filepath.Join("scripts", "check-install.sh"))
	makefile := string(read(t, "Makefile"))
	if !slices.Contains(ci, "make check-install") || !strings.Contains(makefile, "check-install:\n\t./scripts/check-install.sh") {
		t.Fatal(".ci/run must run `make check-install`, and that target scripts/check-install.sh")
	}
	demo := 0
	for _, c := range cmds {
		switch {
		case strings.HasPrefix(c, readme.DemoPrefix):
			demo++
		case c == "make test":
			if !slices.Contains(ci, "make test") {
				t.Errorf("README tells newcomers to run %q but .ci/run does not", c)
			}
		case !slices.Contains(script, c):
			t.Errorf("README's quick start says %q, which no test runs as printed: add it to scripts/check-install.sh or change the README", c)
		}
	}
	if demo != 1 {
		t.Errorf("README's quick start must have exactly one demo line starting with %q (the browser test runs it), has %d", readme.DemoPrefix, demo)
	}
	if !slices.Contains(cmds, "make test") {
		t.Error("README's quick start lost `make test`")
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lines returns the file's lines with comments and surrounding space removed.
func lines(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(string(read(t, path)), "\n") {
		out = append(out, readme.StripComment(l))
	}
	return out
}
